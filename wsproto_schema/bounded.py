"""Which fields of a decoded frame could hold what msgspec's typed decode lets through.

A command is refused when it nests deeper than MAX_DEPTH (depth.py) or holds an
integer beyond 64 bits (integers.py). Both checks scan the frame's bytes, which
costs as much again as msgspec's decode of a small command. Most fields need
neither: a typed field (a string, a literal, a list of strings, a bounded
integer) cannot nest deeper than its type, and msgspec refuses anything else.
Only two kinds of field can: a free JSON value (`Any`) or an integer without
bounds inside 64 bits, directly or inside a container.

`screen(cls)` tells, once per class from msgspec's type information, which
fields are which: None for most commands (the decode is the whole check), else a
predicate of a few attribute reads, True when the decoded frame holds nothing
the scans could refuse (so it is accepted as decoded), False when they must run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import msgspec.inspect as mi

from .integers import INT_MAX, INT_MIN

__all__ = ["screen", "screened_fields", "screens"]


def _within(t: mi.IntType) -> bool:
    """The type's own bounds keep it within 64 bits: msgspec refuses the rest."""
    low = t.ge if t.ge is not None else (t.gt + 1 if t.gt is not None else None)
    high = t.le if t.le is not None else (t.lt - 1 if t.lt is not None else None)
    return low is not None and high is not None and low >= INT_MIN and high <= INT_MAX


def _kind(t: mi.Type, seen: frozenset[type]) -> str:
    """'safe' (the decode is the whole check), 'int' (an integer to range-check) or
    'scan' (the bytes must be scanned)."""
    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, (mi.StrType, mi.BoolType, mi.NoneType, mi.LiteralType, mi.FloatType)):
        return "safe"
    if isinstance(t, mi.IntType):
        return "safe" if _within(t) else "int"
    if isinstance(t, mi.UnionType):
        kinds = {_kind(branch, seen) for branch in t.types}
        return "scan" if "scan" in kinds else "int" if "int" in kinds else "safe"
    if isinstance(t, (mi.ListType, mi.SetType, mi.FrozenSetType, mi.VarTupleType)):
        return "safe" if _kind(t.item_type, seen) == "safe" else "scan"
    if isinstance(t, mi.DictType):
        safe = _kind(t.key_type, seen) == "safe" and _kind(t.value_type, seen) == "safe"
        return "safe" if safe else "scan"
    if isinstance(t, mi.StructType):
        if t.cls in seen:  # a Struct that nests itself nests without bound
            return "scan"
        inner = seen | {t.cls}
        return "safe" if all(_kind(f.type, inner) == "safe" for f in t.fields) else "scan"
    return "scan"  # Any, and whatever this module does not model


screens: dict[type, Callable[[Any], bool] | None] = {}
"""What `screen` worked out, per class: the codec looks here first (a call less per command)."""


def screen(frame_type: type[msgspec.Struct]) -> Callable[[Any], bool] | None:
    """For a frame class, None when msgspec's decode is the whole check (no field can hold
    what the scans are for), else a predicate of a decoded frame: True when nothing in it
    needs the scans. Worked out once per class, from msgspec's type information."""
    try:
        return screens[frame_type]
    except KeyError:
        pass
    ints, scans = screened_fields(frame_type)
    check = _clear_of(ints, scans) if ints or scans else None
    screens[frame_type] = check
    return check


def screened_fields(frame_type: type[msgspec.Struct]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The class's fields that may hold an integer to range-check, and those that may hold
    something the byte scans are for."""
    kinds = [
        (field.name, _kind(field.type, frozenset({frame_type})))
        for field in mi.type_info(frame_type).fields  # type: ignore[attr-defined]
    ]
    return (
        tuple(name for name, kind in kinds if kind == "int"),
        tuple(name for name, kind in kinds if kind == "scan"),
    )


def _clear_of(ints: tuple[str, ...], scans: tuple[str, ...]) -> Callable[[Any], bool]:
    def clear(frame: Any) -> bool:
        for name in ints:
            value = getattr(frame, name)
            if type(value) is int and not INT_MIN <= value <= INT_MAX:
                return False
        for name in scans:
            value = getattr(frame, name)
            # A free value that is a plain scalar holds nothing to scan for.
            if (
                value is not None
                and type(value) not in (str, bool, float)
                and (type(value) is not int or not INT_MIN <= value <= INT_MAX)
            ):
                return False
        return True

    return clear
