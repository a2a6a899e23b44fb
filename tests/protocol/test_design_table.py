"""Every frame of DESIGN.md's wire protocol v1 exists, with its wire name and fields.

The tables below are DESIGN.md's, transcribed; `?` marks an optional field. A
frame may carry more fields than the design lists (noted), never fewer or
renamed ones, and the generated schema must say the same as the Structs.
"""

from __future__ import annotations

import pytest

import wsproto_schema as ws
from tests.conftest import load_schema
from wsproto_schema.json_schema import tag_map

EVENT_COMMON = ["topic", "seq", "ts", "workflow_id", "execution_id"]

SERVER = {
    "welcome": ["protocol", "connection_id", "heartbeat_ms", "max_frame_bytes", "server"],
    "reply": ["ref?", "data"],
    "error": ["ref?", "code", "message", "path?", "retry_after_ms?"],
    "ping": ["ts"],
    "pong": ["ts?"],
    "goaway": ["reason", "reconnect_ms"],
    "execution.snapshot": ["status", "nodes", "progress", "last_seq"],
    # Beyond the design, asked for by the benchmarks issue: queued frames in one.
    "batch": ["frames"],
    # Beyond the design: a user's command carried to an engine in another process (issue 16)
    "engine.command": ["id", "command", "principal?"],
}
EVENTS = {
    "execution.started": ["name?", "nodes", "edges", "order?", "inputs?"],
    "execution.paused": ["reason?", "by?"],
    "execution.resumed": ["reason?", "by?"],
    "execution.stopped": ["reason?", "by?"],
    "execution.completed": ["duration_ms", "outputs?", "summary"],
    "execution.failed": ["error", "duration_ms", "summary"],
    "execution.progress": ["completed", "total", "percent", "running", "eta_ms?"],
    "execution.log": ["level", "message", "node_id?", "context?"],
    "node.status": [
        "node_id",
        "status",
        "attempt?",
        "progress?",
        "duration_ms?",
        "output?",
        "error?",
    ],
    "node.token": ["node_id", "delta", "index?"],
    "node.usage": [
        "node_id?",
        "model?",
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "cost?",
    ],
    "edge.flow": ["source", "target", "edge_id?", "preview?"],
    "branch.started": ["node_ids", "parent_id?"],
    "input.requested": ["node_id", "prompt", "input_schema?"],
    # Beyond the design: the request was answered, so other watchers stop offering it
    "input.received": ["node_id", "by?"],
}
CLIENT = {
    "auth": ["ref?", "token"],
    "subscribe": ["ref?", "topics", "since?", "snapshot?"],
    "unsubscribe": ["ref?", "topics"],
    # idempotency_key: beyond the original design (a resent command runs once; docs/protocol.md)
    "execute": ["ref?", "workflow", "inputs?", "subscribe?", "idempotency_key?"],
    # execution_id or workflow_id (issue 15: the one live run of a workflow)
    "control": ["ref?", "execution_id?", "workflow_id?", "action", "idempotency_key?"],
    "input": ["ref?", "execution_id?", "workflow_id?", "node_id", "value", "idempotency_key?"],
    # Beyond the original design: the recent executions a principal may see (a dashboard's
    # runs list; docs/protocol.md)
    "list": ["ref?", "topics?", "limit?", "nodes?"],
    "ping": ["ref?", "ts?"],
    "pong": ["ref?", "ts"],
    # Beyond the design: what engines in other processes send (issue 16; docs/protocol.md)
    "engine.serve": ["ref?", "workflows"],
    "engine.claim": ["ref?", "executions"],
    "engine.publish": ["ref?", "event", "idempotency_key?"],
    "engine.result": ["ref?", "id", "data?", "error?"],
}
# Beyond the design's list: the snapshot names its execution and graph so a late
# joiner can draw the run without having seen `execution.started`.
EXTRA = {
    "subscribe": {"batch", "types"},  # `batch` frames; event-type filters (issue 15)
    "error": {"details"},  # a conflict's candidates (issue 15)
    "execution.snapshot": {
        "topic",
        "workflow_id",
        "execution_id",
        "ts",
        "name",
        "edges",
        "started_ts",
        "finished_ts",
        "error",
        # …and what a client needs to render the same state at once (docs/protocol.md)
        "duration_ms",
        "summary",
        "outputs",
        "usage",
        "inputs",
        "logs",
        "logs_omitted",
    },
}
PARTS = {
    "NodeInfo": ["id", "name?", "kind?"],
    "EdgeInfo": ["id?", "source", "target"],
    "ErrorInfo": ["code?", "message", "node_id?", "details?"],
    "Summary": ["total", "succeeded", "failed", "skipped"],
    "WorkflowSpec": ["id", "name?", "nodes", "edges?"],
    "NodeSpec": ["id", "kind", "name?", "params?"],
    "EdgeSpec": ["source", "target", "id?"],
    "SincePosition": ["seq", "epoch"],
    "TopicPosition": ["epoch", "seq", "recovered", "types?"],
    "ExecutionSummary": [
        "topic",
        "workflow_id",
        "execution_id",
        "ts",
        "status",
        "name?",
        "nodes?",
        "edges?",
        "progress",
        "started_ts?",
        "finished_ts?",
        "error?",
        "last_seq",
    ],
    "ListResult": ["executions"],
    "UsageTotals": ["prompt_tokens", "completion_tokens", "total_tokens", "cost?"],
    "PendingInput": ["node_id", "prompt", "input_schema?", "ts"],
    "LogLine": ["seq", "ts", "level", "message", "node_id?", "context?"],
}
DESIGN_ERROR_CODES = [
    "invalid_json",
    "invalid_frame",
    "unknown_type",
    "too_large",
    "unauthorized",
    "forbidden",
    "not_found",
    "invalid_workflow",
    "conflict",
    "rate_limited",
    "unavailable",  # beyond the original design: a broker outage, retryable (docs/protocol.md)
    "internal",
]
DESIGN_CLOSE_CODES = [1000, 1001, 1008, 1009, 1011, 1012, 1013, 4000, 4001, 4002, 4008, 4029]
# 4029 (flooding) is beyond the original design: docs/protocol.md, close codes


