"""The `flowwire` command: `flowwire codegen`, `flowwire demo`.

It sits on top of every other package: the protocol, the code generator
(installed as `flowwire_codegen`) and the demo server.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import wsproto_schema

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from asgi_plugin.demo.site import add_arguments as add_demo_arguments
    from asgi_plugin.demo.site import run as run_demo
    from flowwire_codegen.cli import add_arguments as add_codegen_arguments
    from flowwire_codegen.cli import run as run_codegen

    parser = argparse.ArgumentParser(prog="flowwire", description="flowwire command line")
    parser.add_argument(
        "--version", action="version", version=f"flowwire {wsproto_schema.__version__}"
    )
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
