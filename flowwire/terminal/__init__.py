"""The operator CLI: `flowwire watch`, `run`, `tail` and `publish`, built on `flowwire.client`.

Like the client, it never imports the server side: a client-only install runs it.
Output follows the terminal (rich `Live` and colours on a TTY; plain lines when
piped or with NO_COLOR); `outcome.Exit` lists the exit codes.
"""

from __future__ import annotations

from .commands import add_commands
from .outcome import Exit, exit_code

__all__ = ["Exit", "add_commands", "exit_code"]
