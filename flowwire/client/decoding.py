"""Server frames in, typed Structs out, leniently: nothing a newer server sends breaks a client.

Unknown frame types are skipped and unknown fields ignored (the codec's lenient
mode); `batch` frames come out as their frames, in order. A frame of a known type
that does not decode (a new enum value, a server bug) becomes `Undecodable`: the
client reports it, and if it carried a `seq` still counts its place in the stream,
so that one odd event is not taken for a gap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

import wsproto_schema as ws

__all__ = ["FrameDecoder", "Undecodable"]


@dataclass(frozen=True)
class Undecodable:
    """A server frame this client could not decode."""

    error: ws.ProtocolError
    type: str | None = None
    topic: str | None = None
    seq: int | None = None


class FrameDecoder:
    def __init__(self, codec: ws.Codec) -> None:
        self.codec = codec
        self._json = msgspec.json.Encoder()
        self._msgpack = msgspec.msgpack.Encoder()
        self.batches = 0
        """`batch` frames decoded so far."""
        self._generic: Any = msgspec.msgpack.Decoder() if codec.binary else msgspec.json.Decoder()

    def decode(self, data: ws.WireData) -> list[ws.Frame | Undecodable]:
        """The frames in one WebSocket message (several for a `batch`)."""
        try:
            frame = self.codec.decode_server_frame(data)
        except ws.ProtocolError as error:
            return self._salvage(data, error)
        if frame is None:
            return []
        if isinstance(frame, ws.Batch):
            self.batches += 1
            return list(frame.frames)
        return [frame]

    def _salvage(self, data: ws.WireData, error: ws.ProtocolError) -> list[ws.Frame | Undecodable]:
        """Decode what can be: a batch frame by frame, else what the bad frame says of itself."""
        try:
            raw = self._generic.decode(data)
        except msgspec.DecodeError:
            return [Undecodable(error)]
        if (
            isinstance(raw, dict)
            and raw.get("type") == "batch"
            and isinstance(raw.get("frames"), list)
        ):
            out: list[ws.Frame | Undecodable] = []
            for item in raw["frames"]:
                out += self.decode(self._encode(item))
            return out
        return [_undecodable(raw, error)]

    def _encode(self, item: Any) -> ws.WireData:
        if self.codec.binary:
            return self._msgpack.encode(item)
        return self._json.encode(item).decode()


def _undecodable(raw: Any, error: ws.ProtocolError) -> Undecodable:
    if not isinstance(raw, dict):
        return Undecodable(error)
    kind, topic, seq = raw.get("type"), raw.get("topic"), raw.get("seq")
    return Undecodable(
        error,
        kind if isinstance(kind, str) else None,
        topic if isinstance(topic, str) else None,
        seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
    )
