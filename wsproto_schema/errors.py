"""The protocol error: raised for bad input, it carries its own wire reply."""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Mapping
from typing import Any

import msgspec

from .codes import CloseCode, ErrorCode
from .control import ErrorFrame

__all__ = ["ProtocolError", "child_path", "error_from_msgspec"]


class ProtocolError(Exception):
    """A frame or command that cannot be served, with what to tell the client.

    `code` and `message` (and `path`, the JSON path of the bad field) become an
    `error` frame; `close_code`, when set, says the connection must be closed
    with it instead of answered. `ref` is the failed frame's `ref` when it had
    one, so a client can match even an invalid command to its error.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        path: str | None = None,
        close_code: CloseCode | None = None,
        retry_after_ms: int | None = None,
        ref: str | None = None,
        details: Any = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path
        self.close_code = close_code
        self.retry_after_ms = retry_after_ms
        self.ref = ref
        self.details = details
        """Plain data the error frame carries as `details` (a conflict's candidates)."""

    def to_frame(self, ref: str | None = None) -> ErrorFrame:
        """The `error` frame for this error; `ref` defaults to the failed frame's own."""
        return ErrorFrame(
            ref=ref if ref is not None else self.ref,
            code=self.code,
            message=self.message,
            path=self.path,
            retry_after_ms=self.retry_after_ms,
            details=self.details,
        )

    def to_dict(self) -> dict[str, Any]:
        """The error's wire fields (`code`, `message`, and `path`, `retry_after_ms` when set):
        the body of an HTTP error (`{"error": …}`) and of a forwarded command's failure."""
        data: dict[str, Any] = {"code": self.code.value, "message": self.message}
        if self.path is not None:
            data["path"] = self.path
        if self.retry_after_ms is not None:
            data["retry_after_ms"] = self.retry_after_ms
        if self.details is not None:
            data["details"] = self.details
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProtocolError:
        """The error `to_dict` described (an unknown code becomes `internal`)."""
        try:
            code = ErrorCode(data.get("code"))
        except ValueError:
            code = ErrorCode.INTERNAL
        return cls(
            code,
            str(data.get("message", "")),
            path=data.get("path"),
            retry_after_ms=data.get("retry_after_ms"),
            details=data.get("details"),
        )

    def __repr__(self) -> str:
        return f"ProtocolError({self.code.value!r}, {self.message!r}, path={self.path!r})"


_AT = re.compile(r"^(?P<what>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]*)`$")
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<field>[^`]*)`$")
_BAD_TAG = re.compile(r"^Invalid value (?P<value>.*)$")


def child_path(path: str, field: str) -> str:
    """`$.a` + `b` → `$.a.b`; keys that are not identifiers are quoted: `$.a["b c"]`."""
    return f"{path}.{field}" if field.isidentifier() else f"{path}[{json.dumps(field)}]"


def error_from_msgspec(
    exc: msgspec.DecodeError, *, tag_field: str = "type", keys: Collection[str] = ()
) -> ProtocolError:
    """Translate a msgspec error into a `ProtocolError` a frontend engineer can act on.

    `keys` are the top-level keys of the frame, used only to name the field a
    sender used instead of `type` (`event`, `cmd`, …).
    """
    if not isinstance(exc, msgspec.ValidationError):
        return ProtocolError(ErrorCode.INVALID_JSON, f"not a valid frame encoding: {exc}")
    match = _AT.match(str(exc))
    assert match is not None  # the pattern matches every string
    what, path = match["what"], match["path"] or "$"
    if missing := _MISSING.match(what):
        path = child_path(path, missing["field"])
        detail = "required field is missing"
        if path == f"$.{tag_field}":
            detail += _tag_hint(keys, tag_field)
        return ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: {detail}", path=path)
    if unknown := _UNKNOWN.match(what):
        path = child_path(path, unknown["field"])
        return ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: unknown field", path=path)
    if path == f"$.{tag_field}" and (bad := _BAD_TAG.match(what)):
        return ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"{path}: unknown frame type {bad['value']}", path=path
        )
    detail = what.replace("`", "")
    detail = detail[:1].lower() + detail[1:]
    return ProtocolError(ErrorCode.INVALID_FRAME, f"{path}: {detail}", path=path)


_FOREIGN_TAGS = ("event", "cmd", "kind", "action", "message_type", "msg_type", "op")


def _tag_hint(keys: Collection[str], tag_field: str) -> str:
    """Name the field the sender tagged the frame with: the bug flowwire exists to end."""
    for name in _FOREIGN_TAGS:
        if name in keys:
            return f" (found `{name}`: flowwire frames are tagged with `{tag_field}`)"
    return ""
