"""`flowwire watch`, `run`, `tail` and `publish`: their arguments, and what each runs."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.text import Text

import wsproto_schema as ws
from flowwire.client import ClientError, CommandError, ConnectionLost, FlowwireClient

from .files import WorkflowFileError, load_workflow
from .lines import human_line, json_line
from .outcome import Exit
from .publish import publish
from .view import STATUS_STYLE
from .watch import Watch, interactive

__all__ = ["add_commands"]

EXIT_CODES = (
    "exit codes: 0 completed, 1 failed, 2 usage, 3 stopped, "
    "4 lost (runner lost, or the connection could not be restored), 5 no such execution"
)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", metavar="URL", help="the flowwire WebSocket, ws://host:8000/ws")
    parser.add_argument(
        "--token",
        default=os.environ.get("FLOWWIRE_TOKEN"),
        help="sent as `auth` after connecting (default: $FLOWWIRE_TOKEN)",
    )
    parser.add_argument("--protocol", choices=("json", "msgpack"), default="json")
    parser.add_argument(
        "--give-up-after",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="stop reconnecting after this long without a connection (60)",
    )
    parser.add_argument(
        "--plain", action="store_true", help="plain lines even on a terminal (as when piped)"
    )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    watch = commands.add_parser(
        "watch",
        help="follow an execution live: nodes, progress, tokens, logs; p/r/s pause/resume/stop",
        epilog=EXIT_CODES,
    )
    _connection_options(watch)
    which = watch.add_mutually_exclusive_group(required=True)
    which.add_argument("--execution", metavar="ID", help="the execution to follow")
    which.add_argument(
        "--topic", metavar="T", help="follow the newest live execution of topic T (or the next)"
    )
    watch.set_defaults(run=lambda args: _run_async(_watch(args)))

    run = commands.add_parser(
        "run",
        help="run a workflow file (JSON or YAML) and exit with its outcome",
        epilog=EXIT_CODES,
    )
    run.add_argument("file", metavar="WORKFLOW", help="workflow.json or .yaml")
    _connection_options(run)
    mode = run.add_mutually_exclusive_group()
    mode.add_argument("--watch", action="store_true", help="the live view while it runs")
    mode.add_argument(
        "--detach", action="store_true", help="print the execution id and exit once it started"
    )
    run.set_defaults(run=lambda args: _run_async(_run(args)))

    tail = commands.add_parser("tail", help="print a topic's events, one line each")
    _connection_options(tail)
    tail.add_argument("--topic", metavar="T", required=True, action="append", help="repeatable")
    tail.add_argument(
        "--json", action="store_true", help="one JSON frame per line (NDJSON), schema-valid"
    )
    tail.add_argument("--count", type=int, metavar="N", help="exit after N events")
    tail.set_defaults(run=lambda args: _run_async(_tail(args)))

    pub = commands.add_parser("publish", help="publish events through the server's POST publish")
    pub.add_argument("url", metavar="URL", help="ws://host/ws or http://host/ws/publish")
    pub.add_argument(
        "--api-key",
        default=os.environ.get("FLOWWIRE_API_KEY"),
        help="the app's api_key (default: $FLOWWIRE_API_KEY)",
    )
    pub.add_argument("file", metavar="EVENTS", help="a JSON event or array of events; - for stdin")
    pub.set_defaults(run=_publish)


def _run_async(main: Awaitable[int]) -> int:
    try:
        return asyncio.run(main)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


def _client(args: argparse.Namespace, watch: Watch | None = None) -> FlowwireClient:
    return FlowwireClient(
        args.url,
        token=args.token,
        protocol=args.protocol,
        give_up_after=args.give_up_after,
        on_status=watch.on_status if watch is not None else None,
        on_error=watch.on_error if watch is not None else _warn,
    )


def _warn(error: Exception) -> None:
    print(f"flowwire: warning: {error}", file=sys.stderr, flush=True)


async def _connected(
    args: argparse.Namespace,
    body: Callable[[FlowwireClient], Awaitable[int]],
    watch: Watch | None = None,
) -> int:
    try:
        client = _client(args, watch)
    except ValueError as exc:
        print(f"flowwire: {exc}", file=sys.stderr)
        return Exit.USAGE
    try:
        await client.connect()
    except ClientError as exc:
        print(f"flowwire: {exc}", file=sys.stderr)
        return Exit.LOST
    try:
        return await body(client)
    except ConnectionLost as exc:
        print(f"flowwire: connection lost: {exc}", file=sys.stderr)
        return Exit.LOST
    finally:
        await client.close()


async def _watch(args: argparse.Namespace) -> int:
    watch = Watch(args.url, live=interactive() and not args.plain)

    async def body(client: FlowwireClient) -> int:
        topic = args.topic or await _topic_of(client, args.execution)
        if topic is None:
            print(f"flowwire watch: no live execution {args.execution!r}", file=sys.stderr)
            return Exit.NOT_FOUND
        stream = client.events(topic)
        await client.subscribe(topic)
        await client.roundtrip()  # its snapshots are in the store now
        if args.execution is not None and client.store.get(args.execution) is None:
            print(f"flowwire watch: no execution {args.execution!r} on {topic}", file=sys.stderr)
            return Exit.NOT_FOUND
        return await watch.follow(client, stream, args.execution)

    return await _connected(args, body, watch)


async def _topic_of(client: FlowwireClient, execution_id: str) -> str | None:
    """The topic of a live execution: from the snapshots of every topic (`*`)."""
    await client.subscribe("*")
    await client.roundtrip()
    await client.unsubscribe("*")
    view = client.store.get(execution_id)
    return view.topic if view is not None else None


async def _run(args: argparse.Namespace) -> int:
    try:
        loaded = load_workflow(args.file)
    except WorkflowFileError as exc:
        print(f"flowwire run: {exc}", file=sys.stderr)
        return Exit.FAILED
    watch = Watch(args.url, live=args.watch and interactive() and not args.plain)

    async def body(client: FlowwireClient) -> int:
        stream = client.events(f"workflow:{loaded.workflow.id}")
        try:
            result = await client.execute(loaded.workflow, loaded.inputs)
        except CommandError as exc:
            at = f" at {exc.path}" if exc.path else ""
            print(f"flowwire run: refused: {exc.code.value}{at}: {exc.message}", file=sys.stderr)
            return Exit.FAILED
        print(f"started {result.execution_id} on {result.topic}", flush=True)
        if args.detach:
            return Exit.COMPLETED
        return await watch.follow(client, stream, result.execution_id)

    return await _connected(args, body, watch)


async def _tail(args: argparse.Namespace) -> int:
    console = (
        Console(highlight=False) if interactive() and not args.plain and not args.json else None
    )

    async def body(client: FlowwireClient) -> int:
        events = 0
        async for item in client.events(*args.topic):
            line = json_line(item) if args.json else human_line(item)
            if console is not None:
                status = getattr(item, "status", None)
                console.print(Text(line, style=STATUS_STYLE.get(str(status), "")))
            else:
                print(line, flush=True)
            events += isinstance(item, ws.Event)
            if args.count is not None and events >= args.count:
                break
        return Exit.COMPLETED

    return await _connected(args, body)


def _publish(args: argparse.Namespace) -> int:
    if not args.api_key:
        print("flowwire publish: give --api-key (or set FLOWWIRE_API_KEY)", file=sys.stderr)
        return Exit.USAGE
    try:
        body = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    except OSError as exc:
        print(f"flowwire publish: {args.file}: {exc.strerror}", file=sys.stderr)
        return Exit.FAILED
    return publish(args.url, args.api_key, body)
