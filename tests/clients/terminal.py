"""A real terminal for the CLI tests: a tmux server of the test's own, one pane, read as a
person sees it (`capture-pane`), typed into as a person types (`send-keys`)."""

from __future__ import annotations

import asyncio
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tests import tools

POLL_S = 0.1
EXITED = "[flowwire exited with "


def tmux_binary() -> str:
    path = shutil.which("tmux")
    if path is None:
        tools.missing("tmux", "apt-get install tmux")
    assert path is not None
    return path


class Terminal:
    """One 120x45 pane running `command`; it stays on screen after the command exits."""

    def __init__(self, directory: Path, command: list[str], env: dict[str, str]) -> None:
        self.tmux = [tmux_binary(), "-S", str(directory / "tmux.sock"), "-f", "/dev/null"]
        environment = [f"{k}={v}" for k, v in env.items()]
        self._run("new-session", "-d", "-x", "120", "-y", "45", "-s", "t")
        self._run("set-option", "-t", "t", "remain-on-exit", "on")
        line = shlex.join(["env", *environment, *command])
        self._run("respawn-pane", "-k", "-t", "t", f'{line}; echo "{EXITED}$?]"')

    def _run(self, *args: str) -> str:
        result = subprocess.run([*self.tmux, *args], capture_output=True, text=True, timeout=10)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-t", "t")

    async def until(self, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        """The screen, once `predicate` holds for it (polled: a screen has no events; the
        event loop runs meanwhile)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise TimeoutError(f"the screen never showed it:\n{screen}")
            await asyncio.sleep(POLL_S)

    def press(self, *keys: str) -> None:
        self._run("send-keys", "-t", "t", *keys)

    def type(self, text: str) -> None:
        self._run("send-keys", "-t", "t", "-l", text)

    async def exit_status(self, timeout: float = 30) -> int:
        """The command's exit status, once it has exited."""
        screen = await self.until(lambda s: EXITED in s, timeout)
        return int(screen.split(EXITED, 1)[1].split("]", 1)[0])

    def close(self) -> None:
        subprocess.run([*self.tmux, "kill-server"], capture_output=True, timeout=10)
