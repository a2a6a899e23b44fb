"""A connection's writer: its frames go out in order and a publisher never waits for them.

Frames queue in a bounded `Outbox` drained by one writer task, started the first
time a frame has to wait and woken only when the queue goes from empty to
non-empty. With `eager` (the default), a frame for a connection whose writer is
idle is not queued at all: the ASGI `send` is stepped at once, in the
connection's own contextvars context. A send that completes without waiting,
the common case, then costs no task switch. A send that would wait is handed,
unfinished, to the writer task, which completes it before anything queued after
it. A client that accepts `batch` frames is never sent to eagerly: frames
published in the same loop iteration queue up and leave as one frame.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from asgi_plugin.core.outbox import CloseItem, Outbox, size
from wsproto_schema import WireData

from .stats import Stats
from .types import Message, Send

__all__ = ["MAX_BATCH", "Writer", "batch"]

logger = logging.getLogger("flowwire.connection")


def _size(item: WireData) -> int:
    if type(item) is str:
        return len(item) if item.isascii() else len(item.encode())
    return len(item)


MAX_BATCH = 256
BATCH_JSON = '{"type":"batch","frames":['
BATCH_MSGPACK = b"\x82\xa4type\xa5batch\xa6frames"


def batch(items: list[WireData]) -> WireData:
    """One `batch` frame of already-encoded frames, joined without decoding them."""
    if type(items[0]) is str:
        return BATCH_JSON + ",".join(items) + "]}"  # type: ignore[arg-type]
    count = len(items)
    if count < 16:
        header = bytes([0x90 | count])
    elif count < 65536:
        header = b"\xdc" + count.to_bytes(2, "big")
    else:
        header = b"\xdd" + count.to_bytes(4, "big")
    return BATCH_MSGPACK + header + b"".join(items)  # type: ignore[arg-type]


def _message(item: WireData) -> Message:
    if type(item) is str:
        return {"type": "websocket.send", "text": item}
    return {"type": "websocket.send", "bytes": item}


async def _coroutine(awaitable: Awaitable[None]) -> None:
    await awaitable


async def _wait_like_a_task(yielded: Any) -> None:
    """Wait for the future-like object a stepped coroutine yielded, as Task.__step does:
    clear its blocking flag and wait for its done callback.

    Awaiting it again instead works for asyncio futures, whose `__await__` sets the flag
    anew, but not for a server's own future-likes (granian's `send`), which would then
    reach the task with the flag cleared: "yield was used instead of yield from".
    """
    yielded._asyncio_future_blocking = False
    done = asyncio.get_running_loop().create_future()

    def wake(_: object) -> None:
        if not done.done():
            done.set_result(None)

    yielded.add_done_callback(wake)
    try:
        await done
    except asyncio.CancelledError:
        yielded.cancel()  # as Task.cancel cancels the future it waits for
        raise


class Writer:
    __slots__ = (
        "_context",
        "_drain_waiter",
        "_inflight",
        "_name",
        "_on_gone",
        "_send",
        "_task",
        "_waiter",
        "batching",
        "bytes_sent",
        "close_timeout",
        "eager",
        "frames_sent",
        "outbox",
        "send_timeout",
        "stats",
    )

    def __init__(
        self,
        send: Send,
        limit: int,
        stats: Stats,
        *,
        eager: bool,
        close_timeout: float,
        on_gone: Callable[[], None],
        name: str,
        byte_limit: int = 16 * 1024 * 1024,
        send_timeout: float = 10.0,
    ) -> None:
        self.outbox = Outbox(limit, byte_limit)
        self.stats = stats
        self.eager = eager
        self.close_timeout = close_timeout
        self.send_timeout = send_timeout
        self._send = send
        self._on_gone = on_gone
        self._name = name
        self._context = contextvars.copy_context()
        self._inflight: tuple[Coroutine[Any, Any, None], Any, int] | None = None
        self._task: asyncio.Task[None] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self.batching = False
        """The client accepts `batch` frames: frames queued together go out as one."""
        self.frames_sent = 0
        self.bytes_sent = 0
        """Counted here, on the hot path; `flush_counts` moves them to the app's stats."""

    def start(self) -> None:
        """Bind to the connection's task: sends run in a copy of its contextvars context.

        The writer task itself starts only when a frame has to wait: an idle
        connection, or one whose sends all complete at once, never needs one.
        """
        self._context = contextvars.copy_context()

    def _start_task(self) -> None:
        loop = asyncio.get_running_loop()
        self._task = self._context.run(loop.create_task, self._run())

    def __len__(self) -> int:
        return len(self.outbox)

    def push(self, item: WireData) -> bool:
        """Send or queue a frame; False (nothing done) when the queue is full."""
        outbox = self.outbox
        # A client that takes batches gets what is published in one loop iteration in
        # one frame: its writer wakes once for all of it, so it never sends eagerly.
        if self.eager and not self.batching and not outbox.queue and self._inflight is None:
            waiter = self._waiter
            if self._task is None or (waiter is not None and not waiter.done()):
                self._send_now(item)
                return True
        length = outbox.push(item)
        if not length:
            return False
        if length == 1:
            self._wake()
        if self._task is None:
            self._start_task()
        return True

    def _send_now(self, item: WireData) -> None:
        if type(item) is str:
            sent = self._send({"type": "websocket.send", "text": item})
            size = len(item) if item.isascii() else len(item.encode())
        else:
            sent = self._send({"type": "websocket.send", "bytes": item})
            size = len(item)
        # ASGI servers' `send` are coroutine functions; step any other awaitable as one.
        coroutine = sent if type(sent) is types.CoroutineType else _coroutine(sent)
        try:
            yielded = self._context.run(coroutine.send, None)
        except StopIteration:
            self.frames_sent += 1
            self.bytes_sent += size
            return
        except OSError:  # the client is gone: ASGI servers raise OSError subclasses
            self._on_gone()
            return
        except Exception:
            logger.exception("flowwire connection %s: sending failed", self._name)
            self._on_gone()
            return
        # It would wait (the client reads slowly): the writer task finishes it.
        self._inflight = (coroutine, yielded, size)
        if self._task is None:
            self._start_task()
        else:
            self._wake()

    async def _finish_inflight(self) -> None:
        """Complete a send that had to wait, within `send_timeout`: a client that stopped
        reading must not pin the connection (and its queue) forever, whatever the
        server's buffers do: then the connection is given up (see `_stalled`)."""
        assert self._inflight is not None
        coroutine, yielded, size = self._inflight
        stall = asyncio.get_running_loop().call_later(self.send_timeout, self._stalled)
        try:
            while True:
                if yielded is None:
                    await asyncio.sleep(0)  # a bare yield: it asked to be stepped again
                else:
                    await _wait_like_a_task(yielded)
                try:
                    yielded = self._context.run(coroutine.send, None)
                except StopIteration:
                    break
        except BaseException:
            coroutine.close()
            raise
        finally:
            stall.cancel()
            self._inflight = None
        self.frames_sent += 1
        self.bytes_sent += size

    def _stalled(self) -> None:
        logger.info(
            "flowwire connection %s: a send waited %.1f s (the client does not read): closing",
            self._name,
            self.send_timeout,
        )
        self.stats.stalled_closes += 1
        self._on_gone()

    def congested(self, *, quarter: bool = False) -> bool:
        """Whether the queue is half full (or, with `quarter`, still above a quarter), in
        frames or in bytes: the point where a catch-up stops pushing and waits."""
        outbox = self.outbox
        share = 4 if quarter else 2
        return len(outbox) * share > outbox.limit or outbox.bytes * share > outbox.byte_limit

    async def drained(self) -> None:
        """Until the queue is down to a quarter of its bounds, or the writer has stopped."""
        while self.congested(quarter=True) and not self.finished:
            waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._drain_waiter = None

    def _wake_drained(self) -> None:
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        """The queue has something: wake the writer task if it waits."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def flush_counts(self) -> None:
        """Move this writer's counts to the app's stats (it is done, or stats are read)."""
        self.stats.frames_sent += self.frames_sent
        self.stats.bytes_sent += self.bytes_sent
        self.frames_sent = self.bytes_sent = 0

    def close(self, item: CloseItem, *, drop_pending: bool = False) -> int:
        """Queue the close after what waits (or instead of it); return the frames dropped."""
        dropped = self.outbox.close(item, drop_pending=drop_pending)
        self._wake()
        if self._task is None:
            self._start_task()
        return dropped

    def restart(self) -> None:
        """Replace a writer that may be blocked in `send` (the client stopped reading)."""
        self.cancel()
        self._start_task()

    def cancel(self) -> None:
        """Stop writing now (the connection sends its last words itself)."""
        self._wake_drained()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._inflight is not None:
            self._inflight[0].close()
            self._inflight = None

    async def stop(self) -> None:
        """Cancel the writer task and wait until it is gone (the connection's cleanup)."""
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])  # returns without raising; our own cancel propagates
        self.flush_counts()

    async def done(self) -> None:
        """Until the writer has sent the close (or given up)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    @property
    def finished(self) -> bool:
        return self._task is not None and self._task.done()

    async def _run(self) -> None:
        outbox = self.outbox
        queue = outbox.items()
        send = self._send
        stats = self.stats
        loop = asyncio.get_running_loop()
        frames = sent_bytes = 0
        try:
            while True:
                if self._inflight is not None:
                    await self._finish_inflight()
                    continue
                if not queue:
                    # The hot path keeps its counters in locals until the queue runs empty.
                    self.frames_sent += frames
                    self.bytes_sent += sent_bytes
                    frames = sent_bytes = 0
                    waiter = self._waiter = loop.create_future()
                    try:
                        await waiter
                    finally:
                        self._waiter = None
                    if len(queue) > stats.max_queue_depth:
                        stats.max_queue_depth = len(queue)
                    continue
                item = queue.popleft()
                if type(item) is CloseItem:
                    await self._send_close(item)
                    return
                outbox.bytes -= size(item)
                if self.batching and queue and type(queue[0]) is type(item):
                    items = [item]
                    while queue and len(items) < MAX_BATCH and type(queue[0]) is type(item):
                        items.append(queue.popleft())
                        outbox.bytes -= size(items[-1])
                    item = batch(items)  # type: ignore[arg-type]
                if self._drain_waiter is not None and not self.congested(quarter=True):
                    self._wake_drained()
                weight = _size(item)  # type: ignore[arg-type]
                sent = send(_message(item))  # type: ignore[arg-type]
                coroutine = sent if type(sent) is types.CoroutineType else _coroutine(sent)
                try:
                    yielded = self._context.run(coroutine.send, None)
                except StopIteration:  # done at once: the common case
                    sent_bytes += weight
                    frames += 1
                    continue
                self._inflight = (coroutine, yielded, weight)
                await self._finish_inflight()
        except OSError:
            self._on_gone()
        except Exception:
            logger.exception("flowwire connection %s: sending failed", self._name)
            self._on_gone()
        finally:
            self.frames_sent += frames
            self.bytes_sent += sent_bytes
            self._wake_drained()  # nobody waits for a writer that is gone

    async def _send_close(self, item: CloseItem) -> None:
        message = {"type": "websocket.close", "code": int(item.code), "reason": item.reason}
        try:
            await asyncio.wait_for(self._send(message), self.close_timeout)
        except (asyncio.TimeoutError, OSError):
            self._on_gone()
            return
        # Servers report the disconnect once the client answers the close; a client
        # that never does must not keep the connection's reader alive forever.
        asyncio.get_running_loop().call_later(self.close_timeout, self._on_gone)
