"""The seq spliced into an event's JSON gives the frame `JsonCodec.encode` writes."""

from __future__ import annotations

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin.brokers.redis_frames import carried, seq_offset

TOPICS = ["workflow:w", 'odd,"ts":1,"seq":2 topic', 'ünïcode ✓ \\ " topic']


def splice(event: ws.Event, seq: int) -> bytes:
    """What the APPEND script does with the publisher's payload (redis_scripts.py)."""
    payload = msgspec.json.encode(event)
    at = seq_offset(payload, type(event))
    return payload[:at] + b'"seq":%d,' % seq + payload[at:]


@pytest.mark.parametrize("topic", TOPICS)
@pytest.mark.parametrize("seq", [1, 9, 1234567890123])
def test_the_spliced_frame_is_the_encoded_event_with_its_seq(topic: str, seq: int) -> None:
    events: list[ws.Event] = [
        ws.NodeStatus(
            topic=topic,
            ts=1,
            workflow_id="w",
            execution_id="e",
            node_id="n",
            status="succeeded",
            output={"seq": 5, "ts": 7, "text": ',"ts":'},
        ),
        ws.NodeToken(topic=topic, ts=2, workflow_id="w", execution_id="e", node_id="n", delta="d"),
        ws.ExecutionLog(
            topic=topic, ts=3, workflow_id="w", execution_id="e", level="info", message='"ts":'
        ),
    ]
    codec = ws.JsonCodec()
    for event in events:
        frame = splice(event, seq)
        assert frame.decode() == codec.encode(msgspec.structs.replace(event, seq=seq))
        assert carried(frame, seq)
        assert not carried(frame, seq + 1)
        assert not carried(msgspec.json.encode(event), seq), "an earlier version's frame"
