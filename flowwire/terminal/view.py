"""The live view of one execution, drawn with rich: nodes, progress, tokens, usage, logs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from flowwire.client import ExecutionView, Status

__all__ = ["Screen", "render"]

STATUS_STYLE = {
    "pending": "dim",
    "running": "bold cyan",
    "succeeded": "green",
    "failed": "bold red",
    "skipped": "yellow",
    "cancelled": "magenta",
    "paused": "bold yellow",
    "completed": "bold green",
    "stopped": "magenta",
}
LEVEL_STYLE = {"debug": "dim", "info": "", "warning": "yellow", "error": "bold red"}
LOG_LINES = 6
TOKEN_CHARS = 160


@dataclass
class Screen:
    """What the view shows besides the execution: the connection, keys, the last message."""

    url: str
    status: Status | None = None
    message: str = ""
    answering: str | None = None
    """The answer being typed to an input request, or None."""
    keys: bool = True
    waiting: str = ""
    """Shown while there is no execution yet."""
    resets: list[str] = field(default_factory=list)


def _seconds(ms: float) -> str:
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def _duration(started: int | None, finished: int | None, duration: int | None) -> str:
    if duration is not None:
        return _seconds(duration)
    if started is None:
        return ""
    end = finished if finished is not None else time.time() * 1000
    return _seconds(max(0.0, end - started))


def _nodes(view: ExecutionView) -> Table:
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold")
    for column in ("node", "status", "attempt", "duration", "progress"):
        table.add_column(column, justify="right" if column in ("attempt", "duration") else "left")
    order = view.order or list(view.nodes)
    for node_id in [*order, *(n for n in view.nodes if n not in order)]:
        node = view.nodes.get(node_id)
        if node is None:
            continue
        label = node_id if node.name in (None, node_id) else f"{node_id} ({node.name})"
        progress: RenderableType = ""
        if node.progress is not None:
            progress = Text(f"{node.progress:>4.0%}")
        table.add_row(
            label,
            Text(node.status, style=STATUS_STYLE.get(node.status, "")),
            str(node.attempt or ""),
            _duration(node.started_ts, node.finished_ts, node.duration_ms),
            progress,
        )
    return table


def _progress(view: ExecutionView) -> RenderableType:
    p = view.progress()
    bar = ProgressBar(total=100, completed=p.percent, width=40)
    eta = f" · ETA {_seconds(p.eta_ms)}" if p.eta_ms is not None and not view.finished else ""
    label = Text(f" {p.completed}/{p.total} nodes · {p.percent:.0f}%{eta}")
    grid = Table.grid()
    grid.add_row(bar, label)
    return grid


def _tokens(view: ExecutionView) -> list[RenderableType]:
    out: list[RenderableType] = []
    running = {k for k, n in view.nodes.items() if n.status == "running"}
    texts = view.streamed.text
    shown = [k for k in texts if k in running] or list(texts)[-1:]
    for node_id in shown:
        text = " ".join(texts[node_id].split())
        if len(text) > TOKEN_CHARS:
            text = "…" + text[-TOKEN_CHARS:]
        line = Text(f"{node_id} ▸ ", style="bold")
        line.append(text)
        out.append(line)
    prompt, completion, cost = view.total_usage()
    if prompt or completion:
        usage = f"usage: {prompt} prompt + {completion} completion tokens"
        out.append(Text(usage + (f" · cost {cost:g}" if cost is not None else ""), style="dim"))
    return out


def _logs(view: ExecutionView) -> list[RenderableType]:
    out: list[RenderableType] = []
    for log in list(view.streamed.logs)[-LOG_LINES:]:
        line = Text(f"{log.level:<7} ", style=LEVEL_STYLE.get(log.level, ""))
        line.append(f"{log.node_id}: " if log.node_id else "", style="bold")
        line.append(log.message)
        out.append(line)
    return out


def _connection(screen: Screen) -> Text:
    status = screen.status
    if status is None or status.state == "connecting":
        return Text(f"… connecting to {screen.url}", style="yellow")
    if status.state == "connected":
        line = Text(f"● connected {screen.url}", style="green")
        if status.recovered is not None:
            line.append(
                " · resumed by replay" if status.recovered else " · state from snapshots",
                style="dim",
            )
        return line
    if status.state == "reconnecting":
        code = f"closed {status.close_code}" if status.close_code else "dropped"
        retry = f" in {_seconds(status.retry_ms)}" if status.retry_ms is not None else ""
        reason = f" {status.reason}" if status.reason else ""
        return Text(
            f"↻ reconnecting{retry} (attempt {status.attempt}, {code}{reason})",
            style="bold yellow",
        )
    return Text(f"✕ {status.reason or 'closed'}", style="bold red")


def render(view: ExecutionView | None, screen: Screen) -> RenderableType:
    parts: list[RenderableType] = []
    if view is None:
        parts.append(Text(screen.waiting or "waiting for an execution…", style="dim"))
    else:
        head = Text(f"{view.name or view.workflow_id} ", style="bold")
        head.append(f"{view.workflow_id}/{view.execution_id} ", style="dim")
        head.append(view.status, style=STATUS_STYLE.get(view.status, ""))
        head.append(f" · {_duration(view.started_ts, view.finished_ts, view.duration_ms)}")
        parts += [head, _nodes(view), _progress(view), *_tokens(view)]
        logs = _logs(view)
        if logs:
            parts += [Text("logs", style="bold"), *logs]
        if view.error is not None:
            parts.append(Text(f"error: {view.error.message}", style="bold red"))
        for request in view.inputs.values():
            ask = Text(f"⌨ {request.node_id} asks: {request.prompt}", style="bold magenta")
            if screen.answering is not None:
                ask.append(f"\n  answer> {screen.answering}█  (Enter sends, Esc cancels)")
            elif screen.keys:
                ask.append("  [i] answer")
            parts.append(ask)
    parts.append(_connection(screen))
    if screen.message:
        parts.append(Text(f"» {screen.message}"))
    if screen.keys:
        parts.append(
            Text("keys: p pause · r resume · s stop · i answer · Ctrl-C leave", style="dim")
        )
    return Group(*parts)
