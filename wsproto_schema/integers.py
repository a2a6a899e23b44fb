"""The integers flowwire carries: 64 bits, what MessagePack can encode (-2**63 to 2**64-1).

JSON has no bound, Python neither; an integer outside this range would encode
on the JSON subprotocol and fail on the MessagePack one, after the event was
stored. So it is refused wherever it enters: a client's command, a published
event. (JavaScript clients see integers beyond 2**53 rounded: send those as
strings when they must stay exact.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .codes import ErrorCode
from .errors import ProtocolError, child_path

__all__ = ["INT_MAX", "INT_MIN", "check_integers", "out_of_range", "refuse_out_of_range"]

INT_MIN = -(2**63)
INT_MAX = 2**64 - 1
_DIGIT_MARKS = bytes(48 if byte in b"0123456789" else 32 for byte in range(256))
"""Every digit to "0", everything else to " ": a run of digits becomes a run of "0"."""
_LONG_RUN = b"0" * 19
"""Only a run of 19 or more digits can be out of range: the fast test on raw JSON."""


def out_of_range(value: Any, path: str = "$") -> str | None:
    """The JSON path of the first integer in `value` outside INT_MIN…INT_MAX, or None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return path if not INT_MIN <= value <= INT_MAX else None
    if isinstance(value, dict):
        for key, item in value.items():
            if found := out_of_range(item, child_path(path, str(key))):
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            if found := out_of_range(item, f"{path}[{index}]"):
                return found
    return None


def refuse_out_of_range(path: str) -> ProtocolError:
    return ProtocolError(
        ErrorCode.INVALID_FRAME,
        f"{path}: integer out of range: flowwire carries integers from -2**63 to 2**64-1",
        path=path,
    )


def check_integers(data: str | bytes, decode: Callable[[], Any]) -> None:
    """Raise `ProtocolError` if JSON `data` holds an integer out of range. Cheap when it
    cannot (no run of 19 digits); else `decode()` gives the data to find the path in."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    # Two C-level passes (a translation, a substring search) decide for almost every
    # frame; a regular expression stepping through the bytes cost ten times more.
    if _LONG_RUN in raw.translate(_DIGIT_MARKS) and (path := out_of_range(decode())):
        raise refuse_out_of_range(path)
