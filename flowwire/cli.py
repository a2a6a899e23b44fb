"""The `flowwire` command: `codegen`, `demo`, and the operator's `watch`, `run`, `tail`,
`publish` (flowwire.terminal).

It sits on top of every other package: the protocol, the code generator
(installed as `flowwire_codegen`), the demo server and the client. The server
and the code generator load only for their own subcommands, so that a
client-only install runs the operator's commands.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import wsproto_schema

__all__ = ["build_parser", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(args_list).parse_args(args_list)
    result: int = args.run(args)
    return result


def build_parser(
    args_list: Sequence[str], environ: Mapping[str, str] | None = None
) -> argparse.ArgumentParser:
    """The `flowwire` parser for these arguments: the server's commands are loaded only when
    asked for; every option's default may come from its `FLOWWIRE_*` variable."""
    from flowwire.environment import apply_environment
    from flowwire.terminal import add_commands

    parser = argparse.ArgumentParser(prog="flowwire", description="flowwire command line")
    parser.add_argument(
        "--version", action="version", version=f"flowwire {wsproto_schema.__version__}"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    if list(args_list[:1]) in (["codegen"], ["demo"]):
        _add_server_commands(commands)
    else:  # listed in --help; loaded only when asked for
        commands.add_parser("codegen", help=CODEGEN_HELP)
        commands.add_parser("demo", help=DEMO_HELP)
    apply_environment(parser, environ)  # FLOWWIRE_PORT=9000 flowwire demo, …
    return parser


CODEGEN_HELP = "generate JSON Schema, TypeScript and AsyncAPI from the protocol Structs"
DEMO_HELP = "run the demo server: sample workflows streamed to a page at /"


def _add_server_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from asgi_plugin.demo.site import add_arguments as add_demo_arguments
    from asgi_plugin.demo.site import run as run_demo
    from flowwire_codegen.cli import add_arguments as add_codegen_arguments
    from flowwire_codegen.cli import run as run_codegen

    codegen = commands.add_parser("codegen", help=CODEGEN_HELP)
    add_codegen_arguments(codegen)
    codegen.set_defaults(run=run_codegen)
    demo = commands.add_parser("demo", help=DEMO_HELP)
    add_demo_arguments(demo)
    demo.set_defaults(run=run_demo)
