"""Server frames for driving the client's core without a server."""

from __future__ import annotations

from typing import Any

import wsproto_schema as ws
from flowwire.client.core import Action, ClientCore, Deliver, SendFrame

TOPIC = "workflow:w"


def welcome(heartbeat_ms: int = 1000) -> ws.Welcome:
    return ws.Welcome(
        protocol="flowwire.v1",
        connection_id="c-1",
        heartbeat_ms=heartbeat_ms,
        max_frame_bytes=1 << 20,
        server="test",
    )


def event(seq: int, execution: str = "e1", topic: str = TOPIC, **fields: Any) -> ws.NodeStatus:
    return ws.NodeStatus(
        topic=topic,
        seq=seq,
        ts=1_000 + seq,
        workflow_id="w",
        execution_id=execution,
        node_id=fields.pop("node_id", f"n{seq}"),
        status=fields.pop("status", "running"),
        **fields,
    )


def subscribe_reply(
    ref: str | None, epoch: str, seq: int, recovered: bool, topic: str = TOPIC
) -> ws.Reply:
    return ws.Reply(
        ref=ref, data={"topics": {topic: {"epoch": epoch, "seq": seq, "recovered": recovered}}}
    )


def sent(actions: list[Action]) -> list[ws.Command]:
    return [a.frame for a in actions if isinstance(a, SendFrame)]


def delivered(actions: list[Action]) -> list[Any]:
    return [a.item for a in actions if isinstance(a, Deliver)]


def connect(core: ClientCore, now: float = 0, heartbeat_ms: int = 1000) -> list[Action]:
    """Open a connection and receive `welcome`; the actions that followed."""
    core.connecting()
    core.opened(now)
    core.receive(welcome(heartbeat_ms), now)
    return core.take_actions()


def last_subscribe(actions: list[Action]) -> ws.Subscribe:
    frames = [f for f in sent(actions) if isinstance(f, ws.Subscribe)]
    assert frames, actions
    return frames[-1]
