"""An engine's WebSocket (`…/engine`): a `Connection` whose session takes engine frames.

It publishes the engine's events (validated like `POST publish`, in the order
they arrive), records what the engine serves and runs (`Engines`), and carries
users' commands to the engine: `ask` sends `engine.command` and waits for the
matching `engine.result`, at most `engine_command_timeout_ms`. While it is
connected and answering the heartbeat, its executions' runner leases are kept;
when it ends, they are released (see engines.py).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.actions import Action, EngineRequest
from wsproto_schema import ErrorCode, ProtocolError

from .connection import Connection
from .engines import Engines
from .errors import RETRY_AFTER_MS
from .handshake import Handshake
from .runtime import Runtime
from .types import Receive
from .types import Send as SendMessage

__all__ = ["EngineConnection"]

logger = logging.getLogger("flowwire")


class EngineConnection(Connection):
    """An engine connected to this process (see the module docstring)."""

    __slots__ = ("_pending", "engines")

    def __init__(
        self,
        runtime: Runtime,
        engines: Engines,
        send: SendMessage,
        codec: ws.Codec,
        handshake: Handshake,
        connection_id: str,
    ) -> None:
        super().__init__(runtime, send, codec, handshake, None, connection_id, True, engine=True)
        self.engines = engines
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def serve(self, receive: Receive) -> None:
        self.engines.join(self)  # until `_cleanup`: gone
        await super().serve(receive)

    # -- users' commands to the engine ----------------------------------------------------

    async def ask(
        self, command: ws.Execute | ws.Control | ws.Input, principal: Any
    ) -> dict[str, Any]:
        """Send a user's command to the engine; the data of its result, or its error."""
        if self._closing:
            raise _away("the engine running it disconnected: retry")
        request_id = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        payload: dict[str, Any] = msgspec.to_builtins(command)
        payload.pop("ref", None)
        frame = ws.EngineCommand(id=request_id, command=payload, principal=principal)
        timeout_ms = self.runtime.options.engine_command_timeout_ms
        try:
            self._push(self.codec.encode(frame))
            return await asyncio.wait_for(future, timeout_ms / 1000)
        except asyncio.TimeoutError:
            raise _away(f"the engine did not answer within {timeout_ms} ms") from None
        finally:
            self._pending.pop(request_id, None)

    # -- the engine's frames --------------------------------------------------------------

    async def _run(self, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, EngineRequest):
                await self._engine_frame(action)
            else:
                await super()._run([action])

    async def _engine_frame(self, request: EngineRequest) -> None:
        frame = request.frame
        if isinstance(frame, ws.EngineResult):
            self._answered(frame)
            return
        try:
            result = await self._carry_out(frame)
        except Exception as exc:
            await self._run(self.session.fail(request, self._failure(exc, request)))
            return
        await self._run(self.session.succeed(request, result))

    async def _carry_out(
        self, frame: ws.EngineServe | ws.EngineClaim | ws.EnginePublish
    ) -> ws.Part:
        engines = self.engines
        if isinstance(frame, ws.EngineServe):
            return ws.EngineServeResult(workflows=await engines.serve(self, frame.workflows))
        if isinstance(frame, ws.EngineClaim):
            claimed: list[str] = []
            lost: list[str] = []
            for execution_id in dict.fromkeys(frame.executions):
                held = await engines.claim(self, execution_id, check=True)
                (claimed if held else lost).append(execution_id)
            return ws.EngineClaimResult(claimed=claimed, lost=lost)
        return await self._publish(frame)

    async def _publish(self, frame: ws.EnginePublish) -> ws.EnginePublishResult:
        """Publish the engine's event as `POST publish` would; a first event of an execution
        claims it for this engine, its terminal event lets it go."""
        codec = self.runtime.json
        try:
            event = codec.decode_event(msgspec.json.encode(frame.event))
        except ProtocolError as error:
            path = "$.event" + (error.path or "$")[1:]
            detail = error.message.partition(": ")[2] or error.message
            raise ProtocolError(error.code, f"{path}: {detail}", path=path) from None
        engines = self.engines
        execution_id = event.execution_id
        held = engines.holds(self, execution_id)
        if not held and await engines.lost(execution_id):
            # An engine back too late: its execution was failed meanwhile.
            message = f"$.event.execution_id: execution {execution_id!r} failed as runner_lost"
            raise ProtocolError(ErrorCode.CONFLICT, message, path="$.event.execution_id")
        key = frame.idempotency_key
        stored, duplicate = await self.runtime.publish_once(event, idempotency_key=key)
        if isinstance(stored, (ws.ExecutionCompleted, ws.ExecutionFailed, ws.ExecutionStopped)):
            engines.finished(self, execution_id)
        elif not held:
            await engines.claim(self, execution_id, check=False)
        return ws.EnginePublishResult(topic=stored.topic, seq=stored.seq, duplicate=duplicate)

    def _answered(self, frame: ws.EngineResult) -> None:
        future = self._pending.get(frame.id)
        if future is None or future.done():
            logger.info(
                "flowwire engine %s: result %r came after its command timed out",
                self.connection_id,
                frame.id,
            )
            return
        if frame.error is not None:
            error = frame.error
            future.set_exception(ProtocolError(error.code, error.message, path=error.path))
        else:
            future.set_result(frame.data or {})

    # -- the end ----------------------------------------------------------------------------

    async def _cleanup(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(_away("the engine disconnected before it answered: retry"))
        try:
            await self.engines.gone(self)
        finally:
            await super()._cleanup()


def _away(message: str) -> ProtocolError:
    return ProtocolError(ErrorCode.UNAVAILABLE, message, retry_after_ms=RETRY_AFTER_MS)
