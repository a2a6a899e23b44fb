"""Protocol constants: the version, subprotocol names, error codes and close codes."""

from __future__ import annotations

import enum

__all__ = [
    "PROTOCOL_VERSION",
    "SUBPROTOCOLS",
    "SUBPROTOCOL_JSON",
    "SUBPROTOCOL_MSGPACK",
    "CloseCode",
    "ErrorCode",
]

PROTOCOL_VERSION = "flowwire.v1"
SUBPROTOCOL_JSON = "flowwire.v1.json"
SUBPROTOCOL_MSGPACK = "flowwire.v1.msgpack"
SUBPROTOCOLS = (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK)


class ErrorCode(str, enum.Enum):
    """The `code` of an `error` frame."""

    INVALID_JSON = "invalid_json"
    """The frame is not valid JSON (or not valid MessagePack on the msgpack subprotocol)."""
    INVALID_FRAME = "invalid_frame"
    """The frame decoded but does not match the schema: `path` names the bad field."""
    UNKNOWN_TYPE = "unknown_type"
    """The frame's `type` is not a command this server knows."""
    TOO_LARGE = "too_large"
    """The frame is larger than the server's `max_frame_bytes`."""
    UNAUTHORIZED = "unauthorized"
    """No valid credentials: authenticate first."""
    FORBIDDEN = "forbidden"
    """The principal may not do this (subscribe to that topic, run that command)."""
    NOT_FOUND = "not_found"
    """The execution (or node) named by the command does not exist."""
    INVALID_WORKFLOW = "invalid_workflow"
    """The workflow of an `execute` command is not a valid DAG."""
    CONFLICT = "conflict"
    """The command does not fit the current state (resume of a running execution)."""
    RATE_LIMITED = "rate_limited"
    """Too many commands: retry after `retry_after_ms`."""
    UNAVAILABLE = "unavailable"
    """The server cannot do this now (its broker is unreachable): retry after `retry_after_ms`."""
    INTERNAL = "internal"
    """The server failed; the message carries no detail of the failure."""

    def __str__(self) -> str:
        return self.value


class CloseCode(enum.IntEnum):
    """WebSocket close codes a flowwire server uses."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY_VIOLATION = 1008
    MESSAGE_TOO_BIG = 1009
    INTERNAL_ERROR = 1011
    SERVICE_RESTART = 1012
    TRY_AGAIN_LATER = 1013
    PROTOCOL_ERROR = 4000
    UNAUTHORIZED = 4001
    HEARTBEAT_TIMEOUT = 4002
    SLOW_CONSUMER = 4008
    FLOODING = 4029
