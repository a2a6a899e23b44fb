"""A wire profile: a second wire shape for the canonical protocol, for frontends that exist.

A profile is its own msgspec Structs (what such a frontend sends and receives)
and pure translation functions: `to_wire` (a canonical frame → the profile's
frame, or None when the profile has no name for it: dropped), `from_wire` (a
profile command → the canonical command) and `to_canonical` (a profile frame
back to the canonical one, for what the profile carries). The server keeps
speaking the canonical protocol: `ProfileCodec` is a codec like JSON or
MessagePack, one per profile and app, so the hub encodes each published event
once per profile in use, never per connection.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime, timezone
from typing import Any, ClassVar, Union

import msgspec

from wsproto_schema.base import Frame
from wsproto_schema.codec import JsonCodec
from wsproto_schema.codes import CloseCode, ErrorCode
from wsproto_schema.errors import ProtocolError, error_from_msgspec
from wsproto_schema.registry import ClientFrame

__all__ = ["Profile", "ProfileCodec", "iso_ts", "ms_of_iso"]


_LAST_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999 UTC: the last instant an ISO year of four digits can name."""


def iso_ts(ts_ms: int) -> str:
    """Milliseconds since the epoch as an ISO 8601 string in UTC (`…T10:30:00.123000+00:00`);
    a time past the year 9999 (which a valid event may carry) is given as its last instant."""
    seconds, ms = divmod(min(max(ts_ms, 0), _LAST_MS), 1000)
    moment = datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=ms * 1000)
    return moment.isoformat(timespec="microseconds")


def ms_of_iso(text: str) -> int:
    """The milliseconds of an `iso_ts` string."""
    moment = datetime.fromisoformat(text)
    return int(moment.replace(microsecond=0).timestamp()) * 1000 + moment.microsecond // 1000


class Profile(ABC):
    """A wire shape: its frames, its translations, how its clients behave around them."""

    name: ClassVar[str]
    """Names the shape (`type-data`), not a document: what a mount asks for."""
    tag_field: ClassVar[str] = "type"
    server_frames: ClassVar[tuple[type[msgspec.Struct], ...]]
    """Every frame the profile sends (the generated schema's `ServerFrame`)."""
    client_frames: ClassVar[tuple[type[msgspec.Struct], ...]] = ()
    """Every JSON command its clients send (`ClientFrame`); a bare text `ping` is
    answered by the session in every profile."""
    reconnects_after_clean_close: ClassVar[bool] = True
    """False for clients that reconnect only after an unclean close (`wasClean` false): on
    shutdown their connections end without a close frame, so that they come back."""
    silence_timeout: ClassVar[bool] = True
    """Whether a client silent for heartbeat + timeout is closed (4002): only when the
    profile's clients send something regularly (their own ping)."""

    @abstractmethod
    def to_wire(self, frame: Frame) -> msgspec.Struct | None:
        """The profile's frame for a canonical one; None: the profile has no name for it
        (dropped, documented in docs/migrating.md)."""

    def from_wire(self, command: msgspec.Struct) -> ClientFrame:
        """The canonical command for one of the profile's commands."""
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"{self.name}: this profile takes no commands")

    @abstractmethod
    def to_canonical(self, frame: msgspec.Struct) -> Frame | None:
        """A profile frame back to the canonical frame, with the fields the profile carries
        (the property tests check canonical → profile → canonical keeps them)."""


class ProfileCodec(JsonCodec):
    """JSON text frames in a profile's shape: the codec of every connection that uses it.

    One instance per profile and app, so the hub's encode-once-per-codec fan-out is
    encode once per profile in use. `encode` returns "" for a frame the profile
    drops: the connection sends nothing for it.
    """

    subprotocol = ""

    def __init__(self, profile: Profile) -> None:
        super().__init__()
        self.profile = profile
        # Not "json": a hub that has a canonical JSON frame at hand must not send it here.
        self.name = f"profile:{profile.name}"
        self._wire_encoder = msgspec.json.Encoder()
        commands = profile.client_frames
        self._commands: Any = msgspec.json.Decoder(Union[commands]) if commands else None

    def encode(self, frame: Frame) -> str:
        wire = self.profile.to_wire(frame)
        return "" if wire is None else self._wire_encoder.encode(wire).decode()

    def decode_command(self, data: Any, *, max_bytes: int | None = None) -> ClientFrame:
        if max_bytes is not None and len(data) > max_bytes:
            raise ProtocolError(
                ErrorCode.TOO_LARGE, "frame too large", close_code=CloseCode.MESSAGE_TOO_BIG
            )
        if self._commands is None:
            raise ProtocolError(
                ErrorCode.UNKNOWN_TYPE, f"the {self.profile.name} profile takes no commands"
            )
        try:
            command = self._commands.decode(data)
        except msgspec.DecodeError as exc:
            keys: list[str] = []
            try:
                raw = msgspec.json.decode(data)
                keys = list(raw) if isinstance(raw, dict) else []
            except msgspec.DecodeError:
                pass
            raise error_from_msgspec(exc, tag_field=self.profile.tag_field, keys=keys) from None
        return self.profile.from_wire(command)
