"""The sans-I/O protocol core: what flowwire decides, with no socket, task or clock of its own.

It owns one connection's protocol state (`session`: frames and the time in,
frames and requests out; the hold-then-merge of replay, snapshots and live
events), local fan-out (`hub`, which encodes once and never awaits a client),
a connection's bounded queue (`outbox`), topic names and patterns (`topics`)
and the execution state folded from events (`materializer`).

It may import `wsproto_schema` and the standard library, nothing else of ours:
the brokers, the engine side and the ASGI transport are built on it.
"""

__all__: list[str] = []
