"""Codec: ns per frame to decode+validate typical commands and encode typical events.

flowwire (msgspec, JSON and MessagePack) against pydantic v2 models of the same
frames (a discriminated union, `TypeAdapter.validate_json` / `dump_json`) and
against `json` + `jsonschema` with flowwire's generated schema; "msgspec alone" is
msgspec's own decoder of the same union with nothing of flowwire's around it, the
floor flowwire's codec can reach. Repetitions are interleaved and the median kept.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

import msgspec
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

import wsproto_schema as ws
from bench.progress import Progress
from bench.server import ROOT

COMMANDS: dict[str, bytes] = {
    "subscribe": b'{"type":"subscribe","ref":"s1","topics":["workflow:etl","workflow:chat"],"since":{"workflow:etl":{"seq":41,"epoch":"3f9c1d0a7be24e61"}}}',
    "control": b'{"type":"control","ref":"c1","execution_id":"ex-42","action":"pause"}',
    "execute": json.dumps(
        {
            "type": "execute",
            "ref": "e1",
            "workflow": {
                "id": "etl",
                "name": "ETL",
                "nodes": [{"id": f"n{i}", "kind": "sleep", "params": {"ms": 10}} for i in range(6)],
                "edges": [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(5)],
            },
        },
        separators=(",", ":"),
    ).encode(),
}

COMMON = {
    "topic": "workflow:etl",
    "seq": 1041,
    "ts": 1_764_000_000_000,
    "workflow_id": "etl",
    "execution_id": "ex-42",
}
EVENTS: dict[str, ws.Event] = {
    "node.status": ws.NodeStatus(
        **COMMON,
        node_id="load",
        status="succeeded",
        attempt=1,
        duration_ms=412,
        output={"rows": 1200},
    ),
    "node.token": ws.NodeToken(**COMMON, node_id="llm", delta=" streaming", index=17),
    "execution.progress": ws.ExecutionProgress(
        **COMMON, completed=3, total=6, percent=50.0, running=["load", "index"], eta_ms=2400
    ),
}


# -- pydantic v2 models of the same frames ------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SincePosition(Strict):
    seq: int = Field(ge=0)
    epoch: str


class Subscribe(Strict):
    type: Literal["subscribe"]
    ref: str | None = None
    topics: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(min_length=1)
    since: dict[str, SincePosition] | None = None
    snapshot: bool = True
    batch: bool = False


class Control(Strict):
    type: Literal["control"]
    ref: str | None = None
    execution_id: Annotated[str, Field(min_length=1, max_length=256)]
    action: Literal["pause", "resume", "stop"]


class NodeSpec(Strict):
    id: Annotated[str, Field(min_length=1, max_length=256)]
    kind: Annotated[str, Field(min_length=1, max_length=256)]
    name: str | None = None
    params: dict[str, Any] | None = None


class EdgeSpec(Strict):
    source: Annotated[str, Field(min_length=1, max_length=256)]
    target: Annotated[str, Field(min_length=1, max_length=256)]
    id: str | None = None


class WorkflowSpec(Strict):
    id: Annotated[str, Field(min_length=1, max_length=256)]
    name: str | None = None
    nodes: list[NodeSpec]
    edges: list[EdgeSpec] = []


class Execute(Strict):
    type: Literal["execute"]
    ref: str | None = None
    workflow: WorkflowSpec
    inputs: dict[str, Any] | None = None
    subscribe: bool = True


Command = TypeAdapter(Annotated[Union[Subscribe, Control, Execute], Field(discriminator="type")])


class EventBase(BaseModel):
    model_config = ConfigDict(frozen=True)
    topic: str
    seq: int = Field(ge=1)
    ts: int = Field(ge=1)
    workflow_id: str
    execution_id: str


class NodeStatus(EventBase):
    type: Literal["node.status"] = "node.status"
    node_id: str
    status: Literal["pending", "running", "succeeded", "failed", "skipped", "cancelled"]
    attempt: int | None = None
    progress: float | None = None
    duration_ms: int | None = None
    output: Any = None


class NodeToken(EventBase):
    type: Literal["node.token"] = "node.token"
    node_id: str
    delta: str
    index: int | None = None


class ExecutionProgress(EventBase):
    type: Literal["execution.progress"] = "execution.progress"
    completed: int
    total: int
    percent: float
    running: list[str]
    eta_ms: int | None = None


PYDANTIC_EVENTS = {
    "node.status": NodeStatus,
    "node.token": NodeToken,
    "execution.progress": ExecutionProgress,
}


def _ns_per_call(function: Callable[[], Any], number: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(number):
        function()
    return (time.perf_counter_ns() - start) / number


def _calibrate(function: Callable[[], Any], seconds: float) -> int:
    """Calls that take about `seconds`: fast and slow codecs are timed for as long."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            function()
        if time.perf_counter() - start > seconds / 10:
            return max(1, int(number * seconds / (time.perf_counter() - start)))
        number *= 4


