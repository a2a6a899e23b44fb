"""The AsyncAPI document as one static HTML page, for people: no script, no Node, no CDN.

A running app serves it at `GET …/asyncapi.html`, made from the same document
as `GET …/asyncapi` (so it names the server it came from): the connection
(URL, subprotocols), then every message a client sends and receives, each with
its fields (name, type, required, description) and the types they use.
"""

from __future__ import annotations

from html import escape
from typing import Any

from .json_schema import schema_refs

__all__ = ["asyncapi_html"]

STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #1d2330; }
h1, h2, h3 { line-height: 1.2; } h3 { margin-top: 2rem; }
code { font: 13px ui-monospace, monospace; background: #f1f3f7; padding: 0 .25em;
       border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid #dde1ea;
         padding: .3rem .5rem; }
th { font-weight: 600; background: #f7f8fb; }
.tag { font-size: 12px; color: #5a6478; }
"""


def asyncapi_html(document: dict[str, Any]) -> str:
    """The page of an AsyncAPI 3 document made by `asyncapi_document`."""
    info = document["info"]
    components = document["components"]
    schemas: dict[str, Any] = components["schemas"]
    messages: dict[str, Any] = components["messages"]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(info['title'])} {escape(info['version'])}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>{escape(info['title'])} <span class=tag>{escape(info['version'])}</span></h1>",
        _paragraphs(info.get("description", "")),
        "<h2>Connecting</h2>",
        _servers(document),
        "<h2>Operations</h2>",
        _operations(document),
        "<h2>Messages</h2>",
    ]
    for name, message in messages.items():
        parts.append(_message(name, message, schemas))
    used = sorted(_referenced(schemas, messages))
    if used:
        parts.append("<h2>Types</h2>")
        parts += [_schema_section(name, schemas[name]) for name in used]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{_inline(p)}</p>" for p in text.split("\n\n") if p.strip())


def _inline(text: str) -> str:
    """Escaped text with `code` spans."""
    pieces = escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def _servers(document: dict[str, Any]) -> str:
    channel = next(iter(document["channels"].values()))
    rows = []
    for server in document["servers"].values():
        url = f"{server['protocol']}://{server['host']}{channel['address']}"
        rows.append(f"<tr><td><code>{escape(url)}</code></td>")
        rows.append(f"<td>{_inline(server.get('description', ''))}</td></tr>")
    headers = channel.get("bindings", {}).get("ws", {}).get("headers", {})
    protocols = headers.get("properties", {}).get("Sec-WebSocket-Protocol", {}).get("enum", [])
    offer = ", ".join(f"<code>{escape(p)}</code>" for p in protocols)
    return (
        "<table><tr><th>WebSocket URL</th><th></th></tr>"
        + "".join(rows)
        + "</table>"
        + (f"<p>Subprotocols: {offer}.</p>" if offer else "")
    )


def _operations(document: dict[str, Any]) -> str:
    rows = []
    for operation in document["operations"].values():
        refs = [m["$ref"].rsplit("/", 1)[1] for m in operation.get("messages", [])]
        links = ", ".join(f'<a href="#message-{escape(r)}">{escape(r)}</a>' for r in refs)
        who = "server → client" if operation["action"] == "send" else "client → server"
        rows.append(
            f"<tr><td>{escape(who)}</td><td>{links}</td>"
            f"<td>{_inline(operation.get('summary', ''))}</td></tr>"
        )
    return (
        "<table><tr><th>direction</th><th>messages</th><th></th></tr>" + "".join(rows) + "</table>"
    )


def _message(name: str, message: dict[str, Any], schemas: dict[str, Any]) -> str:
    schema = schemas[message["payload"]["$ref"].rsplit("/", 1)[1]]
    correlated = " Correlated by <code>ref</code>." if "correlationId" in message else ""
    return (
        f'<h3 id="message-{escape(name)}"><code>{escape(message["name"])}</code>'
        f" <span class=tag>{escape(name)}</span></h3>"
        f"{_paragraphs(schema.get('description', ''))}"
        f"{f'<p>{correlated.strip()}</p>' if correlated else ''}"
        f"{_fields(schema)}"
    )


def _schema_section(name: str, schema: dict[str, Any]) -> str:
    body = _fields(schema) if "properties" in schema else f"<p>{_type(schema)}</p>"
    return (
        f'<h3 id="type-{escape(name)}"><code>{escape(name)}</code></h3>'
        f"{_paragraphs(schema.get('description', ''))}{body}"
    )


def _fields(schema: dict[str, Any]) -> str:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return ""
    required = set(schema.get("required", []))
    rows = [
        f"<tr><td><code>{escape(field)}</code></td><td>{_type(prop)}</td>"
        f"<td>{'yes' if field in required else ''}</td>"
        f"<td>{_inline(prop.get('description', ''))}</td></tr>"
        for field, prop in properties.items()
    ]
    head = "<tr><th>field</th><th>type</th><th>required</th><th></th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _type(schema: dict[str, Any]) -> str:
    """A short, linked description of a field's type."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return f'<a href="#type-{escape(name)}">{escape(name)}</a>'
    if "const" in schema:
        return f"<code>{escape(str(schema['const']))}</code>"
    if "enum" in schema:
        return " | ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(_type(s) for s in schema[key])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    return escape(str(kind))


def _referenced(schemas: dict[str, Any], messages: dict[str, Any]) -> set[str]:
    """The named types the messages' fields use, at any depth (the messages left out)."""
    payloads = {m["payload"]["$ref"].rsplit("/", 1)[1] for m in messages.values()}
    seen: set[str] = set()
    stack = list(payloads)
    while stack:
        for ref in schema_refs(schemas[stack.pop()]):
            if ref not in seen:
                seen.add(ref)
                stack.append(ref)
    return seen - payloads
