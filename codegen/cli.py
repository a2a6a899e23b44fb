"""`flowwire codegen` / `python -m codegen`: write or check the generated protocol files."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from pathlib import Path

from wsproto_schema import registry

from .artifacts import check, render, write

__all__ = ["add_arguments", "main", "run"]


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
    sys.path.insert(0, str(Path.cwd()))
    try:
        modules = [importlib.import_module(name) for name in args.module]
    finally:
        sys.path.pop(0)
    files = render(registry, modules)
    if args.check:
        stale = check(args.out, files)
        for path in stale:
            print(f"stale: {path} (run `flowwire codegen` and commit the result)", file=sys.stderr)
        if not stale:
            print(f"up to date: {len(files)} files in {args.out}")
        return 1 if stale else 0
    written = write(args.out, files)
    for name in files:
        path = args.out / name
        print(f"{'wrote' if path in written else 'unchanged'}: {path}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m codegen",
        description="Generate JSON Schema, TypeScript and AsyncAPI from the flowwire Structs.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
