"""Wire profiles (issue 15): every frame a profile emits validates against its generated
schema, and canonical → profile → canonical keeps every field the profile carries."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from hypothesis import given
from jsonschema import Draft202012Validator

import wsproto_schema as ws
from tests.conftest import SCHEMAS
from tests.protocol import strategies as fs
from wsproto_schema.profiles import PROFILES, Profile, ProfileCodec, iso_ts
from wsproto_schema.profiles.base import ms_of_iso

JSON = ws.JsonCodec()
NAMES = sorted(PROFILES)
LAST_ISO_MS = 253_402_300_799_999

# What each profile carries of each canonical event type: compared after the round trip.
CARRIED: dict[str, dict[str, tuple[str, ...]]] = {
    "type-data": {
        "execution.started": ("ts", "workflow_id", "execution_id"),
        "node.status": ("ts", "workflow_id", "execution_id", "node_id", "output", "progress"),
        "edge.flow": (
            "ts",
            "workflow_id",
            "execution_id",
            "source",
            "target",
            "edge_id",
            "preview",
        ),
        "execution.progress": (
            "ts",
            "workflow_id",
            "execution_id",
            "completed",
            "total",
            "percent",
        ),
        "execution.log": ("ts", "workflow_id", "execution_id", "level", "message", "node_id"),
        "execution.completed": ("ts", "workflow_id", "execution_id"),
        "execution.failed": ("ts", "workflow_id", "execution_id"),
    },
    "event-data": {
        "node.status": ("execution_id", "node_id", "output"),
        "execution.progress": ("execution_id", "completed", "total"),
    },
    "event-cmd": {
        "node.token": ("ts", "workflow_id", "execution_id", "node_id", "delta", "index"),
        "node.status": (
            *("ts", "workflow_id", "execution_id", "node_id", "status", "attempt"),
            *("progress", "duration_ms", "output"),
        ),
        "branch.started": ("ts", "workflow_id", "execution_id", "node_ids", "parent_id"),
        "node.usage": (
            *("ts", "workflow_id", "execution_id", "node_id", "model", "cost"),
            *("prompt_tokens", "completion_tokens", "total_tokens"),
        ),
        "execution.paused": ("ts", "workflow_id", "execution_id", "reason", "by"),
        "execution.completed": ("ts", "workflow_id", "execution_id", "duration_ms", "outputs"),
        "execution.failed": ("ts", "workflow_id", "execution_id"),
    },
    "flat-type": {
        "node.status": ("ts", "workflow_id", "execution_id", "node_id", "output"),
        "execution.completed": (*("ts", "workflow_id", "execution_id"), "duration_ms", "summary"),
        "execution.failed": ("ts", "workflow_id", "execution_id", "duration_ms", "summary"),
    },
    "type-payload": {
        "execution.started": ("ts", "workflow_id", "execution_id", "nodes", "edges"),
        "execution.paused": ("ts", "workflow_id", "execution_id", "reason", "by"),
        "execution.resumed": ("ts", "workflow_id", "execution_id", "reason", "by"),
        "execution.stopped": ("ts", "workflow_id", "execution_id", "reason", "by"),
        "node.status": (
            *("ts", "workflow_id", "execution_id", "node_id", "output"),
            *("progress", "duration_ms"),
        ),
        "execution.progress": (
            *("ts", "workflow_id", "execution_id", "completed", "total", "percent", "eta_ms"),
        ),
        "execution.log": (
            *("ts", "workflow_id", "execution_id", "level", "message", "node_id", "context"),
        ),
        "execution.completed": ("ts", "workflow_id", "execution_id", "duration_ms", "outputs"),
        "execution.failed": ("ts", "workflow_id", "execution_id", "duration_ms"),
    },
}


def said(frame: msgspec.Struct | None) -> Any:
    """What a profile frame says, without what it makes up when it is sent: ids and the
    times of control frames (an event's id is its topic and seq, not carried back)."""
    data = msgspec.to_builtins(frame)
    data.pop("id", None)
    if not any(key in data for key in ("data", "payload")) or "executionId" not in str(data):
        data.pop("timestamp", None)
    return data


def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"profile-{name}.schema.json").read_text())
    return Draft202012Validator(schema)


VALIDATORS = {name: validator(name) for name in NAMES}


