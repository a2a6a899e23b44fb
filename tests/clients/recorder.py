"""What a client under test saw, and waits for conditions on it (events, not sleeps)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import wsproto_schema as ws
from flowwire.client import Delivery, FlowwireClient, Reset, Status

APP = "tests.clients.apps:demo()"


class Recorder:
    def __init__(self) -> None:
        self.items: list[Delivery] = []
        self.statuses: list[Status] = []
        self.errors: list[Exception] = []
        self._changed = asyncio.Event()

    def client(self, url: str, **options: Any) -> FlowwireClient:
        client = FlowwireClient(url, on_status=self.status, on_error=self.error, **options)
        client.add_listener(self.deliver)
        return client

    def deliver(self, item: Delivery) -> None:
        self.items.append(item)
        self._changed.set()

    def status(self, status: Status) -> None:
        self.statuses.append(status)
        self._changed.set()

    def error(self, error: Exception) -> None:
        self.errors.append(error)
        self._changed.set()

    def events(self, topic: str | None = None) -> list[ws.Event]:
        return [
            i for i in self.items if isinstance(i, ws.Event) and (topic is None or i.topic == topic)
        ]

    def seqs(self, topic: str) -> list[int]:
        return [e.seq for e in self.events(topic)]

    def resets(self) -> list[Reset]:
        return [i for i in self.items if isinstance(i, Reset)]

    async def until(self, predicate: Callable[[], bool], timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            self._changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"not reached: {predicate}; statuses {self.statuses[-3:]}")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue


def streaming(workflow_id: str = "stream", words: int = 120, delay_ms: int = 15) -> ws.WorkflowSpec:
    """A workflow that streams `words` tokens, then finishes."""
    text = " ".join(f"w{i}" for i in range(words))
    return ws.WorkflowSpec(
        id=workflow_id,
        nodes=[
            ws.NodeSpec(id="start", kind="log", params={"message": "go"}),
            ws.NodeSpec(id="talk", kind="llm", params={"text": text, "delay_ms": delay_ms}),
        ],
        edges=[ws.EdgeSpec(source="start", target="talk")],
    )


def sleeper(workflow_id: str = "sleeper", ms: int = 60_000) -> ws.WorkflowSpec:
    return ws.WorkflowSpec(
        id=workflow_id, nodes=[ws.NodeSpec(id="wait", kind="sleep", params={"ms": ms})]
    )
