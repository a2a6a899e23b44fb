from __future__ import annotations

from tests.servers.conftest import start_server

__all__ = ["start_server"]
