"""The frame unions, declared once, and the registry that adds application events to them."""

from __future__ import annotations

import threading
from typing import TypeVar, Union, get_args

from .base import Command, Event, Frame
from .commands import (
    Auth,
    Control,
    Execute,
    Input,
    ListExecutions,
    PingCommand,
    PongCommand,
    Subscribe,
    Unsubscribe,
)
from .control import Batch, ErrorFrame, Goaway, Ping, Pong, Reply, Welcome
from .engines import EngineClaim, EngineCommand, EnginePublish, EngineResult, EngineServe
from .events import (
    BranchStarted,
    EdgeFlow,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionLog,
    ExecutionPaused,
    ExecutionProgress,
    ExecutionResumed,
    ExecutionSnapshot,
    ExecutionStarted,
    ExecutionStopped,
    InputReceived,
    InputRequested,
    NodeStatus,
    NodeToken,
    NodeUsage,
)

__all__ = [
    "ClientFrame",
    "ControlFrame",
    "EngineFrame",
    "FrameRegistry",
    "ServerFrame",
    "StreamEvent",
    "frame_tag",
    "register_event",
    "registry",
]

ControlFrame = Union[
    Welcome, Reply, ErrorFrame, Ping, Pong, Goaway, ExecutionSnapshot, Batch, EngineCommand
]
StreamEvent = Union[
    ExecutionStarted,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStopped,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionProgress,
    ExecutionLog,
    NodeStatus,
    NodeToken,
    NodeUsage,
    EdgeFlow,
    BranchStarted,
    InputRequested,
    InputReceived,
]
ServerFrame = Union[ControlFrame, StreamEvent]
ClientFrame = Union[
    Auth,
    Subscribe,
    Unsubscribe,
    Execute,
    Control,
    Input,
    ListExecutions,
    PingCommand,
    PongCommand,
    EngineServe,
    EngineClaim,
    EnginePublish,
    EngineResult,
]
EngineFrame = Union[EngineServe, EngineClaim, EnginePublish, EngineResult]
"""What only an engine connection sends (a user's connection is refused them)."""

EventT = TypeVar("EventT", bound=type[Event])


def frame_tag(cls: type[Frame]) -> str:
    """The wire `type` of a frame class."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f'{cls.__name__} has no string tag; declare it with `tag="…"`')
    return tag


class FrameRegistry:
    """The frame types a process speaks: the built-in ones plus registered app events.

    Codecs and codegen read it; `version` changes on every registration so that
    decoders built from an older set of types are rebuilt.
    """

    def __init__(self) -> None:
        self._app_events: dict[str, type[Event]] = {}
        self._lock = threading.Lock()
        self.version = 0

    def register(self, cls: EventT) -> EventT:
        """Add an application event type (usable as a class decorator)."""
        if not (isinstance(cls, type) and issubclass(cls, Event)) or cls is Event:
            raise TypeError(f"{cls!r} must be a subclass of wsproto_schema.Event")
        tag = frame_tag(cls)
        with self._lock:
            taken = {frame_tag(t): t for t in self.server_frames()}
            if taken.get(tag, cls) is not cls:
                raise ValueError(f"frame type {tag!r} is already taken by {taken[tag].__name__}")
            if tag not in self._app_events:
                self._app_events[tag] = cls
                self.version += 1
        return cls

    def unregister(self, cls: type[Event]) -> None:
        with self._lock:
            if self._app_events.get(frame_tag(cls)) is cls:
                del self._app_events[frame_tag(cls)]
                self.version += 1

    def app_events(self) -> tuple[type[Event], ...]:
        return tuple(self._app_events.values())

    def events(self) -> tuple[type[Event], ...]:
        return (*get_args(StreamEvent), *self._app_events.values())

    def server_frames(self) -> tuple[type[Frame], ...]:
        return (*get_args(ControlFrame), *self.events())

    def client_frames(self) -> tuple[type[Command], ...]:
        return get_args(ClientFrame)


registry = FrameRegistry()
"""The process-wide registry that codecs and codegen use by default."""

register_event = registry.register
