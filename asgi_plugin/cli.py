"""The `flowwire` command: `flowwire codegen`, `flowwire demo`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from flowwire_codegen.cli import add_arguments as add_codegen_arguments
    from flowwire_codegen.cli import run as run_codegen

    from .demo import add_arguments as add_demo_arguments
    from .demo import run as run_demo

    parser = argparse.ArgumentParser(prog="flowwire", description="flowwire command line")
    commands = parser.add_subparsers(dest="command", required=True)
    codegen = commands.add_parser(
        "codegen", help="generate JSON Schema, TypeScript and AsyncAPI from the protocol Structs"
    )
    add_codegen_arguments(codegen)
    codegen.set_defaults(run=run_codegen)
    demo = commands.add_parser(
        "demo", help="run the demo server: sample workflows streamed to a page at /"
    )
    add_demo_arguments(demo)
    demo.set_defaults(run=run_demo)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result
