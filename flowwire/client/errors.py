"""What a client call can fail with: typed, with the server's `code`, `message` and `path`."""

from __future__ import annotations

import wsproto_schema as ws

__all__ = [
    "ClientClosed",
    "ClientError",
    "CommandError",
    "CommandInterrupted",
    "CommandTimeout",
    "ConnectionLost",
    "Unauthorized",
]


class ClientError(Exception):
    """Base of every error the flowwire client raises."""


class CommandError(ClientError):
    """The server answered a command with an `error` frame.

    `code` is the `ErrorCode`, `path` the JSON path of the offending field (when
    the server named one), `retry_after_ms` set with `rate_limited`.
    """

    def __init__(
        self,
        code: ws.ErrorCode,
        message: str,
        *,
        path: str | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(f"{code.value}: {message}")
        self.code = code
        self.message = message
        self.path = path
        self.retry_after_ms = retry_after_ms

    @classmethod
    def from_frame(cls, frame: ws.ErrorFrame) -> CommandError:
        return cls(frame.code, frame.message, path=frame.path, retry_after_ms=frame.retry_after_ms)


class CommandTimeout(ClientError):
    """No answer to a command in time (it may still have been sent, or not yet)."""


class CommandInterrupted(ClientError):
    """The connection closed after the command was sent and before its answer: it may or
    may not have run (look at the execution's events before retrying)."""


class ConnectionLost(ClientError):
    """The client stopped reconnecting: a close code that forbids it, or `give_up_after`."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Unauthorized(ConnectionLost):
    """The server refused the credentials (close 4001 or 1008, HTTP 401/403)."""


class ClientClosed(ClientError):
    """The client was closed while the call waited."""
