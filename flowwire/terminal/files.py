"""Workflow files for `flowwire run` (JSON or YAML), checked as the server checks them.

A file is a workflow (`{"id": …, "nodes": […], "edges": […]}`) or an `execute`
command's body (`{"workflow": {…}, "inputs": {…}}`). Its structure is checked
with the protocol's own decoder and `check_workflow`, so the messages and JSON
paths are the server's (`$.edges[0].target: unknown node 'lod'`, rooted at the
file); the node kinds and their params are the server's to check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

import wsproto_schema as ws
from wsproto_schema.errors import error_from_msgspec
from wsproto_schema.workflow import check_workflow

__all__ = ["WorkflowFile", "WorkflowFileError", "load_workflow"]


class WorkflowFileError(Exception):
    """The file cannot be run: `path` in it, and the server's message."""

    def __init__(self, file: str, message: str, path: str | None = None) -> None:
        super().__init__(f"{file}: {message}")
        self.path = path


class WorkflowFile(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An `execute` command's body, without the command's own fields."""

    workflow: ws.WorkflowSpec
    inputs: dict[str, Any] | None = None


def _parse(path: Path) -> Any:
    data = path.read_bytes()
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            return msgspec.yaml.decode(data)
        except ImportError:
            raise WorkflowFileError(
                str(path), "YAML files need PyYAML: pip install 'flowwire[yaml]'"
            ) from None
    return msgspec.json.decode(data)


def load_workflow(file: str) -> WorkflowFile:
    """The workflow in `file`, structurally valid; WorkflowFileError says what is not."""
    path = Path(file)
    try:
        raw = _parse(path)
    except OSError as exc:
        raise WorkflowFileError(file, exc.strerror or str(exc)) from None
    except msgspec.DecodeError as exc:
        kind = path.suffix.lstrip(".") or "JSON"
        raise WorkflowFileError(file, f"not valid {kind}: {exc}") from None
    wrapped = isinstance(raw, dict) and "workflow" in raw
    try:
        if wrapped:
            loaded = msgspec.convert(raw, WorkflowFile)
        else:
            loaded = WorkflowFile(workflow=msgspec.convert(raw, ws.WorkflowSpec))
        check_workflow(loaded.workflow, root="$.workflow" if wrapped else "$")
    except msgspec.ValidationError as exc:
        error = error_from_msgspec(exc, keys=list(raw) if isinstance(raw, dict) else [])
        raise WorkflowFileError(file, error.message, error.path) from None
    except ws.ProtocolError as error:
        raise WorkflowFileError(file, error.message, error.path) from None
    return loaded
