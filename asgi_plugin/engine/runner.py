"""A reference DAG runner (asyncio) that takes `execute`, `control` and `input` commands.

    runner = DagRunner()

    @runner.kind("http")
    async def fetch(node: NodeContext) -> JsonValue:
        await node.log(f"GET {node.params['url']}")
        return {"status": 200}

    flowwire = FlowwireApp(handler=runner)

Nodes run in topological order; siblings that become ready together run in
parallel (`branch.started`). A node's output flows along its edges
(`edge.flow`) and becomes its children's `inputs`. Failed nodes are retried
(`params.retries`); a final failure skips everything downstream and fails the
execution once what still runs has finished. `pause` lets running nodes finish
but starts no new one until `resume`; `stop` cancels running nodes.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import msgspec

import wsproto_schema as ws
from asgi_plugin.core.principals import principal_id
from wsproto_schema import ErrorCode, JsonValue, ProtocolError

from .context import Kind, NodeContext, NodeFailure, NodeFunction
from .handlers import CommandContext
from .nodes import BUILTIN_KINDS
from .reporter import Reporter
from .workflow import Dag, validate_workflow

__all__ = ["DagRunner", "Run"]

logger = logging.getLogger("flowwire.runner")

F = TypeVar("F", bound=NodeFunction)

PREVIEW_CHARS = 200


async def until_published(publish: Callable[[], Awaitable[int]]) -> int:
    """Publish an execution's terminal event, retrying while the broker cannot take it
    (an outage): an execution must not stay `running` because its last event was lost.
    An invalid event is not retried."""
    delay = 0.1
    while True:
        try:
            return await publish()
        except ProtocolError:
            raise
        except Exception as exc:
            logger.warning("flowwire runner: the terminal event could not be published: %s", exc)
            await asyncio.sleep(delay)  # backoff while the broker is down
            delay = min(delay * 2, 5.0)


def _preview(output: JsonValue) -> JsonValue:
    """An edge's preview of the output: small values as they are, large ones cut."""
    text = output if isinstance(output, str) else msgspec.json.encode(output).decode()
    if len(text) <= PREVIEW_CHARS:
        return output
    return text[:PREVIEW_CHARS] + "…"


