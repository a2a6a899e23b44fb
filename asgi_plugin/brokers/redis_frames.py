"""The frame carried through Redis: an event encoded once, at publish, with its seq.

The publishing process encodes the event in JSON before Redis gives it a seq;
the APPEND script splices `"seq":N,` in at the offset given here, so the
Stream and the channel carry the frame exactly as `JsonCodec.encode` would
write it. Every process then fans those bytes out without decoding them
(`EncodedEvent`, `Hub.deliver_encoded`).

Event fields are encoded in declaration order, after the `type` tag, and every
event begins with `topic`, `seq`, `ts` (`wsproto_schema.Event`): the seq goes
just before `"ts":`, which follows the topic's string. A string cannot contain
`,"ts":` unescaped, so its first occurrence is the top-level field.
"""

from __future__ import annotations

from wsproto_schema import Event

__all__ = ["LEADING_FIELDS", "carried", "seq_offset"]

LEADING_FIELDS = ("topic", "seq", "ts")

_TS = b',"ts":'
_checked: set[type[Event]] = set()


def seq_offset(payload: bytes, kind: type[Event]) -> int:
    """Where `"seq":N,` goes in `payload`, the JSON of a stamped event without its seq."""
    if kind not in _checked:
        if kind.__struct_fields__[:3] != LEADING_FIELDS:
            raise TypeError(
                f"{kind.__name__} must begin with the fields {LEADING_FIELDS} (derive it "
                "from wsproto_schema.Event without redefining them)"
            )
        _checked.add(kind)
    return payload.index(_TS) + 1


def carried(frame: bytes, seq: int) -> bool:
    """Whether a frame from a channel or Stream carries its seq where the APPEND script
    puts it (a process of an earlier version publishes events without it)."""
    return frame.endswith(b',"seq":%d' % seq, 0, frame.find(_TS))
