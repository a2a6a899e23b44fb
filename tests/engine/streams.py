"""Realistic event streams for resume and snapshot tests."""

from __future__ import annotations

import itertools
import random

import wsproto_schema as ws


def execution_events(
    execution_id: str, count: int, *, seed: int = 7, workflow: str = "w"
) -> list[ws.Event]:
    """`count` events of one execution: started, node transitions (some with an output),
    progress, logs, tokens, usage, input requests and answers, pauses."""
    rng = random.Random(seed)
    common = {"workflow_id": workflow, "execution_id": execution_id}
    nodes = [f"n{i}" for i in range(12)]
    events: list[ws.Event] = [
        ws.ExecutionStarted(
            **common,
            name="stream",
            nodes=[ws.NodeInfo(id=n, kind="sleep") for n in nodes],
            edges=[ws.EdgeInfo(source=a, target=b) for a, b in itertools.pairwise(nodes)],
        )
    ]
    statuses: list[ws.NodeStatusValue] = ["running", "succeeded", "failed", "skipped"]
    while len(events) < count - 1:
        node = rng.choice(nodes)
        kind = rng.randrange(9)
        if kind == 0:
            status = rng.choice(statuses)
            output = {"rows": len(events)} if status == "succeeded" else None
            events.append(
                ws.NodeStatus(
                    **common,
                    node_id=node,
                    status=status,
                    attempt=rng.randint(1, 3),
                    output=output,
                )
            )
        elif kind == 1:
            events.append(
                ws.NodeStatus(
                    **common, node_id=node, status="running", progress=round(rng.random(), 3)
                )
            )
        elif kind == 2:
            done = rng.randint(0, 12)
            events.append(
                ws.ExecutionProgress(
                    **common,
                    completed=done,
                    total=12,
                    percent=round(100 * done / 12, 2),
                    running=[node],
                )
            )
        elif kind == 3:
            events.append(
                ws.ExecutionLog(**common, level="info", message=f"step {len(events)}", node_id=node)
            )
        elif kind == 4:
            events.append(ws.NodeToken(**common, node_id=node, delta=f"t{len(events)} "))
        elif kind == 5:
            events.append(
                ws.NodeUsage(
                    **common,
                    node_id=rng.choice([node, None]),
                    prompt_tokens=rng.randint(0, 50),
                    completion_tokens=rng.randint(0, 50),
                    total_tokens=100,
                    cost=rng.choice([None, 0.001, 0.25]),
                )
            )
        elif kind == 6:
            events.append(
                ws.InputRequested(
                    **common, node_id=node, prompt="OK?", input_schema={"type": "boolean"}
                )
            )
        elif kind == 7:
            events.append(ws.InputReceived(**common, node_id=node, by="ada"))
        else:
            events.append(
                rng.choice([ws.ExecutionPaused(**common, by="ada"), ws.ExecutionResumed(**common)])
            )
    events.append(
        ws.ExecutionCompleted(
            **common,
            duration_ms=1000,
            summary=ws.Summary(total=12, succeeded=12, failed=0, skipped=0),
        )
    )
    return events[:count]
