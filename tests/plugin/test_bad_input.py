"""Bad input: each row gets the right error code or close code, and another connected client
keeps receiving every event throughout."""

from __future__ import annotations

import json
import random
from typing import Any

import msgspec
import pytest

from asgi_plugin import FlowwireApp
from tests.plugin.clients import AsgiClient, Closed, collect
from tests.plugin.conftest import status

MSGPACK = ["flowwire.v1.msgpack"]

# (name, subprotocols, data sent, expected: ("error", code, path) or ("close", code))
ROWS: list[tuple[str, list[str], Any, tuple[Any, ...]]] = [
    ("invalid json", [], "{bad json", ("error", "invalid_json", None)),
    ("invalid utf-8", [], b"\xff\xfe{", ("error", "invalid_json", None)),
    ("json that is not an object", [], "[1, 2, 3]", ("error", "invalid_frame", "$")),
    ("a json string", [], '"subscribe"', ("error", "invalid_frame", "$")),
    ("unknown type", [], '{"type": "jump"}', ("error", "unknown_type", "$.type")),
    ("missing field", [], '{"type": "subscribe"}', ("error", "invalid_frame", "$.topics")),
    (
        "mistyped field",
        [],
        '{"type": "subscribe", "topics": "a"}',
        ("error", "invalid_frame", "$.topics"),
    ),
    (
        "mistyped item",
        [],
        '{"type": "subscribe", "topics": ["a", 2]}',
        ("error", "invalid_frame", "$.topics[1]"),
    ),
    (
        "unknown field on a command",
        [],
        '{"type": "subscribe", "topics": ["a"], "tpoics": 1}',
        ("error", "invalid_frame", "$.tpoics"),
    ),
    (
        "event instead of type",
        [],
        '{"event": "subscribe", "topics": ["a"]}',
        ("error", "invalid_frame", "$.type"),
    ),
    ("cmd instead of type", [], '{"cmd": "start_session"}', ("error", "invalid_frame", "$.type")),
    (
        "bad enum value",
        [],
        '{"type": "control", "execution_id": "e", "action": "jump"}',
        ("error", "invalid_frame", "$.action"),
    ),
    (
        "nested unknown field",
        [],
        '{"type": "execute", "workflow": {"id": "w", "nodes": [], "node": 1}}',
        ("error", "invalid_frame", "$.workflow.node"),
    ),
    ("oversize", [], json.dumps({"type": "subscribe", "topics": ["x" * 2000]}), ("close", 1009)),
    ("invalid msgpack", MSGPACK, b"\xc1\xc1", ("error", "invalid_json", None)),
    (
        "msgpack that is not a map",
        MSGPACK,
        msgspec.msgpack.encode([1, 2]),
        ("error", "invalid_frame", "$"),
    ),
    (
        "msgpack missing field",
        MSGPACK,
        msgspec.msgpack.encode({"type": "unsubscribe"}),
        ("error", "invalid_frame", "$.topics"),
    ),
    ("text frame on msgpack", MSGPACK, '{"type": "ping"}', ("error", "invalid_frame", "$")),
]


async def watcher(app: FlowwireApp) -> AsgiClient:
    client = AsgiClient(app)
    await client.connect()
    await client.request({"type": "subscribe", "ref": "w", "topics": ["workflow:w"]})
    return client


@pytest.mark.parametrize(
    ("subprotocols", "data", "expected"), [r[1:] for r in ROWS], ids=[r[0] for r in ROWS]
)
async def test_bad_input(subprotocols: list[str], data: Any, expected: tuple[Any, ...]) -> None:
    app = FlowwireApp(max_frame_bytes=1024)
    other = await watcher(app)
    client = AsgiClient(app, subprotocols=subprotocols)
    await client.connect()
    seq = await app.publish(status(0))
    await client.send(data)
    if expected[0] == "error":
        frame = await client.recv()
        assert frame["type"] == "error"
        assert (frame["code"], frame.get("path")) == expected[1:]
        assert frame["message"]
        answer = await client.request({"type": "subscribe", "ref": "after", "topics": ["t"]})
        assert answer["type"] == "reply", "the connection stays open after a bad frame"
    else:
        closed = await client.expect_close()
        assert closed.code == expected[1]
    seq2 = await app.publish(status(1))
    assert [f["seq"] for f in await collect(other, 2)] == [seq, seq2]


