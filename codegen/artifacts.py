"""The generated files: render them, write them, or check that the committed ones are current."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from wsproto_schema import FrameRegistry, registry
from wsproto_schema.asyncapi import asyncapi_document
from wsproto_schema.catalog import Catalog
from wsproto_schema.json_schema import bundle_schema, direction_schema

from .profiles import profile_files
from .typescript import typescript_module

__all__ = ["ARTIFACTS", "check", "render", "write"]

ARTIFACTS = (
    "flowwire.schema.json",
    "server-frame.schema.json",
    "client-frame.schema.json",
    "flowwire.ts",
    "asyncapi.json",
    *profile_files(),
)


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def render(frames: FrameRegistry = registry, modules: Iterable[ModuleType] = ()) -> dict[str, str]:
    """Every artifact's file name and exact content; the same input gives the same bytes."""
    catalog = Catalog.build(frames, modules)
    return {
        "flowwire.schema.json": _json(bundle_schema(catalog)),
        "server-frame.schema.json": _json(direction_schema(catalog, "ServerFrame")),
        "client-frame.schema.json": _json(direction_schema(catalog, "ClientFrame")),
        "flowwire.ts": typescript_module(catalog),
        "asyncapi.json": _json(asyncapi_document(catalog)),
        **profile_files(),
    }


def write(out: Path, files: dict[str, str]) -> list[Path]:
    """Write the files that changed; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != content:
            path.write_text(content, encoding="utf-8")
            written.append(path)
    return written


def check(out: Path, files: dict[str, str]) -> list[Path]:
    """The files under `out` that are missing or differ from what codegen renders now."""
    return [
        out / name
        for name, content in files.items()
        if not (out / name).exists() or (out / name).read_text(encoding="utf-8") != content
    ]