def expected_fields(spec: list[str]) -> dict[str, bool]:
    """field name → required."""
    return {name.rstrip("?"): not name.endswith("?") for name in spec}


def schema_fields(schema: dict, name: str) -> dict[str, bool]:
    definition = schema["$defs"][name]
    required = set(definition["required"])
    return {p: p in required for p in definition["properties"] if p != "type"}


def struct_fields(cls: type) -> dict[str, bool]:
    import msgspec

    info = msgspec.inspect.type_info(cls)
    assigned = getattr(cls, "__server_assigned__", ())
    return {f.encode_name: f.required or f.name in assigned for f in info.fields}


def by_tag(types: tuple[type[ws.Frame], ...]) -> dict[str, type[ws.Frame]]:
    return {ws.frame_tag(cls): cls for cls in types}


@pytest.mark.parametrize(
    ("direction", "tag", "spec"),
    [("server", t, s) for t, s in SERVER.items()]
    + [("server", t, EVENT_COMMON + s) for t, s in EVENTS.items()]
    + [("client", t, s) for t, s in CLIENT.items()],
)
def test_frame_matches_design(direction: str, tag: str, spec: list[str]) -> None:
    schema = load_schema(f"{direction}-frame.schema.json")
    types = ws.registry.server_frames() if direction == "server" else ws.registry.client_frames()
    cls = by_tag(types)[tag]
    want = expected_fields(spec)
    struct = struct_fields(cls)
    generated = schema_fields(schema, cls.__name__)
    assert generated == struct, "the generated schema disagrees with the Struct"
    assert {k: struct[k] for k in want if k in struct} == want
    assert set(struct) - set(want) == EXTRA.get(tag, set())
    assert tag_map(schema, schema["$defs"])[tag] == cls.__name__


@pytest.mark.parametrize(("name", "spec"), PARTS.items())
def test_nested_objects_match_design(name: str, spec: list[str]) -> None:
    schema = load_schema("flowwire.schema.json")
    assert schema_fields(schema, name) == expected_fields(spec)
    assert struct_fields(getattr(ws, name)) == expected_fields(spec)


def test_no_frame_beyond_the_design() -> None:
    assert set(by_tag(ws.registry.server_frames())) == set(SERVER) | set(EVENTS)
    assert set(by_tag(ws.registry.client_frames())) == set(CLIENT)
    assert {ws.frame_tag(c) for c in ws.registry.events()} == set(EVENTS)


def test_codes_match_design() -> None:
    assert [c.value for c in ws.ErrorCode] == DESIGN_ERROR_CODES
    assert sorted(int(c) for c in ws.CloseCode) == DESIGN_CLOSE_CODES
    bundle = load_schema("flowwire.schema.json")
    assert bundle["$defs"]["ErrorCode"]["enum"] == DESIGN_ERROR_CODES


def test_event_value_vocabularies_match_design() -> None:
    bundle = load_schema("flowwire.schema.json")["$defs"]
    assert bundle["NodeStatusValue"]["enum"] == [
        "pending",
        "running",
        "succeeded",
        "failed",
        "skipped",
        "cancelled",
    ]
    assert bundle["ExecutionStatusValue"]["enum"] == [
        "running",
        "paused",
        "completed",
        "failed",
        "stopped",
    ]
    assert bundle["LogLevel"]["enum"] == ["debug", "info", "warning", "error"]
    assert bundle["ControlAction"]["enum"] == ["pause", "resume", "stop"]


def test_welcome_server_is_a_string_and_protocol_version() -> None:
    assert ws.PROTOCOL_VERSION == "flowwire.v1"
    assert ws.SUBPROTOCOLS == ("flowwire.v1.json", "flowwire.v1.msgpack")
    bundle = load_schema("flowwire.schema.json")["$defs"]
    assert bundle["Welcome"]["properties"]["server"]["type"] == "string"
