"""A Python engine in its own process, for the tests: the reference `DagRunner` behind an
`EngineClient`, exactly as a worker process would run it.

    python -m tests.engines.engine_worker ws://127.0.0.1:PORT/ws/engine KEY WORKFLOW...

Every frame it sends or receives is checked against the committed schemas; a
frame that breaks them prints `VIOLATION …`. It prints `connected N` each time it
has (re)connected, `ready` once it serves its workflows, and `command <type> <action>` for each user command it gets.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Literal

from asgi_plugin.engine.runner import DagRunner
from flowwire.engine_client import EngineClient
from tests.conftest import SCHEMAS
from wsproto_schema import WireData
from wsproto_schema.contract import Contract

CONTRACT = Contract.from_directory(SCHEMAS)


def say(line: str) -> None:
    print(line, flush=True)


def trace(direction: Literal["sent", "received"], data: WireData) -> None:
    side = "client" if direction == "sent" else "server"
    for violation in CONTRACT.violations(side, data):
        say(f"VIOLATION {direction} {violation}: {data!r}")
    frame = json.loads(data)
    if frame["type"] == "welcome":
        say(f"connected {frame['connection_id']}")
    elif frame["type"] == "engine.command":
        command = frame["command"]
        say(f"command {command['type']} {command.get('action', '')}".strip())


async def main(url: str, key: str, workflows: list[str]) -> None:
    engine = EngineClient(url, key=key, handler=DagRunner(), workflows=workflows, trace=trace)
    await engine.start()
    say("ready")
    await asyncio.Event().wait()  # until the test stops this process


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
