"""granian serving an ASGI app on a listening socket inherited by file descriptor.

    python -m bench.granian_fd FD [module:factory()|module:app]   # default bench.apps:create()

granian's command line binds its own socket (`--host/--port` or `--uds`) and has
no `--fd`, so the harness could not hand it a socket it holds (picking a free
port and letting granian bind it later is a race). Its embedded server
(`granian.server.embed.Server`, one worker in this process, on this event loop)
takes its socket from `_init_shared_socket`, which this launcher points at the
inherited descriptor. That is granian's private API (granian 2.8): if it
changes, this launcher fails at start, loudly, and the matrix reports it.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

from granian.constants import Interfaces
from granian.log import LogLevels
from granian.net import SocketHolder
from granian.server.embed import Server

BACKLOG = 2048


class FdServer(Server):
    """The embedded server, on an already listening socket."""

    def __init__(self, fd: int, target: Any, *, factory: bool) -> None:
        super().__init__(
            target,
            interface=Interfaces.ASGI,
            backlog=BACKLOG,
            log_level=LogLevels.warning,
            factory=factory,
        )
        self.fd = fd

    def _init_shared_socket(self) -> None:
        self._shd = SocketHolder(self.fd, False, BACKLOG)
        self._sfd = self.fd
        self._ssp = None


def main(argv: list[str]) -> None:
    spec = argv[1] if len(argv) > 1 else "bench.apps:create()"
    module, _, name = spec.partition(":")
    target = getattr(importlib.import_module(module), name.removesuffix("()"))
    server = FdServer(int(argv[0]), target, factory=name.endswith("()"))
    try:
        import uvloop

        uvloop.run(server.serve())
    except ImportError:
        asyncio.run(server.serve())


if __name__ == "__main__":
    main(sys.argv[1:])
