"""Which fields of a decoded frame could hold what msgspec's typed decode lets through.

A command is refused when it nests deeper than MAX_DEPTH (depth.py) or holds an
integer beyond 64 bits (integers.py). Both checks scan the frame's bytes, which
costs as much again as msgspec's decode of a small command. Most fields need
neither: a typed field (a string, a literal, a list of strings, a bounded
integer) cannot nest deeper than its type, and msgspec refuses anything else.
Only two kinds of field can: a free JSON value (`Any`) or an integer without
bounds inside 64 bits, directly or inside a container.

`Screen.of(cls)` tells, once per class from msgspec's type information, which
fields are which; `screen.clear(frame)` is then a few attribute reads: True
when the decoded frame holds nothing the scans could refuse (so it is accepted
as decoded), False when they must run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import msgspec.inspect as mi

from .integers import INT_MAX, INT_MIN

__all__ = ["Screen"]


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


class Screen:
    """The fields of one frame class that the byte scans are for (see the module)."""

    __slots__ = ("clear", "ints", "scans")
    _cache: dict[type, Screen] = {}

    def __init__(self, ints: tuple[str, ...], scans: tuple[str, ...]) -> None:
        self.ints = ints
        self.scans = scans
        self.clear: Callable[[Any], bool] = self._clear if ints or scans else _always
        """True when nothing in the decoded frame needs the byte scans."""

    @property
    def fields(self) -> bool:
        """Whether the class has a field the scans are for at all."""
        return bool(self.ints or self.scans)

    @classmethod
    def of(cls, frame_type: type[msgspec.Struct]) -> Screen:
        try:
            return cls._cache[frame_type]
        except KeyError:
            pass
        ints: list[str] = []
        scans: list[str] = []
        for field in mi.type_info(frame_type).fields:  # type: ignore[attr-defined]
            kind = _kind(field.type, frozenset({frame_type}))
            if kind == "int":
                ints.append(field.name)
            elif kind == "scan":
                scans.append(field.name)
        screen = cls._cache[frame_type] = cls(tuple(ints), tuple(scans))
        return screen

    def _clear(self, frame: Any) -> bool:
        for name in self.ints:
            value = getattr(frame, name)
            if type(value) is int and not INT_MIN <= value <= INT_MAX:
                return False
        for name in self.scans:
            value = getattr(frame, name)
            # A free value that is a plain scalar holds nothing to scan for.
            if (
                value is not None
                and type(value) not in (str, bool, float)
                and (type(value) is not int or not INT_MIN <= value <= INT_MAX)
            ):
                return False
        return True


def _always(frame: Any) -> bool:
    return True
