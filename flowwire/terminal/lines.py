"""One line per delivery: compact for people, NDJSON (schema-valid frames) for programs."""

from __future__ import annotations

import time

import msgspec

import wsproto_schema as ws
from flowwire.client import Delivery, Reset

__all__ = ["human_line", "json_line"]

_JSON = ws.JsonCodec()


def json_line(item: Delivery) -> str:
    """The delivery as one server frame in JSON: an event or snapshot as it came (fields
    this client does not know left out), a reset as the subscribe `reply` that caused it."""
    if isinstance(item, Reset):
        position = {"epoch": item.epoch, "seq": item.seq, "recovered": False}
        return _JSON.encode(ws.Reply(data={"topics": {item.topic: position}}))
    return _JSON.encode(item)


def _clock(ts: int) -> str:
    return time.strftime("%H:%M:%S", time.localtime(ts / 1000)) + f".{ts % 1000:03d}"


def _detail(event: ws.Event) -> str:
    if isinstance(event, ws.NodeStatus):
        extra = f" #{event.attempt}" if event.attempt else ""
        if event.progress is not None and event.status == "running":
            extra += f" {event.progress:.0%}"
        if event.error is not None:
            extra += f": {event.error.message}"
        return f"{event.node_id} {event.status}{extra}"
    if isinstance(event, ws.NodeToken):
        return f"{event.node_id} {event.delta!r}"
    if isinstance(event, ws.ExecutionLog):
        where = f"{event.node_id}: " if event.node_id else ""
        return f"[{event.level}] {where}{event.message}"
    if isinstance(event, ws.ExecutionProgress):
        eta = f" eta {event.eta_ms / 1000:.1f}s" if event.eta_ms is not None else ""
        return f"{event.completed}/{event.total} {event.percent:g}%{eta}"
    if isinstance(event, ws.ExecutionStarted):
        return f"{event.name or event.workflow_id}: {len(event.nodes)} nodes"
    if isinstance(event, ws.ExecutionCompleted):
        s = event.summary
        return f"in {event.duration_ms / 1000:.1f}s: {s.succeeded}/{s.total} succeeded"
    if isinstance(event, ws.ExecutionFailed):
        code = f" ({event.error.code})" if event.error.code else ""
        return f"{event.error.message}{code}"
    if isinstance(event, (ws.ExecutionPaused, ws.ExecutionResumed, ws.ExecutionStopped)):
        return " ".join(p for p in (event.reason, f"by {event.by}" if event.by else None) if p)
    if isinstance(event, ws.EdgeFlow):
        return f"{event.source} -> {event.target}"
    if isinstance(event, ws.BranchStarted):
        return ", ".join(event.node_ids)
    if isinstance(event, ws.InputRequested):
        return f"{event.node_id} asks: {event.prompt}"
    if isinstance(event, ws.NodeUsage):
        cost = f" cost {event.cost:g}" if event.cost is not None else ""
        return f"{event.node_id or '-'} {event.total_tokens} tokens{cost}"
    fields = msgspec.structs.asdict(event)
    for name in ("topic", "seq", "ts", "workflow_id", "execution_id"):
        fields.pop(name, None)
    return " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)


def human_line(item: Delivery) -> str:
    """`12:00:01.234 #41 node.status ex-7f3a load running #1`."""
    if isinstance(item, Reset):
        return f"-- {item.topic} from #{item.seq}: state from snapshots (no replay)"
    if isinstance(item, ws.ExecutionSnapshot):
        p = item.progress
        return (
            f"{_clock(item.ts)} snapshot {item.execution_id} {item.status} "
            f"{p.completed}/{p.total} (up to #{item.last_seq})"
        )
    tag = ws.frame_tag(type(item))
    return f"{_clock(item.ts)} #{item.seq} {tag} {item.execution_id} {_detail(item)}".rstrip()