def canonical(frame: dict[str, Any]) -> ws.Frame | None:
    return JSON.decode_server_frame(msgspec.json.encode(frame), strict=True)


@pytest.mark.parametrize("name", NAMES)
@given(frame=fs.server_frames())
def test_every_emitted_frame_validates_against_the_profile_schema(
    name: str, frame: dict[str, Any]
) -> None:
    codec = ProfileCodec(PROFILES[name])
    decoded = canonical(frame)
    assert decoded is not None
    data = codec.encode(decoded)
    if data:
        errors = [e.message for e in VALIDATORS[name].iter_errors(json.loads(data))]
        assert not errors, (frame, data, errors)


@pytest.mark.parametrize("name", NAMES)
@given(frame=fs.server_frames())
def test_canonical_to_profile_to_canonical_keeps_what_the_profile_carries(
    name: str, frame: dict[str, Any]
) -> None:
    profile: Profile = PROFILES[name]
    event = canonical(frame)
    assert event is not None
    wire = profile.to_wire(event)
    if wire is None:
        return  # a frame the profile has no name for: dropped, documented
    back = profile.to_canonical(wire)
    if back is None:
        assert isinstance(event, ws.Welcome), wire  # its fields are the server's own
        return
    again = profile.to_wire(back)
    assert type(again) is type(wire)
    assert said(again) == said(wire), "the profile's image is a fixed point"
    tag = ws.frame_tag(type(event))
    for field in CARRIED[name].get(tag, ()):
        if field == "ts" and name != "type-payload" and event.ts > LAST_ISO_MS:  # type: ignore[attr-defined]
            continue  # an ISO year has four digits: later times are given as 9999's end
        assert getattr(back, field) == getattr(event, field), (tag, field)


def test_type_data_statuses_and_error_names() -> None:
    profile = PROFILES["type-data"]
    base = {"workflow_id": "w", "execution_id": "e", "node_id": "a", "ts": 1_763_029_800_123}
    statuses = {
        s: msgspec.to_builtins(profile.to_wire(ws.NodeStatus(**base, status=s)))["data"]["status"]
        for s in ("pending", "running", "succeeded", "failed", "skipped", "cancelled")
    }
    assert statuses == {
        "pending": "pending",
        "running": "running",
        "succeeded": "completed",
        "failed": "error",
        "skipped": "pending",
        "cancelled": "error",
    }
    wire = msgspec.to_builtins(profile.to_wire(ws.NodeStatus(**base, status="running")))
    assert wire["timestamp"] == "2025-11-13T10:30:00.123000+00:00"
    assert wire["data"] == {
        "workflow_id": "w",
        "execution_id": "e",
        "node_id": "a",
        "status": "running",
        "result": None,
        "error": None,
        "progress": None,
    }
    assert (
        profile.to_wire(
            ws.Welcome(
                protocol="p", connection_id="c", heartbeat_ms=1, max_frame_bytes=1, server="s"
            )
        )
        is None
    )
    assert profile.to_wire(ws.Ping(ts=1)) is None, "its clients know no server ping"


def test_iso_timestamps_round_trip_and_never_overflow() -> None:
    for ms in (0, 1, 1_763_029_800_123, 253_402_300_799_999):
        assert ms_of_iso(iso_ts(ms)) == ms
    assert iso_ts(2**63) == "9999-12-31T23:59:59.999000+00:00"


class AppSessionUpdate(ws.AppEvent, tag="session.update", frozen=True, kw_only=True):
    """001's own `session.update`, declared by the application (issue 15, feature 5)."""

    session_id: str
    status: str
    completed_tasks: int
    total_tasks: int


def test_event_data_passes_the_apps_own_session_update_through() -> None:
    event = AppSessionUpdate(
        topic="sessions",
        seq=3,
        ts=5,
        session_id="s1",
        status="running",
        completed_tasks=1,
        total_tasks=4,
    )
    wire = msgspec.to_builtins(PROFILES["event-data"].to_wire(event))
    assert wire == {
        "event": "session.update",
        "session_id": "s1",
        "data": {"status": "running", "completed_tasks": 1, "total_tasks": 4},
    }
    odd = AppSessionUpdate(
        topic="sessions",
        seq=4,
        ts=6,
        session_id="s1",
        status="dancing",
        completed_tasks=1,
        total_tasks=4,
    )
    assert PROFILES["event-data"].to_wire(odd) is None, "not what its client reads: dropped"
