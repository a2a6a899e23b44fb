"""Contract checks for tests: validate frames against the generated JSON Schema.

    contract = Contract.from_directory("schemas")   # the committed files
    contract = Contract.from_registry()             # generated now, with your app's events
    contract.assert_server_frame(received)          # AssertionError listing every violation

Needs the `contract` extra (`jsonschema`). The frame's `type` picks its schema
first, so each violation names the exact field, not "is not
valid under any of the given schemas".
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import msgspec

from .registry import FrameRegistry, registry

__all__ = ["Contract", "ContractViolation", "Direction", "Violation", "json_path"]

Direction = Literal["server", "client"]
FILES: dict[Direction, str] = {
    "server": "server-frame.schema.json",
    "client": "client-frame.schema.json",
}


@dataclass(frozen=True)
class Violation:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ContractViolation(AssertionError):
    """A frame broke the protocol schema; `violations` lists every problem."""

    def __init__(self, direction: Direction, frame: object, violations: list[Violation]) -> None:
        self.direction = direction
        self.frame = frame
        self.violations = violations
        lines = "\n".join(f"  {v}" for v in violations)
        super().__init__(
            f"{direction} frame violates the flowwire schema:\n{lines}\n  frame: {frame!r}"
        )


def json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        path += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if part.isidentifier() else f"[{json.dumps(part)}]")
        )
    return path


def _as_object(frame: object) -> Any:
    if isinstance(frame, (bytes, bytearray, memoryview)):
        data = bytes(frame)
        if data.lstrip()[:1] in (b"{", b"["):
            return msgspec.json.decode(data)
        return msgspec.msgpack.decode(data)
    if isinstance(frame, str):
        return msgspec.json.decode(frame)
    if isinstance(frame, msgspec.Struct):
        return msgspec.to_builtins(frame)
    return frame


class Contract:
    """Validators for both directions of one set of schemas."""

    def __init__(self, schemas: Mapping[Direction, Mapping[str, Any]]) -> None:
        try:
            from jsonschema import Draft202012Validator
        except ImportError:
            raise ImportError(
                "flowwire's contract checks need jsonschema: pip install 'flowwire[contract]'"
            ) from None

        self._validator_class = Draft202012Validator
        self._schemas = dict(schemas)
        self._validators: dict[tuple[Direction, str], Any] = {}
        self._tag_maps: dict[Direction, dict[str, str]] = {}
        for schema in self._schemas.values():
            Draft202012Validator.check_schema(schema)

    @classmethod
    def from_directory(cls, directory: str | Path) -> Contract:
        """The committed schema files (`schemas/` by default in a flowwire checkout)."""
        root = Path(directory)
        return cls({d: json.loads((root / name).read_text("utf-8")) for d, name in FILES.items()})

    @classmethod
    def from_registry(
        cls, frames: FrameRegistry = registry, modules: Iterable[ModuleType] = ()
    ) -> Contract:
        """Schemas generated now from the Structs, including registered app events."""
        from .catalog import Catalog
        from .json_schema import direction_schema

        catalog = Catalog.build(frames, modules)
        return cls(
            {
                "server": direction_schema(catalog, "ServerFrame"),
                "client": direction_schema(catalog, "ClientFrame"),
            }
        )

    def schema(self, direction: Direction) -> dict[str, Any]:
        return dict(self._schemas[direction])

    def _tags(self, direction: Direction) -> dict[str, str]:
        """The direction's frame types: `type` tag → its `$defs` name."""
        if direction not in self._tag_maps:
            from .json_schema import tag_map

            schema = self._schemas[direction]
            self._tag_maps[direction] = tag_map(dict(schema), schema["$defs"])
        return self._tag_maps[direction]

    def _validator(self, direction: Direction, name: str) -> Any:
        key = (direction, name)
        if key not in self._validators:
            defs = self._schemas[direction]["$defs"]
            self._validators[key] = self._validator_class({**defs[name], "$defs": defs})
        return self._validators[key]

    def violations(self, direction: Direction, frame: object) -> list[Violation]:
        """Every way `frame` (dict, JSON, MessagePack bytes or a Struct) breaks the schema."""
        try:
            obj = _as_object(frame)
        except msgspec.DecodeError as exc:
            return [Violation("$", f"not JSON or MessagePack: {exc}")]
        if not isinstance(obj, dict):
            return [Violation("$", f"a frame is an object, got {type(obj).__name__}")]
        mapping = self._tags(direction)
        tag = obj.get("type")
        if tag is None:
            hint = next((k for k in ("event", "cmd", "kind") if k in obj), None)
            extra = f" (found `{hint}`: flowwire frames are tagged with `type`)" if hint else ""
            return [Violation("$.type", f"required field is missing{extra}")]
        if tag not in mapping:
            return [Violation("$.type", f"unknown {direction} frame type {tag!r}")]
        validator = self._validator(direction, mapping[tag])
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
        return [Violation(json_path(e.absolute_path), e.message) for e in errors]

    def assert_valid(self, direction: Direction, frame: object) -> None:
        if found := self.violations(direction, frame):
            raise ContractViolation(direction, frame, found)

    def assert_server_frame(self, frame: object) -> None:
        self.assert_valid("server", frame)

    def assert_client_frame(self, frame: object) -> None:
        self.assert_valid("client", frame)
