"""Sample workflows for the demo and the tests, and a legacy engine that runs in a thread."""

from __future__ import annotations

import asyncio
import threading
from typing import Annotated, Any

import msgspec

import wsproto_schema as ws
from asgi_plugin.engine.context import NodeContext
from asgi_plugin.engine.reporter import SyncReporter
from asgi_plugin.engine.runner import DagRunner
from wsproto_schema import JsonValue

__all__ = ["SAMPLES", "BlockingParams", "demo_runner", "legacy_engine"]


def _node(node_id: str, kind: str, name: str | None = None, **params: Any) -> ws.NodeSpec:
    return ws.NodeSpec(id=node_id, kind=kind, name=name, params=params or None)


def _edges(*pairs: tuple[str, str]) -> list[ws.EdgeSpec]:
    return [ws.EdgeSpec(source=s, target=t, id=f"{s}->{t}") for s, t in pairs]


SAMPLES: dict[str, ws.WorkflowSpec] = {
    "parallel": ws.WorkflowSpec(
        id="parallel",
        name="Parallel branches",
        nodes=[
            _node("fetch", "sleep", "Fetch data", ms=300, steps=3),
            _node("clean", "sleep", "Clean", ms=900, steps=4),
            _node("enrich", "sleep", "Enrich", ms=400, steps=2),
            _node("merge", "sleep", "Merge", ms=300),
            _node("report", "log", "Report", message="report ready"),
        ],
        edges=_edges(
            ("fetch", "clean"),
            ("fetch", "enrich"),
            ("clean", "merge"),
            ("enrich", "merge"),
            ("merge", "report"),
        ),
    ),
    "llm": ws.WorkflowSpec(
        id="llm",
        name="LLM agent",
        nodes=[
            _node("plan", "log", "Plan", message="planning the answer"),
            _node(
                "draft",
                "llm",
                "Draft",
                text="flowwire streams every token of this answer to the browser as it is made.",
                delay_ms=60,
            ),
            _node(
                "review", "llm", "Review", text="Looks good.", delay_ms=80, model="demo-reviewer"
            ),
        ],
        edges=_edges(("plan", "draft"), ("draft", "review")),
    ),
    "failing": ws.WorkflowSpec(
        id="failing",
        name="A failing node",
        nodes=[
            _node("extract", "sleep", "Extract", ms=300),
            _node(
                "transform",
                "fail",
                "Transform",
                message="schema mismatch in column 'price'",
                retries=1,
            ),
            _node("load", "sleep", "Load", ms=300),
            _node("audit", "log", "Audit", message="audit trail written"),
        ],
        edges=_edges(("extract", "transform"), ("transform", "load")),
    ),
    "approval": ws.WorkflowSpec(
        id="approval",
        name="Waits for input",
        nodes=[
            _node("prepare", "sleep", "Prepare release", ms=300),
            _node(
                "approve",
                "input",
                "Approve",
                prompt="Ship release 1.2 to production?",
                input_schema={
                    "type": "object",
                    "properties": {
                        "approved": {"type": "boolean", "title": "Approved"},
                        "note": {"type": "string", "title": "Note"},
                    },
                    "required": ["approved"],
                },
            ),
            _node("ship", "log", "Ship", message="release shipped"),
        ],
        edges=_edges(("prepare", "approve"), ("approve", "ship")),
    ),
    "legacy": ws.WorkflowSpec(
        id="legacy",
        name="A sync engine in a thread",
        nodes=[
            _node("crunch", "blocking", "Legacy crunch", steps=4, step_ms=150),
            _node("notify", "log", "Notify", message="legacy engine finished"),
        ],
        edges=_edges(("crunch", "notify")),
    ),
}


class BlockingParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    steps: Annotated[int, msgspec.Meta(ge=1, le=100)] = 3
    step_ms: Annotated[int, msgspec.Meta(ge=0, le=10_000)] = 100


def legacy_engine(
    report: SyncReporter, node_id: str, steps: int, step_ms: int, stopping: threading.Event
) -> JsonValue:
    """A synchronous engine: blocking work, reported from its own thread. It waits on the
    execution's `stopping` event rather than sleeping, so that `stop` frees its thread."""
    total = 0
    for step in range(1, steps + 1):
        if stopping.wait(step_ms / 1000):
            return {"total": total, "stopped_at": step}
        total += step
        report.log(f"legacy step {step} of {steps}", node_id=node_id, step=step)
        report.node_progress(node_id, step / steps)
    return {"total": total}


def demo_runner() -> DagRunner:
    """The runner of the demo: built-in kinds plus `blocking`, a sync engine in a thread."""
    runner = DagRunner()

    @runner.kind("blocking", params=BlockingParams)
    async def blocking(node: NodeContext) -> JsonValue:
        params: BlockingParams = node.params
        return await asyncio.to_thread(
            legacy_engine, node.report.sync, node.id, params.steps, params.step_ms, node.stopping
        )

    return runner
