from __future__ import annotations

from collections.abc import Iterator

import pytest

import wsproto_schema as ws
from tests.plugin import clients
from wsproto_schema.contract import Contract


@pytest.fixture(autouse=True)
def validate_every_received_frame(flowwire_contract: Contract) -> Iterator[None]:
    """Used by default: the test clients check each frame they receive against the schema."""
    clients.CONTRACT = flowwire_contract
    clients.RECEIVED.clear()
    yield
    clients.CONTRACT = None


def status(i: int, workflow: str = "w", **fields: object) -> ws.NodeStatus:
    return ws.NodeStatus(
        workflow_id=workflow, execution_id="e", node_id=f"n{i}", status="running", **fields
    )
