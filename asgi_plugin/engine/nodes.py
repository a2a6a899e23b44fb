"""The runner's built-in node kinds, for demos and tests: sleep, fail, llm, input, log."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

import msgspec

import wsproto_schema as ws
from wsproto_schema import JsonValue

from .context import Kind, NodeContext, NodeFailure

__all__ = [
    "BUILTIN_KINDS",
    "FailParams",
    "InputParams",
    "LlmParams",
    "LogParams",
    "SleepParams",
]

# Every built-in parameter is bounded: one `execute` must not buy unbounded work.
Milliseconds = Annotated[int, msgspec.Meta(ge=0, le=60_000)]


class Params(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SleepParams(Params, frozen=True, kw_only=True):
    ms: Milliseconds = 100
    steps: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    """Report the node's progress this many times while it sleeps."""


async def sleep(node: NodeContext) -> JsonValue:
    params: SleepParams = node.params
    steps = max(1, params.steps)
    for step in range(1, steps + 1):
        await asyncio.sleep(params.ms / 1000 / steps)
        if params.steps and step < steps:
            await node.progress(step / steps)
    return {"slept_ms": params.ms}


class FailParams(Params, frozen=True, kw_only=True):
    message: Annotated[str, msgspec.Meta(max_length=1_000)] = "node failed"


async def fail(node: NodeContext) -> JsonValue:
    params: FailParams = node.params
    raise NodeFailure(params.message)


class LlmParams(Params, frozen=True, kw_only=True):
    text: Annotated[str, msgspec.Meta(max_length=10_000)] = "Hello from a streaming model."
    delay_ms: Annotated[int, msgspec.Meta(ge=0, le=5_000)] = 30
    model: Annotated[str, msgspec.Meta(max_length=100)] = "demo-llm"


async def llm(node: NodeContext) -> JsonValue:
    """Stream `text` word by word as tokens, like a chat model, then report usage."""
    params: LlmParams = node.params
    words = re.findall(r"\S+\s*", params.text) or [params.text]
    for word in words:
        await asyncio.sleep(params.delay_ms / 1000)
        await node.token(word)
    prompt = msgspec.json.encode(node.inputs).decode()
    await node.report.usage(
        node.id,
        prompt_tokens=len(prompt.split()),
        completion_tokens=len(words),
        model=params.model,
    )
    return params.text


class InputParams(Params, frozen=True, kw_only=True):
    prompt: Annotated[str, msgspec.Meta(max_length=1_000)] = "Your input?"
    input_schema: dict[str, Any] | None = None


async def ask(node: NodeContext) -> JsonValue:
    params: InputParams = node.params
    return await node.ask(params.prompt, input_schema=params.input_schema)


class LogParams(Params, frozen=True, kw_only=True):
    message: Annotated[str, msgspec.Meta(max_length=10_000)]
    level: ws.LogLevel = "info"


async def log(node: NodeContext) -> JsonValue:
    params: LogParams = node.params
    await node.log(params.message, level=params.level)
    return None


BUILTIN_KINDS: dict[str, Kind] = {
    "sleep": Kind(sleep, SleepParams),
    "fail": Kind(fail, FailParams),
    "llm": Kind(llm, LlmParams),
    "input": Kind(ask, InputParams),
    "log": Kind(log, LogParams),
}