@dataclass
class Run:
    """One execution of a workflow."""

    runner: DagRunner
    dag: Dag
    execution_id: str
    report: Reporter
    inputs: dict[str, JsonValue]
    started_by: str | None = None
    """The id of the principal that executed it (see core/principals.py)."""
    status: ws.ExecutionStatusValue = "running"
    outputs: dict[str, JsonValue] = field(default_factory=dict)
    waiting: dict[str, asyncio.Future[JsonValue]] = field(default_factory=dict)
    answering: set[str] = field(default_factory=set)
    """Nodes whose answer is being announced (`input.received`): a second is a conflict."""
    task: asyncio.Task[None] | None = None
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: bool = False
    _stop_by: str | None = None
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set by `stop`: work in threads sees it (`NodeContext.stopping`) and returns."""

    async def ask(
        self, node_id: str, prompt: str, schema: dict[str, JsonValue] | None
    ) -> JsonValue:
        future: asyncio.Future[JsonValue] = asyncio.get_running_loop().create_future()
        self.waiting[node_id] = future
        try:
            await self.report.input_requested(node_id, prompt, input_schema=schema)
            return await future
        finally:
            self.waiting.pop(node_id, None)

    # -- control ------------------------------------------------------------------

    def _conflict(self, action: str) -> ProtocolError:
        return ProtocolError(
            ErrorCode.CONFLICT,
            f"cannot {action} execution {self.execution_id!r}: it is {self.status}",
        )

    async def pause(self, by: str | None) -> None:
        if self.status != "running":
            raise self._conflict("pause")
        self.status = "paused"
        await self.report.paused(by=by)
        self._wake.set()

    async def resume(self, by: str | None) -> None:
        if self.status != "paused":
            raise self._conflict("resume")
        self.status = "running"
        await self.report.resumed(by=by)
        self._wake.set()

    async def stop(self, by: str | None) -> None:
        if self.status not in ("running", "paused"):
            raise self._conflict("stop")
        self._stop = True
        self._stop_by = by
        self.stopping.set()
        self._wake.set()
        if self.task is not None:
            await asyncio.shield(self.task)

    async def provide(self, node_id: str, value: JsonValue, by: str | None) -> None:
        """Answer a node's input request: `input.received` is published first, so that it
        comes before whatever the node does with the value."""
        future = self.waiting.get(node_id)
        if future is None or future.done() or node_id in self.answering:
            raise ProtocolError(
                ErrorCode.CONFLICT,
                f"$.node_id: node {node_id!r} is not waiting for input",
                path="$.node_id",
            )
        self.answering.add(node_id)
        try:
            await self.report.input_received(node_id, by=by)
        finally:
            self.answering.discard(node_id)
        if not future.done():  # not stopped meanwhile
            future.set_result(value)

    # -- running ------------------------------------------------------------------

    async def start(self) -> None:
        """Publish `execution.started`: once it is stored, the broker knows the execution
        (its topic), so a command for it is no longer `not_found`."""
        dag = self.dag
        await self.report.started(
            [ws.NodeInfo(id=n.id, name=n.name, kind=n.kind) for n in dag.nodes.values()],
            [ws.EdgeInfo(id=e.id, source=e.source, target=e.target) for e in dag.spec.edges],
            name=dag.spec.name,
            order=dag.order,
            inputs=self.inputs or None,
        )

    async def main(self) -> None:
        dag = self.dag
        # Each node waits for `missing` parents; a node whose count drops to 0 is ready. Work
        # per step is what finished, not the size of the workflow.
        position = {node: index for index, node in enumerate(dag.order)}
        pending = dict.fromkeys(dag.order)
        missing = {node: len(dag.parents[node]) for node in dag.order}
        ready_now = [node for node in dag.order if not missing[node]]
        running: dict[asyncio.Task[JsonValue], str] = {}
        failure: tuple[str, ws.ErrorInfo] | None = None
        while not self._stop:
            if self.status == "running" and ready_now:
                ready, ready_now = sorted(ready_now, key=position.__getitem__), []
                if len(ready) > 1:
                    parents = {p for n in ready for p in dag.parents[n]}
                    await self.report.branch_started(
                        ready, parent_id=parents.pop() if len(parents) == 1 else None
                    )
                for node_id in ready:
                    del pending[node_id]
                    running[asyncio.ensure_future(self._node(node_id))] = node_id
            if not running and self.status == "running":
                break
            self._wake.clear()
            wake = asyncio.ensure_future(self._wake.wait())
            done, _ = await asyncio.wait([*running, wake], return_when=asyncio.FIRST_COMPLETED)
            wake.cancel()
            for task in done - {wake}:
                node_id = running.pop(task)
                error = task.exception()
                if error is None:
                    self.outputs[node_id] = task.result()
                    for child in dag.children[node_id]:
                        edge_id = dag.edge_id(node_id, child)
                        await self.report.edge_flow(
                            node_id, child, edge_id=edge_id, preview=_preview(task.result())
                        )
                        missing[child] -= 1
                        if not missing[child] and child in pending:
                            ready_now.append(child)
                else:
                    failure = failure or (node_id, self.runner.shown(error))
                    for descendant in dag.descendants(node_id):
                        if descendant in pending:
                            del pending[descendant]
                            await self.report.node_skipped(descendant)
                await self.report.progress()
        await self._finish(pending, running, failure)

    async def _finish(
        self,
        pending: dict[str, None],
        running: dict[asyncio.Task[JsonValue], str],
        failure: tuple[str, ws.ErrorInfo] | None,
    ) -> None:
        if self._stop:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
            for node_id in running.values():
                await self.report.node_cancelled(node_id)
            for node_id in pending:
                await self.report.node_skipped(node_id)
            self.status = "stopped"
            await until_published(lambda: self.report.stopped(by=self._stop_by))
        elif failure is not None:
            node_id, error = failure
            self.status = "failed"
            await until_published(
                lambda: self.report.failed(
                    msgspec.structs.replace(error, node_id=node_id), code="node_failed"
                )
            )
        else:
            self.status = "completed"
            sinks = [n for n in self.dag.order if not self.dag.children[n]]
            await until_published(
                lambda: self.report.completed(outputs={n: self.outputs[n] for n in sinks})
            )

    async def _node(self, node_id: str) -> JsonValue:
        node = self.dag.nodes[node_id]
        kind = self.runner.kinds[node.kind]
        params = node.params or {}
        attempts = 1 + int(params.get("retries", 0))
        delay = int(params.get("retry_delay_ms", 0)) / 1000
        parents = self.dag.parents[node_id]
        inputs = {p: self.outputs[p] for p in parents} if parents else dict(self.inputs)
        for attempt in range(1, attempts + 1):
            await self.report.node_running(node_id, attempt=attempt if attempts > 1 else None)
            context = NodeContext(
                node,
                self.dag.params[node_id],
                inputs,
                attempt,
                self.report,
                self.ask,
                self.stopping,
            )
            try:
                output = await kind.run(context)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                shown = self.runner.shown(exc)
                if attempt < attempts:
                    await self.report.log(
                        f"attempt {attempt} of {attempts} failed: {shown.message}; retrying",
                        level="warning",
                        node_id=node_id,
                    )
                    await asyncio.sleep(delay)
                    continue
                if not isinstance(exc, NodeFailure):
                    logger.warning("node %s of %s failed", node_id, self.execution_id, exc_info=exc)
                await self.report.node_failed(
                    node_id, shown, attempt=attempt if attempts > 1 else None
                )
                raise
            await self.report.node_succeeded(
                node_id, output=output, attempt=attempt if attempts > 1 else None
            )
            return output
        raise AssertionError("unreachable")  # pragma: no cover


class DagRunner:
    """The reference engine: a `CommandHandler` that runs DAG workflows."""

    def __init__(
        self,
        *,
        kinds: dict[str, Kind] | None = None,
        finished_runs: int = 100,
        max_nodes: int = 1_000,
        max_edges: int = 10_000,
        max_live_per_principal: int = 20,
        expose_errors: bool = False,
    ) -> None:
        self.kinds: dict[str, Kind] = {**BUILTIN_KINDS, **(kinds or {})}
        self.runs: dict[str, Run] = {}
        self.finished_runs = finished_runs
        """Finished runs kept, so that late commands get `conflict`, not `not_found`."""
        self.max_nodes = max_nodes
        self.max_edges = max_edges
        """The largest workflow an `execute` may send (then `invalid_workflow`)."""
        self.max_live_per_principal = max_live_per_principal
        """Running or paused executions one principal may have here (then `rate_limited`)."""
        self.expose_errors = expose_errors
        """Show every subscriber a failed node's exception text. Off: only `NodeFailure`
        messages (written for users) are shown; other exceptions are logged here and
        shown as "the node failed" with their class name (their text may hold secrets)."""

    def kind(self, name: str, *, params: type[msgspec.Struct] | None = None) -> Callable[[F], F]:
        """Register an async node function under a kind name (optionally with a params Struct)."""

        def register(function: F) -> F:
            self.kinds[name] = Kind(function, params)
            return function

        return register

    def shown(self, error: BaseException) -> ws.ErrorInfo:
        """What subscribers are told of a node's failure (see `expose_errors`)."""
        if isinstance(error, NodeFailure) or self.expose_errors:
            message = str(error) or type(error).__name__
        else:
            message = "the node failed on the server (its log has the details)"
        return ws.ErrorInfo(code=type(error).__name__, message=message)

    def validate(self, spec: ws.WorkflowSpec) -> Dag:
        return validate_workflow(
            spec,
            {name: kind.params for name, kind in self.kinds.items()},
            max_nodes=self.max_nodes,
            max_edges=self.max_edges,
        )

    async def on_execute(self, command: ws.Execute, context: CommandContext) -> ws.ExecuteResult:
        dag = self.validate(command.workflow)
        starter = principal_id(context.principal)
        live = sum(
            run.started_by == starter and run.status in ("running", "paused")
            for run in self.runs.values()
        )
        if live >= self.max_live_per_principal:
            raise ProtocolError(
                ErrorCode.RATE_LIMITED,
                f"at most {self.max_live_per_principal} live executions at a time: "
                "wait for one to end",
            )
        execution_id = secrets.token_hex(6)
        report = context.app.reporter(command.workflow.id, execution_id)
        run = Run(self, dag, execution_id, report, dict(command.inputs or {}), starter)
        self.runs[execution_id] = run
        try:
            # Before the reply: whoever reads it may send a command for the execution at once.
            await run.start()
        except BaseException:
            del self.runs[execution_id]  # it never started: the execute fails
            raise
        run.task = asyncio.create_task(self._guarded(run))
        self._forget_finished()
        return ws.ExecuteResult(execution_id=execution_id, topic=report.topic)

    async def _guarded(self, run: Run) -> None:
        """Run the execution; whatever happens, it ends with a terminal event (a run that
        broke without one, a publish that failed on a broker outage, is `failed`)."""
        try:
            await run.main()
        except Exception:
            logger.exception("flowwire runner: execution %s failed", run.execution_id)
        if run.report.ended is None:
            if run.status in ("running", "paused"):
                run.status = "failed"
            failure = ws.ErrorInfo(code="internal", message="the runner failed")
            await until_published(lambda: run.report.failed(failure))

    def _forget_finished(self) -> None:
        finished = [
            key for key, run in self.runs.items() if run.task is not None and run.task.done()
        ]
        for key in finished[: max(0, len(finished) - self.finished_runs)]:
            del self.runs[key]

    def _run(self, execution_id: str) -> Run:
        run = self.runs.get(execution_id)
        if run is None:
            raise ProtocolError(
                ErrorCode.NOT_FOUND,
                f"$.execution_id: this runner has no execution {execution_id!r}",
                path="$.execution_id",
            )
        return run

    async def on_control(self, command: ws.Control, context: CommandContext) -> ws.ControlResult:
        run = self._run(command.execution_id)
        by = principal_id(context.principal)
        if command.action == "pause":
            await run.pause(by)
        elif command.action == "resume":
            await run.resume(by)
        else:
            await run.stop(by)
        return ws.ControlResult(status=run.status)

    async def on_input(self, command: ws.Input, context: CommandContext) -> ws.InputResult:
        by = principal_id(context.principal)
        await self._run(command.execution_id).provide(command.node_id, command.value, by)
        return ws.InputResult(accepted=True)

    async def wait(self, execution_id: str) -> ws.ExecutionStatusValue:
        """Until the execution finishes; its final status."""
        run = self._run(execution_id)
        if run.task is not None:
            await asyncio.shield(run.task)
        return run.status
