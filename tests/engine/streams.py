"""Realistic event streams for resume and snapshot tests."""

from __future__ import annotations

import itertools
import random

import wsproto_schema as ws


def execution_events(
    execution_id: str, count: int, *, seed: int = 7, workflow: str = "w"
) -> list[ws.Event]:
    """`count` events of one execution: started, node transitions, progress, logs and tokens."""
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
        kind = rng.randrange(6)
        if kind == 0:
            events.append(
                ws.NodeStatus(
                    **common, node_id=node, status=rng.choice(statuses), attempt=rng.randint(1, 3)
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
