"""Generate the flowwire protocol's JSON Schema, TypeScript types and AsyncAPI document.

From a checkout this package is `codegen` (`python -m codegen`); installed, it is
`flowwire_codegen` (`flowwire codegen`).
"""

from __future__ import annotations

from wsproto_schema.asyncapi import asyncapi_document
from wsproto_schema.catalog import Catalog
from wsproto_schema.json_schema import bundle_schema, direction_schema

from .artifacts import ARTIFACTS, check, render, write
from .typescript import typescript_module

__all__ = [
    "ARTIFACTS",
    "Catalog",
    "asyncapi_document",
    "bundle_schema",
    "check",
    "direction_schema",
    "render",
    "typescript_module",
    "write",
]
