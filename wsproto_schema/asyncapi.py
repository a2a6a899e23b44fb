"""An AsyncAPI 3.0 document of the server: a message per frame, payloads from JSON Schema."""

from __future__ import annotations

from typing import Any

from wsproto_schema import PROTOCOL_VERSION, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK
from wsproto_schema import __version__ as flowwire_version

from .catalog import Catalog, StructInfo, tag_of
from .json_schema import definitions

__all__ = ["asyncapi_document"]

CHANNEL = "flowwire"
COMPONENT_PREFIX = "#/components/schemas/"

DESCRIPTION = f"""\
The flowwire WebSocket protocol ({PROTOCOL_VERSION}): live workflow execution \
(nodes, progress, logs, LLM tokens) streamed to clients, and their commands back.

Offer the subprotocol `{SUBPROTOCOL_JSON}` (text frames) or `{SUBPROTOCOL_MSGPACK}` \
(binary frames, same structure); no offer means JSON. Every frame is an object tagged by `type`.
"""


def _draft07(node: Any) -> Any:
    """AsyncAPI schemas are a draft-07 superset: point `$ref`s at `components.schemas`."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = COMPONENT_PREFIX + value.rsplit("/", 1)[1]
            else:
                out[key] = _draft07(value)
        return out
    if isinstance(node, list):
        return [_draft07(item) for item in node]
    return node


def _message(struct: StructInfo) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": tag_of(struct),
        "title": struct.name,
        "payload": {"$ref": COMPONENT_PREFIX + struct.name},
    }
    if struct.description:
        message["summary"] = struct.description.splitlines()[0]
    return message


def _message_refs(structs: list[StructInfo]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{CHANNEL}/messages/{s.name}"} for s in structs]


def asyncapi_document(catalog: Catalog) -> dict[str, Any]:
    """The AsyncAPI document, seen from the server: it sends server frames, receives commands."""
    defs = definitions(catalog)
    frames = catalog.frames()
    control = [s for s in catalog.server_frames if s not in catalog.stream_events]
    channel_ref = {"$ref": f"#/channels/{CHANNEL}"}
    answers = [s for s in catalog.server_frames if s.name in ("Reply", "ErrorFrame", "Pong")]
    operations: dict[str, Any] = {
        "sendControlFrame": {
            "action": "send",
            "channel": channel_ref,
            "summary": "Connection control: welcome, replies, errors, heartbeat, snapshots.",
            "messages": _message_refs(control),
        },
        "sendStreamEvent": {
            "action": "send",
            "channel": channel_ref,
            "summary": "Events of the topics the client subscribed to, in `seq` order per topic.",
            "messages": _message_refs(catalog.stream_events),
        },
    }
    for command in catalog.client_frames:
        operations[f"receive{command.name}"] = {
            "action": "receive",
            "channel": channel_ref,
            "summary": (command.description or command.name).splitlines()[0],
            "messages": _message_refs([command]),
            "reply": {"channel": channel_ref, "messages": _message_refs(answers)},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "flowwire",
            "version": flowwire_version,
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "localhost:8000",
                "protocol": "ws",
                "description": "`flowwire demo` on this machine.",
            }
        },
        "channels": {
            CHANNEL: {
                "address": "/ws",
                "title": "flowwire WebSocket",
                "description": "One WebSocket per client, many topics on it.",
                "messages": {s.name: {"$ref": f"#/components/messages/{s.name}"} for s in frames},
            }
        },
        "operations": operations,
        "components": {
            "schemas": {name: _draft07(schema) for name, schema in defs.items()},
            "messages": {s.name: _message(s) for s in frames},
        },
    }
