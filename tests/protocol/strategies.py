"""Hypothesis strategies for wire frames, walked from msgspec type info (like codegen does).

Frames come out as plain JSON-compatible dicts, the way they travel, so the same
value can be fed to msgspec and to a JSON Schema validator.
"""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import strategies as st
from msgspec import inspect as mi

import wsproto_schema as ws

MAX_SAFE_INT = 2**53 - 1

# The frames as collection left them, not as the registry is when an example runs:
# other tests register and unregister app events while the session runs, and a
# strategy that read the registry each time could draw differently when Hypothesis
# replays an example (FlakyStrategyDefinition).
SERVER_FRAMES = ws.registry.server_frames()
CLIENT_FRAMES = ws.registry.client_frames()

finite_floats = st.floats(allow_nan=False, allow_infinity=False)


def _json_values(floats: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-MAX_SAFE_INT, MAX_SAFE_INT)
        | floats
        | st.text(max_size=8)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
        ),
        max_leaves=6,
    )


json_values = _json_values(finite_floats)
# JSON Schema's data model cannot tell 1.0 from 1 ("integer" accepts both) while
# msgspec wants an integer literal for an int field: the one divergence, pinned by
# test_integral_float_is_the_one_known_divergence. Mutations use other floats.
mutation_values = _json_values(finite_floats.filter(lambda x: not x.is_integer()))


def unwrap(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def for_type(t: mi.Type) -> st.SearchStrategy[Any]:
    t = unwrap(t)
    if isinstance(t, mi.AnyType):
        return json_values
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else -MAX_SAFE_INT)
        high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else MAX_SAFE_INT)
        return st.integers(low, high)
    if isinstance(t, mi.FloatType):
        return st.floats(
            min_value=t.ge if t.ge is not None else t.gt,
            max_value=t.le if t.le is not None else t.lt,
            exclude_min=t.gt is not None,
            exclude_max=t.lt is not None,
            allow_nan=False,
            allow_infinity=False,
        )
    if isinstance(t, mi.StrType):
        assert t.pattern is None, "no pattern-constrained strings in the protocol yet"
        return st.text(min_size=t.min_length or 0, max_size=min(t.max_length or 12, 12))
    if isinstance(t, mi.ListType):
        return st.lists(for_type(t.item_type), min_size=t.min_length or 0, max_size=3)
    if isinstance(t, mi.DictType):
        return st.dictionaries(for_type(t.key_type), for_type(t.value_type), max_size=3)
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.EnumType):
        return st.sampled_from([member.value for member in t.cls])
    if isinstance(t, mi.StructType):
        return for_struct(t.cls)
    if isinstance(t, mi.UnionType):
        return st.one_of([for_type(member) for member in t.types])
    raise TypeError(f"no strategy for {t!r}")


def wire_required(cls: type[msgspec.Struct], field: mi.Field) -> bool:
    return field.required or field.name in getattr(cls, "__server_assigned__", ())


def for_field(f: mi.Field) -> st.SearchStrategy[Any]:
    t = f.type
    while isinstance(t, mi.Metadata):
        if t.extra and ws.FRAME_UNION in t.extra:  # frames of a union (a batch's frames)
            unbatched = [c for c in SERVER_FRAMES if c is not ws.Batch]
            return st.lists(st.one_of([for_struct(c) for c in unbatched]), min_size=1, max_size=3)
        t = t.type
    return for_type(f.type)


def for_struct(cls: type[msgspec.Struct]) -> st.SearchStrategy[dict[str, Any]]:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    required = {f.encode_name: for_field(f) for f in info.fields if wire_required(cls, f)}
    optional = {f.encode_name: for_field(f) for f in info.fields if not wire_required(cls, f)}
    fields = st.fixed_dictionaries(required, optional=optional)
    if isinstance(info.tag, str) and info.tag_field:
        tag = {info.tag_field: info.tag}
        return fields.map(lambda d: {**tag, **d})
    return fields


def server_frames() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of([for_struct(cls) for cls in SERVER_FRAMES])


def client_frames() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of([for_struct(cls) for cls in CLIENT_FRAMES])


def frame_class(frame: dict[str, Any], direction: str) -> type[msgspec.Struct]:
    types = SERVER_FRAMES if direction == "server" else CLIENT_FRAMES
    return next(c for c in types if ws.frame_tag(c) == frame["type"])


def wrong_value(t: mi.Type) -> Any:
    """A JSON value the type cannot accept, or None when every value is acceptable."""
    t = unwrap(t)
    if isinstance(t, mi.UnionType):
        kinds = {type(unwrap(m)) for m in t.types if not isinstance(unwrap(m), mi.NoneType)}
        if kinds <= {mi.StrType, mi.LiteralType, mi.EnumType}:
            return [1]
        if kinds <= {mi.IntType, mi.FloatType, mi.BoolType}:
            return "not-a-number"
        if kinds <= {mi.StructType, mi.DictType, mi.ListType}:
            return "not-an-object"
        return None
    if isinstance(t, mi.AnyType):
        return None
    if isinstance(t, (mi.StrType, mi.LiteralType)):
        return 12345
    if isinstance(t, mi.EnumType):
        values = [member.value for member in t.cls]
        return "no-such-value" if isinstance(values[0], int) else 12345
    if isinstance(t, (mi.IntType, mi.FloatType, mi.BoolType)):
        return "not-a-number"
    if isinstance(t, (mi.ListType, mi.DictType, mi.StructType)):
        return "not-a-container"
    raise TypeError(f"no wrong value for {t!r}")


def nested_struct_paths(obj: Any, t: mi.Type, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Key paths of every nested object of `obj` that is a Struct (not a free-form map)."""
    t = unwrap(t)
    found: list[tuple[Any, ...]] = []
    if isinstance(t, mi.StructType) and isinstance(obj, dict):
        if at:
            found.append(at)
        fields = {f.encode_name: f for f in mi.type_info(t.cls).fields}  # type: ignore[union-attr]
        for key, value in obj.items():
            if key in fields:
                found += nested_struct_paths(value, fields[key].type, (*at, key))
    elif isinstance(t, mi.ListType) and isinstance(obj, list):
        for index, item in enumerate(obj):
            found += nested_struct_paths(item, t.item_type, (*at, index))
    elif isinstance(t, mi.DictType) and isinstance(obj, dict):
        for key, value in obj.items():
            found += nested_struct_paths(value, t.value_type, (*at, key))
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            found += nested_struct_paths(obj, member, at)
    return found
