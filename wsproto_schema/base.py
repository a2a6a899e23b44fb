"""The Struct bases every frame derives from.

Server frames are lenient (unknown fields are ignored) so that old clients keep
decoding frames from newer servers; commands and their parts are strict, so a
misspelt field is an error the sender sees instead of a silently dropped value.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

__all__ = [
    "AppEvent",
    "Command",
    "Event",
    "Frame",
    "JsonValue",
    "Part",
    "StrictPart",
    "Timestamp",
]

JsonValue = Any
"""Any JSON value: object, array, string, number, boolean or null."""

Timestamp = Annotated[int, msgspec.Meta(ge=0, description="Milliseconds since the Unix epoch.")]


class Frame(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type"):
    """Every frame on the wire: an object tagged by `type`."""


class Part(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A nested object inside a server frame."""


class StrictPart(Part, frozen=True, forbid_unknown_fields=True):
    """A nested object inside a command."""


class Command(Frame, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A client → server frame. Its `reply` or `error` echoes `ref`."""

    ref: Annotated[
        str | None,
        msgspec.Meta(description="Chosen by the client; echoed by the reply or error."),
    ] = None


class Event(Frame, frozen=True, kw_only=True):
    """A stream event: published on a topic, numbered by `seq` per topic.

    Subclass it (with a `tag`) and pass the class to `register_event` to add an
    application event type. `topic`, `seq` and `ts` are filled in when the event
    is published, so a publisher builds an event without them; on the wire they
    are always present.
    """

    __server_assigned__: ClassVar[tuple[str, ...]] = ("topic", "seq", "ts")

    topic: Annotated[
        str,
        msgspec.Meta(
            min_length=1,
            description="The topic of the event; `workflow:{workflow_id}` by default.",
        ),
    ] = ""
    seq: Annotated[
        int,
        msgspec.Meta(ge=1, description="Position in the topic: from 1, gap-free, per topic."),
    ] = 0
    ts: Annotated[int, msgspec.Meta(ge=1, description="Milliseconds since the Unix epoch.")] = 0
    workflow_id: str
    execution_id: str


class AppEvent(Event, frozen=True, kw_only=True):
    """An application event not tied to a workflow run (a chat session's `session.update`, a
    notification): `workflow_id` and `execution_id` are optional, and the publisher names
    the topic. Subclass it with a `tag` and `register_event` it, as for `Event`."""

    workflow_id: str = ""
    execution_id: str = ""
