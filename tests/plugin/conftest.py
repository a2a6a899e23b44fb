from __future__ import annotations

import wsproto_schema as ws


def status(i: int, workflow: str = "w", **fields: object) -> ws.NodeStatus:
    return ws.NodeStatus(
        workflow_id=workflow, execution_id="e", node_id=f"n{i}", status="running", **fields
    )
