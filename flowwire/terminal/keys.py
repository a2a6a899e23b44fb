"""Single keys from the terminal, without Enter, into an asyncio queue (POSIX terminals)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["BACKSPACE", "ENTER", "ESCAPE", "keys"]

ENTER = "\n"
ESCAPE = "\x1b"
BACKSPACE = "\x7f"


@contextlib.contextmanager
def keys(queue: asyncio.Queue[str]) -> Iterator[bool]:
    """While inside, each key pressed lands in `queue`; yields False (and does nothing)
    when stdin is not a terminal. Ctrl-C still interrupts."""
    if not sys.stdin.isatty():
        yield False
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def readable() -> None:
        data = os.read(fd, 64).decode("utf-8", "replace")
        for key in data.replace("\r", ENTER):
            queue.put_nowait(key)

    tty.setcbreak(fd)
    loop.add_reader(fd, readable)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
