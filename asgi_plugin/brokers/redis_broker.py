"""`RedisBroker`: flowwire across processes and hosts (the `redis` extra).

Per topic, Redis holds a seq counter, an epoch, a Stream of the events (entry
id = seq, so history is looked up by seq), and each execution's folded state.
One Lua script appends an event atomically: next seq, XADD (trimmed by
`MAXLEN ~` and, every 64 events, by age), state written if its version did not
change meanwhile, and PUBLISH to the topic's channel. Seq order is therefore
stream order is delivery order, whichever process published.

Every process listens (see `RedisListener`) to the channels of the topics its
clients subscribe to and hands events to its hub in seq order, filling any gap
from the Stream; after Redis comes back it catches up from the last seq it
delivered per topic. Publishing while Redis is unreachable raises
`BrokerUnavailable`: nothing is buffered, nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import secrets
import time
import weakref
from collections.abc import Collection
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.materializer import STATEFUL, ExecutionState, fold, render
from asgi_plugin.core.streamed import (
    LOG_BYTES_KEPT,
    LOGS_KEPT,
    TEXT_BYTES_KEPT,
    TOKENS_KEPT,
    Streamed,
)
from wsproto_schema import ErrorCode, Event, ProtocolError

from .base import (
    PENDING_TTL_MS,
    RUNNER_LOST,
    Broker,
    BrokerUnavailable,
    StreamPosition,
    runner_lost,
)
from .redis_frames import seq_offset
from .redis_listener import RedisListener
from .redis_scripts import APPEND, BOOT, BUMP, POSITION, SNAPSHOTS
from .redis_serving import Serving

__all__ = ["RUNNER_LOST", "RedisBroker"]

logger = logging.getLogger("flowwire.redis")

IDLE_TOPIC_TTL_MS = 24 * 3_600_000
"""How long Redis remembers a topic that was named (subscribed to) but never published on."""

REPLAY_PAGE = 1000

STATES_CACHED = 1024
"""Executions whose folded state a process keeps after publishing their events, so that
the next one needs no read from Redis (the APPEND script's version check catches a
state another process changed meanwhile)."""


def _packed(*args: Any) -> bytes:
    """The APPEND script's arguments after the payload as one MessagePack array of strings:
    redis-py encodes each argument of a command in Python, and 24 of them cost more than
    the script itself (the script unpacks them with cmsgpack; strings, as ARGV would be)."""
    # All as MessagePack str: Redis's cmsgpack predates the bin types.
    return _PACK([a.decode() if isinstance(a, bytes) else str(a) for a in args])


_PACK = msgspec.msgpack.Encoder().encode


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}" + (
            f":{parts.port}" if parts.port else ""
        )
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class RedisBroker(Broker):
    """Seq numbers, history, execution state and delivery in Redis (5+; tested on 7).

    `history_size` events per topic are kept (`MAXLEN ~`), none much older than
    `history_ttl_ms`; `finished_snapshots` finished executions per topic stay
    available for snapshots. `max_connections` bounds the connection pool;
    `socket_timeout_ms` bounds every Redis call; `command_timeout_ms` bounds a
    command forwarded to the process that runs its execution; the listener
    reconnects with backoff up to `reconnect_max_ms`.

    The process that runs an execution holds its lease, renewed every third of
    `lease_ms`. When a process dies, its leases lapse, and the first process to
    see that fails each of its live executions with the error code
    `runner_lost`, so that no execution stays `running` forever.
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "flowwire",
        history_size: int = 1000,
        history_ttl_ms: int = 3_600_000,
        finished_snapshots: int = 20,
        max_connections: int = 64,
        socket_timeout_ms: int = 5_000,
        command_timeout_ms: int = 10_000,
        reconnect_max_ms: int = 5_000,
        lease_ms: int = 30_000,
        idempotency_ttl_ms: int = 3_600_000,
    ) -> None:
        super().__init__()
        if not isinstance(url, str) or not isinstance(prefix, str):
            raise TypeError("RedisBroker(url=..., prefix=...) take strings")
        for name, value in (
            ("history_size", history_size),
            ("history_ttl_ms", history_ttl_ms),
            ("finished_snapshots", finished_snapshots),
            ("max_connections", max_connections),
            ("socket_timeout_ms", socket_timeout_ms),
            ("command_timeout_ms", command_timeout_ms),
            ("reconnect_max_ms", reconnect_max_ms),
            ("lease_ms", lease_ms),
            ("idempotency_ttl_ms", idempotency_ttl_ms),
        ):
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"RedisBroker({name}=...) takes an int, got {value!r}")
            if value < (0 if name == "finished_snapshots" else 1):
                raise ValueError(f"RedisBroker({name}=...) is out of range: {value}")
        self.url = url
        self.prefix = prefix
        self.history_size = history_size
        self.history_ttl_ms = history_ttl_ms
        self.finished_snapshots = finished_snapshots
        self.max_connections = max_connections
        self.socket_timeout_ms = socket_timeout_ms
        self.command_timeout_ms = command_timeout_ms
        self.lease_ms = lease_ms
        self.idempotency_ttl_ms = idempotency_ttl_ms
        self.process_id = secrets.token_hex(6)
        self._claimed: set[str] = set()
        self._started_elsewhere: set[str] = set()
        self.serving = Serving(self)
        self._leases: asyncio.Task[None] | None = None
        self.run_id = ""
        """The run id of the Redis server this process last connected to."""
        self.durable = False
        """Whether that Redis persists every write before acknowledging it."""
        self.listener = RedisListener(self, reconnect_max_ms=reconnect_max_ms)
        self._redis: Any = None
        self._scripts: dict[str, Any] = {}
        self._encoder = msgspec.json.Encoder()
        self._codec = ws.JsonCodec()
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._rpc: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._states: collections.OrderedDict[str, tuple[ExecutionState, str]] = (
            collections.OrderedDict()
        )

    # -- keys ---------------------------------------------------------------------

    def key(self, kind: str, name: str) -> str:
        return f"{self.prefix}:{kind}:{name}"

    def channel(self, topic: str) -> str:
        return self.key("ch", topic)

    def _topic_keys(self, topic: str) -> list[str]:
        return [self.key(k, topic) for k in ("seq", "epoch", "stream")]

    def _streamed_prefixes(self) -> list[str]:
        """Where an execution's token deltas, their counts and sizes, and its log lines are
        kept (the scripts append the execution id; see redis_scripts.STREAMED)."""
        return [
            self.key("tok", ""),
            self.key("tokn", ""),
            self.key("tokz", ""),
            self.key("logs", ""),
        ]

    def _epoch_keys(self, topic: str) -> list[str]:
        """What `current_epoch` (redis_scripts.py) reads: when the topic was last written,
        the Redis run now, and whether that Redis loses no acknowledged write."""
        return [self.key("tboot", topic), self.key("boot", "run"), self.key("boot", "durable")]

    # -- lifecycle ------------------------------------------------------------------

    def client(self, *, retries: int = 1, **overrides: Any) -> Any:
        """A redis.asyncio client that fails fast.

        A command is retried once, at once, on a connection error only: a pooled
        connection to a server that restarted fails on first use, and the command
        never reached the new server. Timeouts are not retried (the command may have
        run). The listener uses `retries=0`: it must see every outage to catch up.
        """
        try:
            import redis.asyncio as redis
            from redis.asyncio.retry import Retry
            from redis.backoff import NoBackoff
            from redis.exceptions import ConnectionError as RedisConnectionError
        except ImportError:  # pragma: no cover - the `redis` extra
            raise ImportError(
                "RedisBroker needs the redis extra: pip install 'flowwire[redis]'"
            ) from None
        retry = Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,))
        options: dict[str, Any] = {
            "max_connections": self.max_connections,
            "socket_timeout": self.socket_timeout_ms / 1000,
            "socket_connect_timeout": self.socket_timeout_ms / 1000,
            "retry": retry,
            "health_check_interval": 0,
            "redis_connect_func": self._on_connect,
            **overrides,
        }
        return redis.Redis.from_url(self.url, **options)

    async def _on_connect(self, connection: Any) -> None:
        """Every new connection, before its first command: record which Redis run this is
        (a restart may have brought back an older state: see redis_scripts.EPOCH)."""
        await connection.on_connect()
        durable = await _persists_every_write(connection)
        self.durable = durable
        keys = [self.key("boot", "run"), self.key("boot", "durable")]
        await connection.send_command("EVAL", BOOT, 2, *keys, "1" if durable else "0")
        self.run_id = (await connection.read_response()).decode()

    async def start(self) -> None:
        self._redis = self.client()
        self._scripts = {
            name: self._redis.register_script(source)
            for name, source in (
                ("append", APPEND),
                ("position", POSITION),
                ("snapshots", SNAPSHOTS),
                ("bump", BUMP),
            )
        }
        await self.listener.start()
        if self.listener.connected:
            logger.info(
                "flowwire: connected to Redis at %s (process %s)",
                _redacted(self.url),
                self.process_id,
            )
        self._leases = asyncio.get_running_loop().create_task(self._keep_leases())

    async def stop(self) -> None:
        if self._leases is not None:
            self._leases.cancel()
            await asyncio.wait([self._leases])
        await self.listener.stop()
        if self._redis is not None:
            await self._redis.aclose()

    async def drop_idle_connections(self) -> None:
        """Close pooled connections that are not in use (the listener calls this around an
        outage, so commands after a recovery do not meet a connection to a dead server)."""
        if self._redis is not None:
            try:
                await self._redis.connection_pool.disconnect(inuse_connections=False)
            except Exception as exc:  # they point at a server that is gone: expected
                logger.debug("flowwire: dropping idle Redis connections: %r", exc)

    async def _call(self, script: str, keys: list[str], args: list[Any]) -> Any:
        if self._redis is None:
            raise BrokerUnavailable("the Redis broker has not started")
        try:
            return await self._scripts[script](keys=keys, args=args)
        except Exception as exc:
            raise _unavailable(self, exc) from exc

    async def _command(self, name: str, *args: Any) -> Any:
        if self._redis is None:
            raise BrokerUnavailable("the Redis broker has not started")
        try:
            return await getattr(self._redis, name)(*args)
        except Exception as exc:
            raise _unavailable(self, exc) from exc

    # -- publishing -------------------------------------------------------------------

    async def _append(self, event: Event, idempotency_key: str | None) -> tuple[Event, bool]:
        lock = self._locks.get(event.topic)
        if lock is None:
            lock = self._locks[event.topic] = asyncio.Lock()
        async with lock:  # this process's events of a topic keep their order
            for _ in range(20):
                try:
                    seq, duplicate = await self._try_append(event, idempotency_key)
                except BaseException:
                    self._states.pop(event.execution_id, None)  # folded, maybe not stored
                    raise
                if seq >= 0:
                    return msgspec.structs.replace(event, seq=seq), duplicate
                self._states.pop(event.execution_id, None)  # changed elsewhere: read it again
        raise BrokerUnavailable(f"execution {event.execution_id!r}: state kept changing under us")

    async def _try_append(self, event: Event, idempotency_key: str | None) -> tuple[int, bool]:
        state_json, version, status = b"", "0", ""
        exec_key = self.key("exec", event.execution_id)
        if isinstance(event, STATEFUL):
            cached = self._states.pop(event.execution_id, None)
            if cached is not None:
                state, version = cached
            else:
                raw_state, raw_version = await self._command("hmget", exec_key, "state", "v")
                state = (
                    ExecutionState.from_json(raw_state)
                    if raw_state
                    else ExecutionState(event.topic, event.workflow_id, event.execution_id)
                )
                version = raw_version.decode() if raw_version else "0"
            fold(state, event)
            state_json = state.to_json()
            status = "finished" if state.finished else "live"
        streamed: list[Any] = ["", "", 0, "", *self._streamed_prefixes(), 0]
        if isinstance(event, ws.NodeToken):
            streamed[:4] = ["tok", event.delta, TOKENS_KEPT, event.node_id]
            streamed[-1] = TEXT_BYTES_KEPT
        elif isinstance(event, ws.ExecutionLog):
            streamed[:4] = ["log", len(event.message.encode()), LOGS_KEPT, ""]
            streamed[-1] = LOG_BYTES_KEPT
        elif isinstance(event, ws.ExecutionStarted):
            streamed[0] = "reset"
        now_ms = int(time.time() * 1000)
        payload = self._encoder.encode(event)
        result = await self._call(
            "append",
            [
                *self._topic_keys(event.topic),
                self.key("topics", "all"),
                exec_key,
                self.key("live", event.topic),
                self.key("done", event.topic),
                *self._epoch_keys(event.topic),
                self.key("leases", "all"),
            ],
            [
                payload,
                _packed(
                    event.ts,
                    secrets.token_hex(8),
                    self.history_size,
                    event.topic,
                    self.channel(event.topic),
                    now_ms - self.history_ttl_ms,
                    state_json,
                    version,
                    event.execution_id,
                    status,
                    self.finished_snapshots,
                    self.key("exec", ""),
                    self.key("idem", idempotency_key) if idempotency_key is not None else "",
                    self.idempotency_ttl_ms,
                    *streamed,
                    seq_offset(payload, type(event)),
                ),
            ],
        )
        seq, duplicate = int(result[0]), bool(int(result[2]))
        if state_json and seq >= 0 and not duplicate and status == "live":
            self._states[event.execution_id] = (state, str(int(version) + 1))
            while len(self._states) > STATES_CACHED:
                self._states.popitem(last=False)
        return seq, duplicate

    # -- commands sent more than once ------------------------------------------------------

    async def begin_command(self, key: str) -> dict[str, Any] | None:
        name = self.key("cmdkey", key)
        if await self._command("set", name, b"pending", None, PENDING_TTL_MS, True):
            return None
        stored = await self._command("get", name)
        if stored is None:  # it expired between the two calls: take it
            return await self.begin_command(key)
        if stored == b"pending":
            raise ProtocolError(
                ErrorCode.CONFLICT, "a command with this idempotency_key is under way: retry"
            )
        reply: dict[str, Any] = msgspec.json.decode(stored)
        return reply

    async def end_command(self, key: str, reply: dict[str, Any] | None) -> None:
        name = self.key("cmdkey", key)
        if reply is None:
            await self._command("delete", name)
        else:
            await self._command(
                "set", name, msgspec.json.encode(reply), None, self.idempotency_ttl_ms
            )

    # -- reading ------------------------------------------------------------------------

    async def position(self, topic: str) -> StreamPosition:
        seq, epoch = await self._call(
            "position",
            [*self._topic_keys(topic)[:2], *self._epoch_keys(topic)],
            [secrets.token_hex(8), IDLE_TOPIC_TTL_MS],
        )
        return StreamPosition(epoch.decode(), int(seq))

    async def new_epoch(self, topic: str, seen: str) -> str:
        """Give the topic a new epoch unless it already moved on from `seen`: its history
        went backwards (the listener saw a seq below what it delivered)."""
        epoch = await self._call("bump", [self.key("epoch", topic)], [seen, secrets.token_hex(8)])
        return str(epoch.decode())

    def decode(self, payload: bytes, seq: int) -> Event:
        """An event as stored, with its seq (which an earlier version did not store)."""
        event = self._codec.decode_event(payload, check_unknown=False)
        return event if event.seq == seq else msgspec.structs.replace(event, seq=seq)

    def decode_frame(self, frame: bytes) -> Event:
        """An event as carried on a channel, its seq included (see redis_frames.py)."""
        return self._codec.decode_event(frame, check_unknown=False)

    async def range(self, topic: str, first: int, last: int | None = None) -> list[Event]:
        """The stored events of a topic from seq `first` (to `last`), oldest first."""
        events: list[Event] = []
        start = f"{first}-0"
        end = "+" if last is None else f"{last}-0"
        while True:
            page = await self._command("xrange", self.key("stream", topic), start, end, REPLAY_PAGE)
            for entry_id, fields in page:
                seq = int(entry_id.split(b"-")[0])
                events.append(self.decode(fields[b"e"], seq))
            if len(page) < REPLAY_PAGE:
                return events
            start = f"({page[-1][0].decode()}"

    async def replay(self, topic: str, after: int, epoch: str) -> list[Event] | None:
        position = await self.position(topic)
        if position.epoch != epoch or after > position.seq:
            return None
        if after == position.seq:
            return []
        events = await self.range(topic, after + 1, position.seq)
        if not events or events[0].seq != after + 1:
            return None  # trimmed: never a partial replay
        return events

    async def snapshots(self, topic: str, *, live_only: bool) -> list[ws.ExecutionSnapshot]:
        keys = [self.key(k, topic) for k in ("seq", "epoch", "live", "done")]
        reply = await self._call(
            "snapshots",
            keys,
            [self.key("exec", ""), "1" if live_only else "0", *self._streamed_prefixes()],
        )
        topic_seq = int(reply[0])
        snapshots = []
        for raw_state, raw_seq, raw_omitted, raw_logs, raw_nodes in reply[2:]:
            state = ExecutionState.from_json(raw_state)
            state.last_seq = int(raw_seq)
            streamed = Streamed(logs_omitted=int(raw_omitted))
            for raw in raw_logs:
                raw_log_seq, raw_size, payload = raw.split(b" ", 2)
                logged = self.decode(payload, int(raw_log_seq))
                assert isinstance(logged, ws.ExecutionLog)
                streamed.logs.append(ws.LogLine.of(logged))
                streamed.log_bytes += int(raw_size)
            for node, omitted, deltas in zip(
                raw_nodes[0::3], raw_nodes[1::3], raw_nodes[2::3], strict=True
            ):
                streamed.tokens[node.decode()] = collections.deque(d.decode() for d in deltas)
                streamed.tokens_omitted[node.decode()] = int(omitted)
            snapshots.append(render(state, streamed, topic_seq))
        return snapshots

    async def topics(self, prefix: str) -> list[str]:
        names = await self._command("zrange", self.key("topics", "all"), 0, -1)
        return [name.decode() for name in names if name.decode().startswith(prefix)]

    async def started_by(self, execution_id: str) -> str | None:
        starter = await self._command("hget", self.key("exec", execution_id), "started_by")
        return starter.decode() if starter else None

    async def execution_topic(self, execution_id: str) -> str | None:
        topic = await self._command("hget", self.key("exec", execution_id), "topic")
        return topic.decode() if topic else None

    # -- delivery and commands ------------------------------------------------------------

    async def watch(self, topic: str) -> None:
        await self.listener.watch(topic)

    async def unwatch(self, topic: str) -> None:
        await self.listener.unwatch(topic)

    async def claim(self, execution_id: str, *, started_by: str | None = None) -> None:
        if execution_id in self._started_elsewhere:
            # An `execute` this process forwarded: the process that ran it owns it (and
            # claimed it); here only who started it is recorded, as every execute does.
            self._started_elsewhere.discard(execution_id)
            if started_by is not None:
                await self._command(
                    "hset", self.key("exec", execution_id), "started_by", started_by
                )
            return
        fields = {"owner": self.process_id}
        if started_by is not None:
            fields["started_by"] = started_by
        await self._command("hset", self.key("exec", execution_id), None, None, fields)
        expiry = int(time.time() * 1000) + self.lease_ms
        await self._command("zadd", self.key("leases", "all"), {execution_id: expiry})
        self._claimed.add(execution_id)

    async def release(self, execution_id: str) -> None:
        # Renewed no more: the lease lapses within `lease_ms` unless a claim renews it.
        self._claimed.discard(execution_id)

    # -- runner leases -----------------------------------------------------------------------

    async def _keep_leases(self) -> None:
        """Renew this process's leases and fail the executions of lapsed ones, every third
        of `lease_ms`, for as long as the broker runs."""
        while True:
            await asyncio.sleep(self.lease_ms / 3000)
            try:
                await self._renew()
                await self._reap()
            except BrokerUnavailable as exc:  # Redis is down: said once by the listener
                logger.debug("flowwire: runner leases not kept this round: %s", exc)
            except Exception:
                logger.exception("flowwire: keeping runner leases failed")

    async def _renew(self) -> None:
        await self.serving.renew()
        if not self._claimed:
            return
        expiry = int(time.time() * 1000) + self.lease_ms
        leases = self.key("leases", "all")
        # XX: a lease that is gone (its execution ended, or another process declared it
        # lost) is not brought back.
        await self._command("zadd", leases, dict.fromkeys(self._claimed, expiry), False, True)
        kept = await self._command("zmscore", leases, list(self._claimed))
        for execution_id, score in zip(list(self._claimed), kept, strict=True):
            if score is None:
                self._claimed.discard(execution_id)

    async def _reap(self) -> None:
        """Fail the live executions whose process stopped renewing their lease."""
        leases = self.key("leases", "all")
        now = int(time.time() * 1000)
        for raw in await self._command("zrangebyscore", leases, "-inf", now, 0, 50):
            execution_id = raw.decode()
            if not await self._command("zrem", leases, execution_id):
                continue  # another process took it
            state = await self._execution_state(execution_id)
            if state is None or state.finished:
                continue
            logger.warning(
                "flowwire: execution %r lost its runner (no lease renewal for %d ms)",
                execution_id,
                self.lease_ms,
            )
            await self.publish(runner_lost(state, now))

    async def _execution_state(self, execution_id: str) -> ExecutionState | None:
        raw = await self._command("hget", self.key("exec", execution_id), "state")
        return ExecutionState.from_json(raw) if raw else None

    async def forward(
        self, command: ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any] | None:
        owner, raw_state = await self._command(
            "hmget", self.key("exec", command.execution_id), "owner", "state"
        )
        state = ExecutionState.from_json(raw_state) if raw_state else None
        if state is not None and state.error is not None and state.error.code == RUNNER_LOST:
            raise ProtocolError(
                ErrorCode.CONFLICT,
                f"$.execution_id: execution {command.execution_id!r} failed: its runner was "
                "lost (runner_lost)",
                path="$.execution_id",
            )
        if owner is None or owner.decode() == self.process_id:
            return None
        gone = f"$.execution_id: the process that ran {command.execution_id!r} is gone"
        return await self._ask(owner.decode(), command, principal, gone)

    async def advertise(self, workflows: Collection[str]) -> None:
        await self.serving.advertise(workflows)

    async def forward_execute(self, command: ws.Execute, principal: Any) -> dict[str, Any] | None:
        others = await self.serving.others(command.workflow.id)
        if not others:
            return None
        gone = f"$.workflow.id: the process that serves {command.workflow.id!r} is gone"
        data = await self._ask(random.choice(others), command, principal, gone)
        execution_id = data.get("execution_id")
        if isinstance(execution_id, str):
            self._started_elsewhere.add(execution_id)
        return data

    async def _ask(
        self, process_id: str, command: ws.Command, principal: Any, gone: str
    ) -> dict[str, Any]:
        """Run the command on another process: its reply data, or its error raised here."""
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._rpc[request_id] = future
        message = msgspec.json.encode(
            {
                "id": request_id,
                "reply": self.process_id,
                "command": msgspec.to_builtins(command),
                "principal": principal,
            }
        )
        try:
            receivers = await self._command("publish", self.key("cmd", process_id), message)
            if not receivers:
                raise ProtocolError(ErrorCode.NOT_FOUND, gone, path=gone.partition(":")[0])
            try:
                answer = await asyncio.wait_for(future, self.command_timeout_ms / 1000)
            except asyncio.TimeoutError:
                raise ProtocolError(
                    ErrorCode.INTERNAL, "the process that runs the execution did not answer"
                ) from None
        finally:
            self._rpc.pop(request_id, None)
        if "error" in answer:
            raise ProtocolError.from_dict(answer["error"])
        data: dict[str, Any] = answer["data"]
        return data

    def answered(self, answer: dict[str, Any]) -> None:
        """A reply to a forwarded command arrived (called by the listener)."""
        future = self._rpc.get(answer.get("id", ""))
        if future is not None and not future.done():
            future.set_result(answer)

    async def run_forwarded(self, request: dict[str, Any]) -> dict[str, Any]:
        """Run a command another process forwarded here; the answer to publish back."""
        try:
            command = self._codec.decode_command(msgspec.json.encode(request["command"]))
            if not isinstance(command, (ws.Execute, ws.Control, ws.Input)):
                message = "only execute, control and input are forwarded"
                raise ProtocolError(ErrorCode.INVALID_FRAME, message)
            data = await self.sink.run_forwarded(command, request.get("principal"))
        except ProtocolError as error:
            return {"id": request["id"], "error": error.to_dict()}
        except Exception:
            logger.exception("flowwire: a forwarded command failed")
            failure = ProtocolError(ErrorCode.INTERNAL, "the command failed on the server")
            return {"id": request["id"], "error": failure.to_dict()}
        return {"id": request["id"], "data": data}

    async def respond(self, process_id: str, answer: dict[str, Any]) -> None:
        """Send the answer of a forwarded command back to the process that asked."""
        await self._command("publish", self.key("rsp", process_id), msgspec.json.encode(answer))

    async def topics_since(self, since_ms: int) -> list[str]:
        """Topics that received an event at or after `since_ms` (epoch milliseconds)."""
        names = await self._command("zrangebyscore", self.key("topics", "all"), since_ms, "+inf")
        return [name.decode() for name in names]

    # -- monitoring ---------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        return {
            "kind": "redis",
            "ok": self.listener.connected,
            "url": _redacted(self.url),
            "process_id": self.process_id,
            "durable": self.durable,
            **self.listener.status(),
        }


_config_refused_logged: list[bool] = []


async def _persists_every_write(connection: Any) -> bool:
    """`appendonly yes` with `appendfsync always`: no acknowledged write is lost by a restart.
    A Redis that refuses CONFIG (managed services often do) counts as not durable."""
    settings: dict[str, str] = {}
    for name in ("appendonly", "appendfsync"):
        await connection.send_command("CONFIG", "GET", name)
        try:
            reply = await connection.read_response()
        except Exception as exc:  # CONFIG disabled or not permitted: assume the worst
            if not _config_refused_logged:
                _config_refused_logged.append(True)
                logger.info(
                    "flowwire: Redis refuses CONFIG GET (%s): treated as not persisting every "
                    "write, so a Redis restart resynchronises clients from snapshots",
                    exc,
                )
            return False
        pairs = (
            reply.items() if isinstance(reply, dict) else zip(reply[::2], reply[1::2], strict=True)
        )
        settings.update({k.decode(): v.decode() for k, v in pairs})
    return settings.get("appendonly") == "yes" and settings.get("appendfsync") == "always"


def _unavailable(broker: RedisBroker, exc: Exception) -> BrokerUnavailable:
    return BrokerUnavailable(f"Redis at {_redacted(broker.url)} is unavailable: {exc}")
