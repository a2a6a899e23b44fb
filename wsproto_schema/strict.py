"""Unknown fields in lenient frames.

Server frames decode leniently (a client must not break when a newer server
adds a field), but what a publisher sends must match the schema exactly: a
misspelt `nodeId` would otherwise vanish silently. This walks a decoded frame
against its Struct's type info and names the first field the schema lacks.
"""

from __future__ import annotations

import functools
from typing import Any

import msgspec
from msgspec import inspect as mi

from .errors import child_path

__all__ = ["first_unknown_field"]


@functools.lru_cache(maxsize=512)
def _struct_info(cls: type[msgspec.Struct]) -> mi.StructType:
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    return info


def first_unknown_field(obj: Any, cls: type[msgspec.Struct], path: str = "$") -> str | None:
    """The JSON path of the first key of `obj` that `cls` does not declare, if any."""
    return _check(obj, _struct_info(cls), path)


def _check(obj: Any, t: mi.Type, path: str) -> str | None:
    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.StructType):
        if not isinstance(obj, dict):
            return None
        fields = {f.encode_name: f for f in _struct_info(t.cls).fields}
        for key, value in obj.items():
            if key == t.tag_field:
                continue
            field = fields.get(key)
            where = child_path(path, str(key))
            if field is None:
                return where
            if found := _check(value, field.type, where):
                return found
    elif isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        if isinstance(obj, list):
            for index, item in enumerate(obj):
                if found := _check(item, t.item_type, f"{path}[{index}]"):
                    return found
    elif isinstance(t, mi.DictType):
        if isinstance(obj, dict):
            for key, value in obj.items():
                if found := _check(value, t.value_type, child_path(path, str(key))):
                    return found
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            if found := _check(obj, member, path):
                return found
    return None