async def test_invalid_frame_echoes_its_ref() -> None:
    client = AsgiClient(FlowwireApp())
    await client.connect()
    await client.send('{"type": "subscribe", "ref": "s7", "topics": [3]}')
    frame = await client.recv()
    assert (frame["ref"], frame["message"]) == ("s7", "$.topics[0]: expected str, got int")


async def test_repeated_bad_frames_close_4000() -> None:
    app = FlowwireApp(max_invalid_frames=5)
    other = await watcher(app)
    client = AsgiClient(app)
    await client.connect()
    for _ in range(5):
        await client.send("nope")
    closed = await client.expect_close()
    assert closed.code == 4000
    assert [f["code"] for f in closed.frames] == ["invalid_json"] * 5  # type: ignore[attr-defined]
    await app.publish(status(1))
    assert (await other.recv())["seq"] == 1


def random_frame(rng: random.Random) -> str | bytes:
    """Junk of every kind: bytes, JSON values, and valid commands with one thing broken."""
    valid: list[dict[str, Any]] = [
        {"type": "subscribe", "ref": "r", "topics": ["workflow:w"]},
        {"type": "unsubscribe", "topics": ["a"]},
        {"type": "ping", "ts": 1},
        {"type": "pong", "ts": 1},
        {"type": "control", "execution_id": "e", "action": "pause"},
        {"type": "input", "execution_id": "e", "node_id": "n", "value": None},
        {"type": "auth", "token": "t"},
    ]
    kind = rng.randrange(7)
    if kind == 0:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind == 1:
        return "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(1, 40)))
    if kind == 2:
        return json.dumps(rng.choice([None, 1, 2.5, "x", [1], {"a": 1}, True]))
    frame = dict(rng.choice(valid))
    if kind == 3 and len(frame) > 1:
        del frame[rng.choice([k for k in frame if k != "ref"])]
    elif kind == 4:
        frame[rng.choice(list(frame))] = rng.choice([None, 1, "x", [1], {"a": 1}, -5])
    elif kind == 5:
        frame[rng.choice(["extra", "Type", "topic", "refs"])] = 1
    else:
        frame["type"] = rng.choice(["Subscribe", "sub", "", "execution.started", "welcome"])
    return json.dumps(frame)


@pytest.mark.slow
async def test_one_thousand_random_frames() -> None:
    rng = random.Random(20261124)
    app = FlowwireApp(
        max_invalid_frames=25,
        # No pings: on a loaded machine the run outlasts the default 25 s interval, and
        # a ping among the watcher's events is not what this test counts.
        heartbeat_ms=3_600_000,
        commands_per_second=1e6,
        command_burst=10**6,
        frames_per_second=1e6,
        frame_burst=10**6,
    )
    other = await watcher(app)
    client = AsgiClient(app)
    await client.connect()
    published: list[int] = []
    outcomes: dict[str, int] = {}
    for i in range(1000):
        data = random_frame(rng)
        await client.send(data)
        published.append(await app.publish(status(i)))
        try:
            while not await client.nothing(0.002):
                frame = await client.recv()
                assert frame["type"] in ("error", "reply", "pong", "node.status"), frame
                if frame["type"] == "error":
                    assert frame["code"] in {
                        "invalid_json",
                        "invalid_frame",
                        "unknown_type",
                        "unauthorized",
                        "not_found",
                        "forbidden",
                    }
                key = frame.get("code", frame["type"])
                outcomes[key] = outcomes.get(key, 0) + 1
        except Closed as closed:
            assert closed.code == 4000, closed
            outcomes["closed 4000"] = outcomes.get("closed 4000", 0) + 1
            await client.disconnect()
            client = AsgiClient(app)
            await client.connect()
    got = [f["seq"] for f in await collect(other, len(published))]
    assert got == published, "the other client received every event, in order"
    assert outcomes.get("invalid_json", 0) > 100 and outcomes.get("invalid_frame", 0) > 100
    assert outcomes.get("unknown_type", 0) > 50
    assert len(app.connections) == 2
