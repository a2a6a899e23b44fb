"""flowwire's ASGI side: mount it into any ASGI server or framework."""

from __future__ import annotations

__all__: list[str] = []
