"""How deeply a frame nests, measured before it is decoded.

A decoder recurses once per level: a small frame of a thousand `[` exhausts the
stack (`RecursionError`) and would close the connection 1011. Client frames
are therefore measured first, without recursion, and refused above
`MAX_DEPTH` levels with an `invalid_frame` error; the connection stays open.
JSON is measured only when it has that many opening brackets at all (a C-level
count); MessagePack is walked header by header.
"""

from __future__ import annotations

from .codes import ErrorCode
from .errors import ProtocolError

__all__ = ["MAX_DEPTH", "json_depth", "msgpack_depth", "too_deep"]

MAX_DEPTH = 64
"""Levels of arrays and objects a client frame may nest (the frame itself is level 1)."""


def too_deep(limit: int = MAX_DEPTH) -> ProtocolError:
    """The error for a frame that nests deeper than `limit`."""
    return ProtocolError(
        ErrorCode.INVALID_FRAME,
        f"$: the frame nests more than {limit} levels of arrays and objects",
        path="$",
    )


def json_depth(data: str | bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply JSON text nests, as far as `limit` needs: at most `limit` when it does
    not nest deeper (0 when it cannot: too few brackets), else more than `limit`."""
    if isinstance(data, str):
        if data.count("[") + data.count("{") <= limit:
            return 0  # cannot be deeper than limit
        text = data
    else:
        if data.count(b"[") + data.count(b"{") <= limit:
            return 0  # counted without decoding: the usual case, on every command
        text = data.decode("utf-8", "replace")
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def msgpack_depth(data: bytes, limit: int = MAX_DEPTH) -> int:
    """How deeply one MessagePack value nests, walked without recursion: exact up to
    `limit`, and more than `limit` (stopping there) when it is deeper. Malformed data
    measures what it can (the decoder then says why)."""
    remaining = [1]  # items still to read at each open level
    deepest = 0
    position = 0
    size = len(data)
    while remaining and position < size:
        remaining[-1] -= 1
        byte = data[position]
        position += 1
        count, skip = _header(byte, data, position)
        position += skip
        if count is not None:
            if count:
                remaining.append(count)
                deepest = max(deepest, len(remaining) - 1)
                if deepest > limit:
                    return deepest
            else:
                deepest = max(deepest, len(remaining))
        while remaining and remaining[-1] == 0:
            remaining.pop()
    return deepest


def _header(byte: int, data: bytes, at: int) -> tuple[int | None, int]:
    """(items the value holds if it is a container, bytes to skip past its header and any
    scalar payload)."""
    if 0x90 <= byte <= 0x9F:
        return byte & 0x0F, 0
    if 0x80 <= byte <= 0x8F:
        return 2 * (byte & 0x0F), 0
    if byte in (0xDC, 0xDE):
        n = int.from_bytes(data[at : at + 2], "big")
        return (n if byte == 0xDC else 2 * n), 2
    if byte in (0xDD, 0xDF):
        n = int.from_bytes(data[at : at + 4], "big")
        return (n if byte == 0xDD else 2 * n), 4
    if byte <= 0x7F or byte >= 0xE0 or byte in (0xC0, 0xC2, 0xC3):
        return None, 0
    if 0xA0 <= byte <= 0xBF:
        return None, byte & 0x1F
    fixed = {0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8,
             0xCA: 4, 0xCB: 8, 0xD4: 2, 0xD5: 3, 0xD6: 5, 0xD7: 9, 0xD8: 17}  # fmt: skip
    if byte in fixed:
        return None, fixed[byte]
    lengths = {0xD9: 1, 0xDA: 2, 0xDB: 4, 0xC4: 1, 0xC5: 2, 0xC6: 4}
    if byte in lengths:
        width = lengths[byte]
        return None, width + int.from_bytes(data[at : at + width], "big")
    ext = {0xC7: 1, 0xC8: 2, 0xC9: 4}
    if byte in ext:
        width = ext[byte]
        return None, width + 1 + int.from_bytes(data[at : at + width], "big")
    return None, 0  # 0xC1 (never used): the decoder refuses it
