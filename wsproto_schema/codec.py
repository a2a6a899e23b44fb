"""Codecs: frames to wire data and back, for JSON (text frames) and MessagePack (binary).

Decoders and encoders are built once per codec and reused; the decoders of
server frames are rebuilt only when an application registers a new event type.
"""

from __future__ import annotations

from typing import Any, Protocol, Union

import msgspec

from .base import Event, Frame
from .bounded import screen, screens
from .codes import SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, CloseCode, ErrorCode
from .control import Batch
from .depth import MAX_DEPTH, json_depth, msgpack_depth, too_deep
from .errors import ProtocolError, error_from_msgspec
from .integers import check_integers, out_of_range, refuse_out_of_range
from .registry import ClientFrame, FrameRegistry, registry
from .strict import first_unknown_field

__all__ = [
    "Codec",
    "JsonCodec",
    "MsgpackCodec",
    "WireData",
    "missing_server_fields",
]

WireData = Union[str, bytes]


class _Decoder(Protocol):
    def decode(self, data: Any, /) -> Any: ...


def _union(types: tuple[type[Frame], ...]) -> Any:
    return Union[types]


def missing_server_fields(frame: Frame) -> list[str]:
    """The server-assigned fields (`topic`, `seq`, `ts`) an event arrived without."""
    if not isinstance(frame, Event):
        return []
    # Their defaults ("", 0) lie outside the values the wire allows, so falsy means absent.
    return [name for name in type(frame).__server_assigned__ if not getattr(frame, name)]


