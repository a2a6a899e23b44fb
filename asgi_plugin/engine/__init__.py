"""The engine side: how a workflow engine reports its runs and takes users' commands.

`reporter` turns engine steps into events (async, and a blocking twin for
threads) through a `Publisher` (the app); `handlers` is the `CommandHandler`
protocol an engine implements for `execute`, `control` and `input`; `runner`
is the reference DAG runner, with `workflow` validation, the node `context`
and the built-in node kinds in `nodes`.

The engine side may import `core` and `wsproto_schema`, never the ASGI
transport or a broker: the app is reached through the `Publisher` protocol.
"""

__all__: list[str] = []
