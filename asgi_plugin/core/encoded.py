"""Events that arrive already encoded: fanned out as they came, decoded only if needed.

An event published through Redis reaches every process as its JSON frame, seq
included (see brokers/redis_frames.py). The hub sends those bytes to every JSON
subscriber as they are; the Struct is decoded once per process, and only when
a subscriber needs another codec (MessagePack) or an event held during a
subscription's catch-up needs its `execution_id`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

from wsproto_schema import Event

__all__ = ["Delivered", "EncodedEvent"]

_TS = re.compile(rb',"ts":(\d+)')


class Delivered(Protocol):
    """What a subscriber reads of a delivered event: an `Event`, or an `EncodedEvent`."""

    @property
    def topic(self) -> str: ...

    @property
    def seq(self) -> int: ...

    @property
    def execution_id(self) -> str: ...


class EncodedEvent:
    """A published event as its JSON frame (UTF-8, with `topic`, `seq` and `ts`).

    `decode` turns the frame into the Struct; it runs at most once, on first use
    of `event` or `execution_id`.
    """

    __slots__ = ("_decode", "_event", "_text", "frame", "seq", "topic")

    def __init__(self, topic: str, seq: int, frame: bytes, decode: Callable[[bytes], Event]):
        self.topic = topic
        self.seq = seq
        self.frame = frame
        self._decode = decode
        self._event: Event | None = None
        self._text: str | None = None

    @property
    def text(self) -> str:
        """The frame as a text frame's str (ASGI sends text frames as str)."""
        if self._text is None:
            self._text = self.frame.decode("utf-8")
        return self._text

    @property
    def event(self) -> Event:
        """The frame decoded (once)."""
        if self._event is None:
            self._event = self._decode(self.frame)
        return self._event

    @property
    def execution_id(self) -> str:
        return self.event.execution_id

    @property
    def ts(self) -> int:
        """The event's `ts`, read off the frame (where brokers/redis_frames.py says it is)
        without decoding it."""
        match = _TS.search(self.frame)
        return int(match.group(1)) if match is not None else self.event.ts

    def __repr__(self) -> str:
        return f"EncodedEvent(topic={self.topic!r}, seq={self.seq}, {len(self.frame)} bytes)"
