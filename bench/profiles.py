"""Wire profiles: what a profile adds to fan-out. In process, on the hub itself: N
subscribers of one topic, all canonical JSON, all on one profile, or half and half;
encodes per published event (one per codec in use, a profile being one codec) and
hub CPU per delivery. Also ns to encode one `node.status` per profile."""

from __future__ import annotations

import statistics
import time
from typing import Any

import wsproto_schema as ws
from asgi_plugin.core.hub import Hub
from wsproto_schema.profiles import PROFILES, ProfileCodec


class _Counting:
    """A codec that counts its encodes (delegating to the real one)."""

    def __init__(self, codec: ws.Codec) -> None:
        self.codec = codec
        self.encodes = 0

    def encode(self, frame: ws.Frame) -> ws.WireData:
        self.encodes += 1
        return self.codec.encode(frame)


class _Subscriber:
    __slots__ = ("codec", "received")

    def __init__(self, codec: Any) -> None:
        self.codec = codec
        self.received = 0

    def deliver(self, event: ws.Event, data: ws.WireData) -> bool:
        self.received += 1
        return True


def _event(seq: int) -> ws.NodeStatus:
    return ws.NodeStatus(
        topic="workflow:etl",
        seq=seq,
        ts=1_764_000_000_000 + seq,
        workflow_id="etl",
        execution_id="ex-42",
        node_id=f"n{seq % 8}",
        status="running",
        progress=0.5,
    )


def _fanout(codecs: list[Any], clients: int, events: int, reps: int) -> dict[str, float]:
    samples: list[float] = []
    encodes = 0
    for _ in range(reps):
        counting = [_Counting(codec) for codec in codecs]
        hub: Hub[Any] = Hub(on_overflow=lambda _s: None)
        subscribers = [_Subscriber(counting[i % len(counting)]) for i in range(clients)]
        for subscriber in subscribers:
            hub.subscribe(subscriber, ["workflow:etl"])
        batch = [_event(seq) for seq in range(1, events + 1)]
        start = time.process_time()
        for event in batch:
            hub.deliver(event)
        samples.append((time.process_time() - start) / (events * clients) * 1e6)
        encodes = sum(c.encodes for c in counting)
    return {"us_per_delivery": statistics.median(samples), "encodes_per_event": encodes / events}


def _encode_ns(codec: ws.Codec, reps: int) -> float:
    event = _event(1)
    rounds = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        for _ in range(2_000):
            codec.encode(event)
        rounds.append((time.perf_counter_ns() - start) / 2_000)
    return statistics.median(rounds)


async def run(*, clients: int = 1_000, events: int = 200, reps: int = 5) -> dict[str, Any]:
    json_codec = ws.JsonCodec()
    profile = ProfileCodec(PROFILES["type-data"])
    cases = {
        "canonical JSON": [json_codec],
        "type-data profile": [profile],
        "half JSON, half type-data": [json_codec, profile],
    }
    fanout = {name: _fanout(codecs, clients, events, reps) for name, codecs in cases.items()}
    encode = {"canonical JSON": _encode_ns(json_codec, reps)}
    for name, each in sorted(PROFILES.items()):
        encode[name] = _encode_ns(ProfileCodec(each), reps)
    return {"clients": clients, "events": events, "fanout": fanout, "encode_ns": encode}
