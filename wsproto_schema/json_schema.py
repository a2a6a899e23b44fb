"""JSON Schema 2020-12 from the catalog: one `$defs` entry per named type, strict objects."""

from __future__ import annotations

import enum
from typing import Any

from msgspec import inspect as mi

from wsproto_schema import PROTOCOL_VERSION

from .catalog import Catalog, StructInfo, tag_of, unwrap

__all__ = [
    "DIALECT",
    "SCHEMA_BASE_URI",
    "bundle_schema",
    "definitions",
    "direction_schema",
    "schema_refs",
    "tag_map",
    "type_schema",
]

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE_URI = "https://flowwire.dev/schemas/v1/"

Schema = dict[str, Any]


def ref(name: str, prefix: str = "#/$defs/") -> Schema:
    return {"$ref": f"{prefix}{name}"}


def type_schema(t: mi.Type, catalog: Catalog) -> Schema:
    """The schema of one msgspec type; named types become `$ref`s."""
    t, extra = unwrap(t)
    schema = _bare(t, catalog)
    return {**schema, **extra} if extra else schema


def _bare(t: mi.Type, catalog: Catalog) -> Schema:
    if isinstance(t, mi.AnyType):
        return {}
    if isinstance(t, mi.NoneType):
        return {"type": "null"}
    if isinstance(t, mi.BoolType):
        return {"type": "boolean"}
    if isinstance(t, (mi.IntType, mi.FloatType)):
        schema: Schema = {"type": "integer" if isinstance(t, mi.IntType) else "number"}
        bounds = (
            ("ge", "minimum"),
            ("gt", "exclusiveMinimum"),
            ("le", "maximum"),
            ("lt", "exclusiveMaximum"),
            ("multiple_of", "multipleOf"),
        )
        schema.update({key: getattr(t, a) for a, key in bounds if getattr(t, a) is not None})
        return schema
    if isinstance(t, mi.StrType):
        schema = {"type": "string"}
        for attr, key in (("min_length", "minLength"), ("max_length", "maxLength")):
            if getattr(t, attr) is not None:
                schema[key] = getattr(t, attr)
        if t.pattern is not None:
            schema["pattern"] = t.pattern
        return schema
    if isinstance(t, (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)):
        schema = {"type": "array", "items": type_schema(t.item_type, catalog)}
        if isinstance(t, (mi.SetType, mi.FrozenSetType)):
            schema["uniqueItems"] = True
        for attr, key in (("min_length", "minItems"), ("max_length", "maxItems")):
            if getattr(t, attr) is not None:
                schema[key] = getattr(t, attr)
        return schema
    if isinstance(t, mi.DictType):
        schema = {"type": "object", "additionalProperties": type_schema(t.value_type, catalog)}
        keys = type_schema(t.key_type, catalog)
        if keys != {"type": "string"}:
            schema["propertyNames"] = keys
        for attr, key in (("min_length", "minProperties"), ("max_length", "maxProperties")):
            if getattr(t, attr) is not None:
                schema[key] = getattr(t, attr)
        return schema
    if isinstance(t, mi.LiteralType):
        name = catalog.literal_name(t.values)
        return ref(name) if name else {"enum": list(t.values)}
    if isinstance(t, mi.EnumType):
        return ref(t.cls.__name__)
    if isinstance(t, mi.StructType):
        return ref(t.cls.__name__)
    if isinstance(t, mi.UnionType):
        return {"anyOf": [type_schema(member, catalog) for member in t.types]}
    raise TypeError(f"codegen cannot express {t!r} in JSON Schema")


def struct_schema(struct: StructInfo, catalog: Catalog) -> Schema:
    properties: Schema = {}
    required: list[str] = []
    if struct.tag_field and struct.tag:
        properties[struct.tag_field] = {"const": tag_of(struct)}
        required.append(struct.tag_field)
    for f in struct.fields:
        try:
            prop = type_schema(f.type, catalog)
        except TypeError as exc:
            raise TypeError(f"{struct.name}.{f.name}: {exc}") from None
        if f.items_union:
            prop["items"] = ref(f.items_union)
        if f.description:
            prop = {"description": f.description, **prop}
        if not f.required and f.default is not None:
            prop["default"] = f.default
        properties[f.name] = prop
        if f.required:
            required.append(f.name)
    schema: Schema = {"title": struct.name}
    if struct.description:
        schema["description"] = struct.description
    schema.update(
        type="object", properties=properties, required=required, additionalProperties=False
    )
    return schema


