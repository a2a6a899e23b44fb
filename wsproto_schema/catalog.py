"""What the protocol describes: every frame, nested object, enum and named literal, from msgspec.

The JSON Schema (json_schema.py) and AsyncAPI (asyncapi.py) documents are
built from this catalog here, in the protocol package, so that a running
server can describe itself and contract tests can validate against the live
registry; `codegen` writes them, with the TypeScript module, into files.
"""

from __future__ import annotations

import enum
import inspect as pyinspect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Literal, get_args, get_origin

import msgspec
from msgspec import inspect as mi

import wsproto_schema
from wsproto_schema import FRAME_UNION, Event, Frame, FrameRegistry, Part, StrictPart, frame_tag

__all__ = ["Catalog", "FieldInfo", "StructInfo", "unwrap"]


def unwrap(t: mi.Type) -> tuple[mi.Type, dict[str, Any]]:
    """Strip `Metadata`, returning the inner type and its extra JSON Schema keys."""
    extra: dict[str, Any] = {}
    while isinstance(t, mi.Metadata):
        extra.update(t.extra_json_schema or {})
        t = t.type
    return t, extra


def items_union(t: mi.Type) -> str | None:
    """The union a list field's items belong to (`wsproto_schema.FRAME_UNION` metadata)."""
    while isinstance(t, mi.Metadata):
        if t.extra and FRAME_UNION in t.extra:
            return str(t.extra[FRAME_UNION])
        t = t.type
    return None


def doc_of(obj: object) -> str | None:
    doc = pyinspect.getdoc(obj)
    if not doc or obj.__doc__ is None:
        return None
    # A class without its own docstring inherits its base's: not a description of it.
    return doc if "__doc__" in vars(obj) else None


@dataclass(frozen=True)
class FieldInfo:
    name: str
    type: mi.Type
    required: bool
    default: Any
    description: str | None
    extra: dict[str, Any]
    items_union: str | None = None


@dataclass(frozen=True)
class StructInfo:
    cls: type[msgspec.Struct]
    name: str
    tag: str | None
    tag_field: str | None
    fields: tuple[FieldInfo, ...]
    description: str | None

    @classmethod
    def from_class(cls, struct: type[msgspec.Struct]) -> StructInfo:
        info = mi.type_info(struct)
        assert isinstance(info, mi.StructType)
        assigned = getattr(struct, "__server_assigned__", ())
        fields = []
        for f in info.fields:
            inner, extra = unwrap(f.type)
            description = extra.pop("description", None)
            default = f.default if f.default is not msgspec.NODEFAULT else None
            if f.default_factory is not msgspec.NODEFAULT:
                default = f.default_factory()
            fields.append(
                FieldInfo(
                    name=f.encode_name,
                    type=inner,
                    required=f.required or f.name in assigned,
                    default=None if f.required or f.name in assigned else default,
                    description=description,
                    extra=extra,
                    items_union=items_union(f.type),
                )
            )
        tag = info.tag if isinstance(info.tag, str) else None
        return cls(struct, struct.__name__, tag, info.tag_field, tuple(fields), doc_of(struct))


@dataclass
class Catalog:
    """The named types of one protocol: the built-in frames plus an app's registered events."""

    server_frames: list[StructInfo]
    client_frames: list[StructInfo]
    stream_events: list[StructInfo]
    parts: dict[str, StructInfo] = field(default_factory=dict)
    enums: dict[str, type[enum.Enum]] = field(default_factory=dict)
    literals: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, frames: FrameRegistry, modules: Iterable[ModuleType] = ()) -> Catalog:
        catalog = cls(
            server_frames=[StructInfo.from_class(c) for c in frames.server_frames()],
            client_frames=[StructInfo.from_class(c) for c in frames.client_frames()],
            stream_events=[StructInfo.from_class(c) for c in frames.events()],
        )
        for module in (wsproto_schema, *modules):
            catalog.literals.update(_named_literals(module))
            for part in _exported_parts(module):
                catalog._collect(mi.type_info(part))
        for struct in catalog.frames():
            for f in struct.fields:
                catalog._collect(f.type)
        return catalog

    def frames(self) -> list[StructInfo]:
        """Every frame once: server frames, then client frames."""
        return [*self.server_frames, *self.client_frames]

    def literal_name(self, values: tuple[Any, ...]) -> str | None:
        """The exported alias (`NodeStatusValue`) of a `Literal[...]`, if it has one."""
        for name, declared in self.literals.items():
            if set(declared) == set(values):
                return name
        return None

    def _collect(self, t: mi.Type) -> None:
        for node in _walk(t):
            if isinstance(node, mi.StructType) and node.cls.__name__ not in self.parts:
                info = StructInfo.from_class(node.cls)
                self.parts[info.name] = info
                for f in info.fields:
                    self._collect(f.type)
            elif isinstance(node, mi.EnumType):
                self.enums[node.cls.__name__] = node.cls

    def check_names(self) -> None:
        """Every emitted name must be unique: TypeScript and `$defs` share one namespace."""
        seen: dict[str, object] = {}
        named: list[tuple[str, object]] = [(s.name, s.cls) for s in self.frames()]
        named += [(n, p.cls) for n, p in self.parts.items()]
        named += list(self.enums.items()) + list(self.literals.items())
        for name, obj in named:
            if seen.setdefault(name, obj) is not obj:
                raise ValueError(f"two protocol types are both named {name!r}")


def _walk(t: mi.Type) -> Iterator[mi.Type]:
    t, _ = unwrap(t)
    yield t
    children: tuple[mi.Type, ...] = ()
    if isinstance(t, mi.UnionType):
        children = t.types
    elif isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        children = (t.item_type,)
    elif isinstance(t, mi.DictType):
        children = (t.key_type, t.value_type)
    elif isinstance(t, mi.TupleType):
        children = t.item_types
    for child in children:
        yield from _walk(child)


def _exported(module: ModuleType) -> Iterator[tuple[str, Any]]:
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in names:
        yield name, getattr(module, name, None)


def _exported_parts(module: ModuleType) -> Iterator[type[Part]]:
    """Nested objects a module exports even if no frame field names them (reply data)."""
    for _, value in _exported(module):
        if isinstance(value, type) and issubclass(value, Part) and value not in (Part, StrictPart):
            yield value


def _named_literals(module: ModuleType) -> dict[str, tuple[Any, ...]]:
    return {name: get_args(v) for name, v in _exported(module) if get_origin(v) is Literal}


def is_event(struct: StructInfo) -> bool:
    return issubclass(struct.cls, Event)


def tag_of(struct: StructInfo) -> str:
    assert issubclass(struct.cls, Frame)
    return frame_tag(struct.cls)
