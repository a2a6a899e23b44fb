"""An AsyncAPI 3.0 document of the server: a message per frame, payloads from JSON Schema.

The committed `schemas/asyncapi.json` describes `flowwire demo` on this machine;
a running app serves one describing itself (`GET …/asyncapi`: its host, scheme
and mount path, and the title and version you gave it).
"""

from __future__ import annotations

from typing import Any

from wsproto_schema import PROTOCOL_VERSION, SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, SUBPROTOCOLS
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


CORRELATED = ("Reply", "ErrorFrame")
"""Server frames that answer a command, echoing its `ref`."""

CORRELATION_ID = {
    "description": "`ref`, chosen by the client on a command, echoed by its `reply` or `error`.",
    "location": "$message.payload#/ref",
}

WEBSOCKET_BINDING = {
    "ws": {
        "method": "GET",
        "headers": {
            "type": "object",
            "properties": {
                "Sec-WebSocket-Protocol": {
                    "type": "string",
                    "enum": list(SUBPROTOCOLS),
                    "description": (
                        "The subprotocol: JSON text frames or MessagePack binary frames of "
                        "the same structure. No offer means JSON."
                    ),
                }
            },
        },
        "bindingVersion": "0.1.0",
    }
}


def _message(struct: StructInfo, commands: set[str]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": tag_of(struct),
        "title": struct.name,
        "payload": {"$ref": COMPONENT_PREFIX + struct.name},
    }
    if struct.name in CORRELATED or struct.name in commands:
        message["correlationId"] = {"$ref": "#/components/correlationIds/ref"}
    if struct.description:
        message["summary"] = struct.description.splitlines()[0]
    return message


def _message_refs(structs: list[StructInfo]) -> list[dict[str, str]]:
    return [{"$ref": f"#/channels/{CHANNEL}/messages/{s.name}"} for s in structs]


def asyncapi_document(
    catalog: Catalog,
    *,
    host: str = "localhost:8000",
    protocol: str = "ws",
    address: str = "/ws",
    title: str = "flowwire",
    version: str = flowwire_version,
    server_description: str = "`flowwire demo` on this machine.",
) -> dict[str, Any]:
    """The AsyncAPI document, seen from the server: it sends server frames, receives commands.

    `host` (`example.com:8443`), `protocol` (`ws` or `wss`) and `address` (the mount
    path, `/live`) say where the WebSocket is; `title` and `version` are your API's."""
    defs = definitions(catalog)
    commands = {s.name for s in catalog.client_frames}
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
            "title": title,
            "version": version,
            "description": DESCRIPTION,
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "flowwire": {
                "host": host,
                "protocol": protocol,
                "description": server_description,
            }
        },
        "channels": {
            CHANNEL: {
                "address": address,
                "title": "flowwire WebSocket",
                "bindings": WEBSOCKET_BINDING,
                "description": "One WebSocket per client, many topics on it.",
                "messages": {s.name: {"$ref": f"#/components/messages/{s.name}"} for s in frames},
            }
        },
        "operations": operations,
        "components": {
            "schemas": {name: _draft07(schema) for name, schema in defs.items()},
            "messages": {s.name: _message(s, commands) for s in frames},
            "correlationIds": {"ref": CORRELATION_ID},
        },
    }