class Codec:
    """One wire format. Subclasses supply the msgspec encoder and decoder types."""

    name: str
    subprotocol: str
    binary: bool

    def __init__(self, frames: FrameRegistry = registry) -> None:
        self.registry = frames
        self._commands: _Decoder = self._decoder(ClientFrame)
        self._generic: _Decoder = self._decoder(Any)
        self._version = -1
        self._events: _Decoder
        self._events_json: _Decoder  # checks events built in Python, whatever the codec
        self._event_lists: _Decoder
        self._server_frames: _Decoder
        self._refresh()

    def _decoder(self, type_: Any) -> _Decoder:
        raise NotImplementedError

    def encode(self, frame: Frame) -> WireData:
        raise NotImplementedError

    def _refresh(self) -> None:
        if self._version != self.registry.version:
            self._version = self.registry.version
            self._events = self._decoder(_union(self.registry.events()))
            self._events_json = (
                self._events
                if not self.binary
                else msgspec.json.Decoder(_union(self.registry.events()))
            )
            self._event_lists = self._decoder(list[_union(self.registry.events())])  # type: ignore[misc]
            self._server_frames = self._decoder(_union(self.registry.server_frames()))

    def _accept(self, data: WireData) -> WireData:
        """Check the frame type fits the format; return data the decoders accept."""
        return data

    def _depth(self, data: WireData) -> int:
        """How deeply the frame nests (see depth.py)."""
        raise NotImplementedError

    def _decode(
        self, decoder: _Decoder, data: WireData, max_bytes: int | None, *, untrusted: bool = False
    ) -> Any:
        if max_bytes is not None and _too_large(data, max_bytes):
            raise ProtocolError(
                ErrorCode.TOO_LARGE,
                f"$: frame is larger than {max_bytes} bytes",
                path="$",
                close_code=CloseCode.MESSAGE_TOO_BIG,
            )
        data = self._accept(data)
        if untrusted and self._depth(data) > MAX_DEPTH:
            raise too_deep()
        try:
            return decoder.decode(data)
        except RecursionError:  # MAX_DEPTH is far below the stack's limit: a safety net
            raise too_deep() from None
        except msgspec.DecodeError as exc:
            raw = self._object(data)
            error = error_from_msgspec(exc, keys=[str(k) for k in raw])
            ref = raw.get("ref")
            error.ref = ref if isinstance(ref, str) else None
            raise error from None

    def _object(self, data: WireData) -> dict[Any, Any]:
        """The frame as a plain object, if it is one: only to explain a decode error."""
        try:
            decoded = self._generic.decode(data)
        except msgspec.DecodeError:
            return {}
        return decoded if isinstance(decoded, dict) else {}

    def decode_command(self, data: WireData, *, max_bytes: int | None = None) -> ClientFrame:
        """Decode a client frame strictly, raising `ProtocolError` on any deviation."""
        if max_bytes is None or len(data) <= max_bytes >> 2 or not _too_large(data, max_bytes):
            # The usual command: msgspec's decode is the whole check, unless the frame
            # holds a free JSON value or an unbounded integer (bounded.py). Anything
            # else, and any refusal, takes the checked path below, which explains it.
            try:
                command: ClientFrame = self._commands.decode(data)
            except (msgspec.DecodeError, RecursionError, TypeError):
                pass
            else:
                try:
                    clear = screens[type(command)]
                except KeyError:
                    clear = screen(type(command))
                if clear is None or clear(command):
                    return command
                if self._depth(data) <= MAX_DEPTH:
                    return self._integers_checked(data, command)
        frame: ClientFrame = self._decode(self._commands, data, max_bytes, untrusted=True)
        return self._integers_checked(data, frame)

    def _integers_checked(self, data: WireData, command: ClientFrame) -> ClientFrame:
        """The command, unless it holds an integer beyond 64 bits (the error names its ref)."""
        try:
            self._check_integers(data, command)
        except ProtocolError as error:
            error.ref = command.ref
            raise
        return command

    def _check_integers(self, data: WireData, frame: Any) -> None:
        """Integers beyond 64 bits are refused with their path. MessagePack cannot carry
        them at all; JSON can (see JsonCodec)."""

    def decode_event(
        self, data: WireData, *, max_bytes: int | None = None, check_unknown: bool = True
    ) -> Event:
        """Decode an event to publish: strict (unknown fields too, unless the data is
        trusted: `check_unknown=False`), but `topic`, `seq` and `ts` may be absent:
        the broker fills them in."""
        self._refresh()
        event: Event = self._decode(self._events, data, max_bytes, untrusted=True)
        self._check_integers(data, event)
        if check_unknown:
            self._reject_unknown_fields(self._generic.decode(data), event)
        return event

    def decode_events(self, data: WireData, *, max_bytes: int | None = None) -> list[Event]:
        """Decode an array of events to publish (`$[2].status` names a bad field)."""
        self._refresh()
        events: list[Event] = self._decode(self._event_lists, data, max_bytes, untrusted=True)
        self._check_integers(data, events)
        raw = self._generic.decode(data)
        for index, event in enumerate(events):
            self._reject_unknown_fields(raw[index], event, f"$[{index}]")
        return events

    def check_event(self, event: Event) -> None:
        """Raise `ProtocolError` unless a Struct built in Python is a valid, registered event
        that every codec can carry (integers within 64 bits)."""
        self._refresh()
        data = _JSON_CHECK.encode(event)
        try:
            self._events_json.decode(data)
        except (msgspec.DecodeError, RecursionError):
            self._decode(self._events, self._generic_encode(event), None)  # explains it
        try:
            _MSGPACK_CHECK.encode(event)  # cheaper than a scan of the JSON for long numbers
        except OverflowError:
            raise refuse_out_of_range(out_of_range(msgspec.to_builtins(event)) or "$") from None

    @staticmethod
    def _reject_unknown_fields(raw: Any, frame: Frame, path: str = "$") -> None:
        if unknown := first_unknown_field(raw, type(frame), path):
            raise ProtocolError(ErrorCode.INVALID_FRAME, f"{unknown}: unknown field", path=unknown)

    def decode_server_frame(self, data: WireData, *, strict: bool = False) -> Frame | None:
        """Decode a server frame as a client does.

        Lenient by default: unknown fields are ignored and a frame of an unknown
        type gives None (forward compatibility). With `strict` (contract checks),
        an unknown type, an unknown field or an event without its server-assigned
        fields raises `ProtocolError`, as the generated JSON Schema would reject it.
        """
        self._refresh()
        try:
            frame: Frame = self._decode(self._server_frames, data, None)
        except ProtocolError as exc:
            if exc.code is ErrorCode.UNKNOWN_TYPE and not strict:
                return None
            raise
        if isinstance(frame, Batch):
            frame = self._unbatch(frame, strict)
        if strict:
            if missing := missing_server_fields(frame):
                path = f"$.{missing[0]}"
                raise ProtocolError(
                    ErrorCode.INVALID_FRAME, f"{path}: required field is missing", path=path
                )
            self._reject_unknown_fields(self._generic.decode(data), frame)
        return frame

    def _unbatch(self, batch: Batch, strict: bool) -> Batch:
        """A batch with its frames decoded like frames that came alone."""
        frames: list[Frame] = []
        for index, item in enumerate(batch.frames):
            try:
                frame = self.decode_server_frame(self._generic_encode(item), strict=strict)
            except ProtocolError as error:
                path = f"$.frames[{index}]" + (error.path or "$")[1:]
                detail = error.message.partition(": ")[2] or error.message
                raise ProtocolError(error.code, f"{path}: {detail}", path=path) from None
            if frame is not None:
                frames.append(frame)
        return msgspec.structs.replace(batch, frames=frames)

    def _generic_encode(self, item: Any) -> WireData:
        raise NotImplementedError