def measure(cases: dict[str, Callable[[], Any]], seconds: float, reps: int) -> dict[str, float]:
    numbers = {name: _calibrate(function, seconds) for name, function in cases.items()}
    samples: dict[str, list[float]] = {name: [] for name in cases}
    names = list(cases)
    for rep in range(reps):
        for name in names[rep % len(names) :] + names[: rep % len(names)]:
            samples[name].append(_ns_per_call(cases[name], numbers[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(*, seconds: float = 0.1, reps: int = 7) -> dict[str, Any]:
    """ns per frame (median of `reps` interleaved runs of about `seconds` each)."""
    from jsonschema import Draft202012Validator

    json_codec, msgpack_codec = ws.JsonCodec(), ws.MsgpackCodec()
    # The floor: msgspec's own decoder of the same union, with nothing of flowwire around it.
    floor_decoder = msgspec.json.Decoder(ws.ClientFrame)
    floor_encoder = msgspec.json.Encoder()
    schema = Draft202012Validator(
        json.loads((ROOT / "schemas" / "client-frame.schema.json").read_text())
    )
    results: dict[str, Any] = {"decode": {}, "encode": {}, "publish_check": {}}
    progress = Progress("codec", len(COMMANDS) + 2 * len(EVENTS))
    for name, data in COMMANDS.items():
        packed = msgspec.msgpack.encode(msgspec.json.decode(data))
        assert json_codec.decode_command(data) == msgpack_codec.decode_command(packed)
        Command.validate_json(data)
        schema.validate(json.loads(data))
        results["decode"][name] = measure(
            {
                "flowwire JSON": lambda data=data: json_codec.decode_command(data),
                "flowwire MessagePack": lambda packed=packed: msgpack_codec.decode_command(packed),
                "msgspec alone": lambda data=data: floor_decoder.decode(data),
                "pydantic v2": lambda data=data: Command.validate_json(data),
                "json + jsonschema": lambda data=data: schema.validate(json.loads(data)),
            },
            seconds,
            reps,
        )
        progress.step(f"decode {name}")
    for name, event in EVENTS.items():
        model = PYDANTIC_EVENTS[name](**msgspec.to_builtins(event))
        plain = msgspec.to_builtins(event)
        assert json.loads(model.model_dump_json(exclude_none=True)) == plain
        results["encode"][name] = measure(
            {
                "flowwire JSON": lambda event=event: json_codec.encode(event),
                "flowwire MessagePack": lambda event=event: msgpack_codec.encode(event),
                "msgspec alone": lambda event=event: floor_encoder.encode(event),
                "pydantic v2": lambda model=model: model.model_dump_json(exclude_none=True),
                "json": lambda plain=plain: json.dumps(plain, separators=(",", ":")),
            },
            seconds,
            reps,
        )
        progress.step(f"encode {name}")
    for name, event in EVENTS.items():
        # What `publish` spends on an event built in Python before it is stored, against
        # the one encode that any publish costs (the frame carried through Redis).
        unstamped = msgspec.structs.replace(event, topic="", seq=0, ts=0)
        json_codec.check_event(unstamped)
        results["publish_check"][name] = measure(
            {
                "flowwire check": lambda event=unstamped: json_codec.check_event(event),
                "one msgspec encode": lambda event=unstamped: floor_encoder.encode(event),
            },
            seconds,
            reps,
        )
        progress.step(f"check {name} to publish")
    return results
