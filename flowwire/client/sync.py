"""A blocking façade over `FlowwireClient`, for scripts and notebooks.

    with connect_sync("ws://localhost:8000/ws") as client:
        execution = client.execute(workflow)
        final = client.wait(execution.execution_id)
        print(final.status)

The asyncio client runs on an event loop in a thread of its own; each method
waits for its result. Read `store` between calls, not while a call runs.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator, Mapping
from typing import Any, TypeVar

import wsproto_schema as ws

from .client import FlowwireClient
from .core import Delivery
from .state import ExecutionStore, ExecutionView

__all__ = ["SyncClient", "connect_sync"]

T = TypeVar("T")


class SyncClient:
    """`FlowwireClient`'s calls, blocking. Build it with `connect_sync`."""

    def __init__(self, url: str, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="flowwire-sync-client", daemon=True
        )
        self._thread.start()
        self._client: FlowwireClient = self._call(_build(url, options))

    def _call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    @property
    def client(self) -> FlowwireClient:
        """The asyncio client underneath (use it only through its loop)."""
        return self._client

    @property
    def store(self) -> ExecutionStore:
        return self._client.store

    def connect(self) -> None:
        self._call(self._client.connect())

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._call(self._client.close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def subscribe(self, *topics: str) -> None:
        self._call(self._client.subscribe(*topics))

    def execute(
        self,
        workflow: ws.WorkflowSpec | Mapping[str, Any],
        inputs: Mapping[str, Any] | None = None,
        *,
        subscribe: bool = True,
    ) -> ws.ExecuteResult:
        return self._call(self._client.execute(workflow, inputs, subscribe=subscribe))

    def control(self, execution_id: str, action: ws.ControlAction) -> ws.ControlResult:
        return self._call(self._client.control(execution_id, action))

    def input(self, execution_id: str, node_id: str, value: Any) -> ws.InputResult:
        return self._call(self._client.input(execution_id, node_id, value))

    def wait(self, execution_id: str, timeout: float | None = None) -> ExecutionView:
        return self._call(self._client.wait(execution_id, timeout=timeout))

    def events(self, *topics: str, timeout: float | None = None) -> Iterator[Delivery]:
        """Deliveries of `topics`, blocking for each (`timeout` seconds at most)."""
        stream = self._call(_stream(self._client, topics))
        try:
            while True:
                try:
                    yield self._call(stream.__anext__(), timeout)
                except StopAsyncIteration:
                    return
        finally:
            self._loop.call_soon_threadsafe(stream.close)


async def _build(url: str, options: dict[str, Any]) -> FlowwireClient:
    return FlowwireClient(url, **options)


async def _stream(client: FlowwireClient, topics: tuple[str, ...]) -> Any:
    return client.events(*topics)


def connect_sync(url: str, **options: Any) -> SyncClient:
    """A connected `SyncClient`; `options` are `FlowwireClient`'s."""
    client = SyncClient(url, **options)
    try:
        client.connect()
    except BaseException:
        client.close()
        raise
    return client
