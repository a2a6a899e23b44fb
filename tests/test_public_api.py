"""The public API is what we meant: every module declares `__all__`, and the packages export
exactly the names listed here (a change to this list is a change to the API)."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType

import pytest

PACKAGES = ["flowwire", "wsproto_schema", "asgi_plugin", "flowwire_codegen"]

WSPROTO_SCHEMA = {
    # protocol constants and codes
    "PROTOCOL_VERSION",
    "SUBPROTOCOLS",
    "SUBPROTOCOL_JSON",
    "SUBPROTOCOL_MSGPACK",
    "CloseCode",
    "ErrorCode",
    "ProtocolError",
    # bases, unions, registry
    "Frame",
    "Command",
    "Event",
    "AppEvent",
    "Part",
    "StrictPart",
    "JsonValue",
    "Timestamp",
    "ServerFrame",
    "ClientFrame",
    "StreamEvent",
    "ControlFrame",
    "FrameRegistry",
    "registry",
    "register_event",
    "frame_tag",
    "missing_server_fields",
    # codecs
    "Codec",
    "JsonCodec",
    "MsgpackCodec",
    "WireData",
    # control frames and reply data
    "Welcome",
    "Reply",
    "ErrorFrame",
    "Ping",
    "Pong",
    "Goaway",
    "AuthResult",
    "Batch",
    "FRAME_UNION",
    "ControlResult",
    "ExecuteResult",
    "InputResult",
    "ListResult",
    "ExecutionSummary",
    "SubscribeResult",
    "TopicPosition",
    "UnsubscribeResult",
    # events
    "ExecutionStarted",
    "ExecutionPaused",
    "ExecutionResumed",
    "ExecutionStopped",
    "ExecutionCompleted",
    "ExecutionFailed",
    "ExecutionProgress",
    "ExecutionLog",
    "ExecutionSnapshot",
    "NodeStatus",
    "NodeToken",
    "NodeUsage",
    "EdgeFlow",
    "BranchStarted",
    "InputRequested",
    "InputReceived",
    "NodeInfo",
    "EdgeInfo",
    "ErrorInfo",
    "Summary",
    "NodeSnapshot",
    "ProgressSnapshot",
    "UsageTotals",
    "PendingInput",
    "LogLine",
    "NodeStatusValue",
    "ExecutionStatusValue",
    "LogLevel",
    # commands
    "Auth",
    "Subscribe",
    "Unsubscribe",
    "Execute",
    "Control",
    "Input",
    "ListExecutions",
    "PingCommand",
    "PongCommand",
    "SincePosition",
    "WorkflowSpec",
    "NodeSpec",
    "EdgeSpec",
    "ControlAction",
    # the engine side of the protocol (engines in other processes)
    "EngineFrame",
    "EngineServe",
    "EngineClaim",
    "EnginePublish",
    "EngineResult",
    "EngineCommand",
    "CommandFailure",
    "EngineServeResult",
    "EngineClaimResult",
    "EnginePublishResult",
    "__version__",
}
CODEGEN = {
    "ARTIFACTS",
    "Catalog",
    "asyncapi_document",
    "bundle_schema",
    "check",
    "direction_schema",
    "render",
    "typescript_module",
    "write",
}
ASGI_PLUGIN = {
    "FlowwireApp",
    "FlowwireMiddleware",
    "UrlSubscription",
    "Options",
    "OptionArgs",
    # brokers and execution state
    "Broker",
    "BrokerSink",
    "BrokerUnavailable",
    "MemoryBroker",
    "RedisBroker",
    "StreamPosition",
    "default_topic",
    "Materializer",
    "ExecutionState",
    # hooks and the sans-I/O core
    "AuthenticateHook",
    "AuthorizeHook",
    "AuthorizeCommandHook",
    "may_command",
    "TokenHook",
    "RedactSecrets",
    "redact_server_logs",
    "Principal",
    "Handshake",
    "ConnectionInfo",
    "Session",
    "SessionLimits",
    # the engine side
    "Publisher",
    "Reporter",
    "SyncReporter",
    "CommandHandler",
    "CommandContext",
    "DagRunner",
    "NodeContext",
}
CLIENT = {
    "ClientClosed",
    "ClientCore",
    "ClientError",
    "CommandError",
    "CommandInterrupted",
    "CommandTimeout",
    "ConnectionLost",
    "Delivery",
    "EventStream",
    "ExecutionStore",
    "ExecutionView",
    "FlowwireClient",
    "FrameDecoder",
    "GapError",
    "NodeView",
    "Positions",
    "ReconnectPolicy",
    "Reset",
    "Status",
    "SyncClient",
    "TokenSource",
    "Unauthorized",
    "Undecodable",
    "Verdict",
    "connect_sync",
}
EXPECTED = {
    "flowwire": WSPROTO_SCHEMA | ASGI_PLUGIN | {"FlowwireClient", "connect_sync", "EngineClient"},
    "flowwire.client": CLIENT,
    "wsproto_schema": WSPROTO_SCHEMA,
    "flowwire_codegen": CODEGEN,
    "asgi_plugin": ASGI_PLUGIN,
}


def modules(package: str) -> list[ModuleType]:
    root = importlib.import_module(package)
    found = [root]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if info.name.endswith("__main__"):
            continue
        found.append(importlib.import_module(info.name))
    return found


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_declares_all(package: str) -> None:
    for module in modules(package):
        assert hasattr(module, "__all__"), f"{module.__name__} has no __all__"
        names = list(module.__all__)
        assert len(names) == len(set(names)), f"{module.__name__}.__all__ repeats a name"
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.__all__ names missing {name!r}"


@pytest.mark.parametrize("package", sorted(EXPECTED))
def test_package_exports_exactly(package: str) -> None:
    assert set(importlib.import_module(package).__all__) == EXPECTED[package]


@pytest.mark.parametrize("package", PACKAGES)
def test_ships_py_typed(package: str) -> None:
    root = importlib.import_module(package)
    assert (Path(root.__path__[0]) / "py.typed").exists()


def test_the_front_door_is_the_same_objects() -> None:
    """`flowwire` re-exports; it never wraps or copies (one class, one isinstance)."""
    import asgi_plugin
    import flowwire
    import wsproto_schema

    for name in WSPROTO_SCHEMA:
        assert getattr(flowwire, name) is getattr(wsproto_schema, name), name
    for name in ASGI_PLUGIN:
        assert getattr(flowwire, name) is getattr(asgi_plugin, name), name
    import flowwire.client

    assert flowwire.FlowwireClient is flowwire.client.FlowwireClient
    assert flowwire.connect_sync is flowwire.client.connect_sync


def test_the_front_door_loads_no_server_code_until_asked() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, flowwire; before = 'asgi_plugin' in sys.modules; "
        "flowwire.FlowwireApp; print(before, 'asgi_plugin' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "True"]


def test_every_package_of_the_checkout_ships_in_the_wheel() -> None:
    """`[tool.setuptools] packages` is a list: a new subpackage left out of it installs as
    an import error (wsproto_schema.profiles did; the built-wheel test found it)."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    text = (root / "pyproject.toml").read_text()
    block = re.search(r"\[tool\.setuptools\]\n(?:#[^\n]*\n)*packages = \[([^\]]*)\]", text)
    assert block is not None
    listed = set(re.findall(r'"([\w.]+)"', block.group(1)))
    found = {
        ".".join(init.parent.relative_to(root).parts).replace("codegen", "flowwire_codegen", 1)
        for top in ("flowwire", "wsproto_schema", "asgi_plugin", "codegen")
        for init in (root / top).rglob("__init__.py")
    }
    assert found == listed
