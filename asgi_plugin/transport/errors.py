"""What a client is told when something fails: every exception becomes one `ProtocolError`.

A `ProtocolError` already knows its wire form (`to_frame` for an `error`
frame, `to_dict` for an HTTP body or a forwarded command's failure); this is
the one place where other exceptions are mapped to one, so that WebSocket
replies and HTTP answers say the same thing.
"""

from __future__ import annotations

from asgi_plugin.brokers.base import BrokerUnavailable
from wsproto_schema import ErrorCode, ProtocolError

__all__ = ["HTTP_STATUS", "RETRY_AFTER_MS", "wire_error"]

HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_JSON: 400,
    ErrorCode.INVALID_FRAME: 400,
    ErrorCode.UNKNOWN_TYPE: 400,
    ErrorCode.INVALID_WORKFLOW: 400,
    ErrorCode.TOO_LARGE: 413,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
}
"""The HTTP status of an error answered over HTTP."""

RETRY_AFTER_MS = 1_000
"""What a client is told to wait before retrying while the broker is unavailable."""


def wire_error(exc: Exception) -> ProtocolError:
    """The error a client sees for `exc`. Exceptions other than `ProtocolError` and
    `BrokerUnavailable` carry no detail to the client: log them where they are caught."""
    if isinstance(exc, ProtocolError):
        return exc
    if isinstance(exc, BrokerUnavailable):
        # The broker's own message names its address: that is for the server log, not clients.
        return ProtocolError(
            ErrorCode.UNAVAILABLE,
            "the server's broker is unavailable: retry later",
            retry_after_ms=RETRY_AFTER_MS,
        )
    return ProtocolError(ErrorCode.INTERNAL, "the command failed on the server")
