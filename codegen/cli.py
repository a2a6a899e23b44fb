"""`flowwire codegen` / `python -m codegen`: write or check the generated protocol files."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from wsproto_schema import registry

from .artifacts import check, render, write

__all__ = ["CodegenError", "add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("schemas"),
        help="directory of the generated files (default: ./schemas)",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 and name each file that is stale or missing",
    )
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="PKG.MOD",
        help="import a module that registers application events (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    """Write or check the files; a module that cannot be imported, or a field type no
    generated file can express, is one line on stderr and exit 2, not a traceback."""
    sys.path.insert(0, str(Path.cwd()))
    try:
        modules = [_import(name) for name in args.module]
        files = _render(modules)
    except CodegenError as error:
        print(f"flowwire codegen: {error}", file=sys.stderr)
        return 2
    finally:
        sys.path.pop(0)
    if args.check:
        return _check(args.out, files, args.module)
    written = write(args.out, files)
    for name in files:
        path = args.out / name
        print(f"{'wrote' if path in written else 'unchanged'}: {path}")
    return 0


class CodegenError(Exception):
    """What the user must fix before codegen can run: said in one line."""


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise CodegenError(f"cannot import --module {name!r}: {exc}") from None
    except Exception as exc:  # the module itself failed: its own error, located
        raise CodegenError(f"importing --module {name!r} failed: {exc!r}") from None


def _render(modules: list[ModuleType]) -> dict[str, str]:
    try:
        return render(registry, modules)
    except TypeError as exc:  # a field type JSON Schema or TypeScript cannot express
        raise CodegenError(str(exc)) from None


def _check(out: Path, files: dict[str, str], modules: list[str]) -> int:
    """Name each file that is missing or stale, and the likely reason: a committed bundle
    with event types this run does not know was generated with a `--module` not given."""
    problems = check(out, files)
    for path in problems:
        state = "stale" if path.exists() else "missing"
        print(f"{state}: {path} (run `flowwire codegen` and commit the result)", file=sys.stderr)
    unknown = _unknown_events(out, files)
    if unknown:
        given = " ".join(f"--module {m}" for m in modules) or "no --module"
        print(
            f"hint: {out / 'flowwire.schema.json'} has event types this run ({given}) does not "
            f"know: {', '.join(unknown)}; pass the --module that registers them (or set "
            "FLOWWIRE_MODULE), and the same --out",
            file=sys.stderr,
        )
    if not problems:
        print(f"up to date: {len(files)} files in {out}")
    return 1 if problems else 0


def _unknown_events(out: Path, files: dict[str, str]) -> list[str]:
    try:
        committed = json.loads((out / "flowwire.schema.json").read_text(encoding="utf-8"))
        known = json.loads(files["flowwire.schema.json"])
        tags = committed["$defs"]["StreamEvent"]["properties"]["type"]["enum"]
        ours = known["$defs"]["StreamEvent"]["properties"]["type"]["enum"]
    except (OSError, ValueError, KeyError, TypeError):
        return []  # missing or not ours: the missing/stale line says enough
    return sorted(set(tags) - set(ours))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate JSON Schema, TypeScript and AsyncAPI from the flowwire Structs.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