def enum_schema(cls: type[enum.Enum]) -> Schema:
    values = [member.value for member in cls]
    kind = "integer" if all(isinstance(v, int) for v in values) else "string"
    schema: Schema = {"title": cls.__name__, "type": kind, "enum": values}
    if doc := cls.__doc__:
        schema["description"] = doc.strip()
    return schema


def union_schema(members: list[StructInfo]) -> Schema:
    """A tagged union: `oneOf` the members, each with its `type` as a `const`.

    No `discriminator` keyword: it is OpenAPI's, not JSON Schema's, and ajv's strict
    mode (the default) refuses it; `tag_map` finds the member of a tag instead."""
    return {
        "type": "object",
        "required": ["type"],
        "properties": {"type": {"enum": [tag_of(m) for m in members]}},
        "oneOf": [ref(m.name) for m in members],
    }


def tag_map(union: Schema, defs: dict[str, Schema]) -> dict[str, str]:
    """`type` tag → the `$defs` name of the union member it selects."""
    names = (member["$ref"].rsplit("/", 1)[1] for member in union["oneOf"])
    return {defs[name]["properties"]["type"]["const"]: name for name in names}


def definitions(catalog: Catalog) -> dict[str, Schema]:
    """Every named type's schema, sorted by name so diffs stay reviewable."""
    catalog.check_names()
    defs: dict[str, Schema] = {s.name: struct_schema(s, catalog) for s in catalog.frames()}
    defs.update({name: struct_schema(p, catalog) for name, p in catalog.parts.items()})
    defs.update({name: enum_schema(cls) for name, cls in catalog.enums.items()})
    for name, values in catalog.literals.items():
        defs[name] = {"title": name, "type": "string", "enum": list(values)}
    defs["ServerFrame"] = union_schema(catalog.server_frames)
    defs["ClientFrame"] = union_schema(catalog.client_frames)
    defs["StreamEvent"] = union_schema(catalog.stream_events)
    return dict(sorted(defs.items()))


def bundle_schema(catalog: Catalog) -> Schema:
    """`flowwire.schema.json`: every frame and every type it uses, in `$defs`; the document
    itself validates one frame of either direction."""
    return {
        "$schema": DIALECT,
        "$id": f"{SCHEMA_BASE_URI}flowwire.schema.json",
        "title": f"flowwire protocol {PROTOCOL_VERSION}",
        "description": (
            "One frame of the flowwire WebSocket protocol, of either direction; every frame "
            "and every type it uses are in $defs. Generated; do not edit."
        ),
        # anyOf, not oneOf: `ping` and `pong` are frames of both directions.
        "anyOf": [ref("ServerFrame"), ref("ClientFrame")],
        "$defs": definitions(catalog),
    }


def _reachable(root: str, defs: dict[str, Schema]) -> list[str]:
    seen: list[str] = []
    stack = [root]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen.append(name)
        stack.extend(schema_refs(defs[name]))
    return sorted(seen)


def schema_refs(node: object) -> list[str]:
    """The names of the `$defs` a schema node refers to, depth first."""
    if isinstance(node, dict):
        found = [node["$ref"].rsplit("/", 1)[1]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += schema_refs(value)
        return found
    if isinstance(node, list):
        return [name for item in node for name in schema_refs(item)]
    return []


def direction_schema(catalog: Catalog, union: str) -> Schema:
    """A standalone schema validating one frame of a direction (`ServerFrame`, `ClientFrame`)."""
    defs = definitions(catalog)
    slug = "server-frame" if union == "ServerFrame" else "client-frame"
    return {
        "$schema": DIALECT,
        "$id": f"{SCHEMA_BASE_URI}{slug}.schema.json",
        "title": union,
        "description": f"One {union} of the flowwire protocol. Generated; do not edit.",
        **defs[union],
        # The union is the document itself, and also in $defs for frames that contain
        # frames of it (`batch`).
        "$defs": {name: defs[name] for name in _reachable(union, defs)},
    }