_HEADER_MARKS = bytes(33 if 0x80 <= b <= 0x9F or 0xDC <= b <= 0xDF else 32 for b in range(256))
"""MessagePack's array and map header bytes to "!", every other byte to " "."""
_JSON_CHECK = msgspec.json.Encoder()
"""Encodes events built in Python only to check them (see `Codec.check_event`)."""
_MSGPACK_CHECK = msgspec.msgpack.Encoder()
"""Encodes events only to find integers MessagePack cannot carry."""


def _too_large(data: WireData, max_bytes: int) -> bool:
    if isinstance(data, str):
        # A str of n characters encodes to n..4n UTF-8 bytes: encode only when unsure.
        if len(data) <= max_bytes // 4:
            return False
        return len(data) > max_bytes or len(data.encode("utf-8", "surrogatepass")) > max_bytes
    return len(data) > max_bytes


class JsonCodec(Codec):
    """JSON in text frames: the `flowwire.v1.json` subprotocol, and the default."""

    name = "json"
    subprotocol = SUBPROTOCOL_JSON
    binary = False

    def __init__(self, frames: FrameRegistry = registry) -> None:
        self._encoder = msgspec.json.Encoder()
        super().__init__(frames)

    def _decoder(self, type_: Any) -> msgspec.json.Decoder[Any]:
        return msgspec.json.Decoder(type_)

    def _depth(self, data: WireData) -> int:
        return json_depth(data)

    def encode(self, frame: Frame) -> str:
        return self._encoder.encode(frame).decode("utf-8")

    def encode_bytes(self, frame: Frame) -> bytes:
        return self._encoder.encode(frame)

    def _generic_encode(self, item: Any) -> bytes:
        return self._encoder.encode(item)

    def _check_integers(self, data: WireData, frame: Any) -> None:
        check_integers(data, lambda: self._generic.decode(data))


class MsgpackCodec(Codec):
    """MessagePack in binary frames: the `flowwire.v1.msgpack` subprotocol."""

    name = "msgpack"
    subprotocol = SUBPROTOCOL_MSGPACK
    binary = True

    def __init__(self, frames: FrameRegistry = registry) -> None:
        self._encoder = msgspec.msgpack.Encoder()
        super().__init__(frames)

    def _decoder(self, type_: Any) -> msgspec.msgpack.Decoder[Any]:
        return msgspec.msgpack.Decoder(type_)

    def _depth(self, data: WireData) -> int:
        if not isinstance(data, bytes):
            return 0
        # Every level opens with an array or map header: when the bytes that could be one
        # (string payload too) are few, the frame cannot nest deeper; else walk it.
        if data.translate(_HEADER_MARKS).count(b"!") <= MAX_DEPTH:
            return 0
        return msgpack_depth(data)

    def _accept(self, data: WireData) -> WireData:
        if isinstance(data, str):
            raise ProtocolError(
                ErrorCode.INVALID_FRAME,
                f"$: {SUBPROTOCOL_MSGPACK} takes binary frames, got a text frame",
                path="$",
            )
        return data

    def encode(self, frame: Frame) -> bytes:
        return self._encoder.encode(frame)

    def _generic_encode(self, item: Any) -> bytes:
        return self._encoder.encode(item)
