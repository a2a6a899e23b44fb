"""Every option of the `flowwire` command, also from a `FLOWWIRE_*` environment variable.

`--allowed-origins` is `FLOWWIRE_ALLOWED_ORIGINS`, `--port` is `FLOWWIRE_PORT`:
the option's long name in upper case, dashes as underscores. An option given on
the command line wins over the environment, which wins over the default. Flags
take `1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`; repeatable options
(`--topic`, `--module`) take a comma-separated list. A value that does not fit
the option fails like a bad command-line value, naming the variable.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["PREFIX", "apply_environment", "variable"]

PREFIX = "FLOWWIRE_"
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off", "")


def variable(action: argparse.Action) -> str | None:
    """The environment variable of an option (`--api-key` → `FLOWWIRE_API_KEY`)."""
    long = [name for name in action.option_strings if name.startswith("--")]
    if not long or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
        return None
    return PREFIX + long[0][2:].upper().replace("-", "_")


def apply_environment(
    parser: argparse.ArgumentParser, environ: Mapping[str, str] | None = None
) -> None:
    """Set the default of each option of `parser` and its subcommands whose variable is set,
    and name the variable in the option's help."""
    env = os.environ if environ is None else environ
    for command, action in _options(parser):
        name = variable(action)
        if name is None:
            continue
        if action.help and action.help is not argparse.SUPPRESS and name not in action.help:
            action.help = f"{action.help} [env {name}]"
        if name in env:
            action.default = _value(command, action, name, env[name])
            action.required = False


def _options(
    parser: argparse.ArgumentParser,
) -> Iterator[tuple[argparse.ArgumentParser, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield from _options(sub)
        elif action.option_strings:
            yield parser, action


def _value(parser: argparse.ArgumentParser, action: argparse.Action, name: str, raw: str) -> Any:
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        flag = raw.strip().lower()
        if flag not in TRUE + FALSE:
            parser.error(f"{name}={raw!r}: expected one of {', '.join(TRUE + FALSE[:-1])}")
        given = flag in TRUE
        return given if isinstance(action, argparse._StoreTrueAction) else not given
    if isinstance(action, argparse._AppendAction):
        return [_one(parser, action, name, item.strip()) for item in raw.split(",") if item.strip()]
    return _one(parser, action, name, raw)


def _one(parser: argparse.ArgumentParser, action: argparse.Action, name: str, raw: str) -> Any:
    convert = action.type
    try:
        value = convert(raw) if callable(convert) else raw
    except (TypeError, ValueError):
        kind = getattr(convert, "__name__", "value")
        parser.error(f"{name}={raw!r}: not a valid {kind}")
    if action.choices is not None and value not in action.choices:
        parser.error(f"{name}={raw!r}: choose from {', '.join(map(str, action.choices))}")
    return value
