"""The TypeScript client (clients/typescript, `@flowwire/client`): built with `tsc --strict`,
its Node test files run with `node --test` from here so that `./scripts/test` and CI run
them. The live files get real servers and redis-servers from this process (control.py) and
own their TCP proxies; tests/clients/SCENARIOS.md names the test of each scenario."""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

import wsproto_schema as ws
from asgi_plugin import FlowwireApp, Materializer
from asgi_plugin.demo.samples import SAMPLES, demo_runner
from tests import tools
from tests.clients.control import ControlServer
from tests.conftest import ROOT
from tests.engine.streams import execution_events
from tests.plugin.clients import AsgiClient

pytestmark = [pytest.mark.node]

PACKAGE = ROOT / "clients" / "typescript"
LIVE = [
    "live-samples",
    pytest.param("live-restart", marks=pytest.mark.redis),
    "live-proxy",
    "live-history",
    "live-auth",
    "live-engine",
    pytest.param("live-engine-redis", marks=pytest.mark.redis),
]


def run(*command: str, cwd: Path = ROOT, timeout: float = 300, **env: str) -> str:
    done = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-6000:]
    return done.stdout


def build_inputs() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / "schemas" / "flowwire.ts", PACKAGE / "tsconfig.json", PACKAGE / "package.json"]
    paths += sorted(p for p in (PACKAGE / "src").glob("*.ts") if p.name != "protocol.ts")
    for path in paths:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@pytest.fixture(scope="session")
def client_build() -> Path:
    """clients/typescript/dist, built (tsc --strict) once for the sources as they are: the
    pytest workers take turns on a lock, and a build of the same sources is reused."""
    node = tools.node()
    tools.node_tool("tsc")
    dist = PACKAGE / "dist"
    with (PACKAGE / ".build.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        inputs = build_inputs()
        stamp = dist / ".inputs"
        if not stamp.exists() or stamp.read_text() != inputs:
            run(node, "scripts/build.mjs", cwd=PACKAGE)
            stamp.write_text(inputs)
    return dist


@pytest.fixture
def control(tmp_path: Path) -> Iterator[ControlServer]:
    with ControlServer(tmp_path) as server:
        yield server


def node_test(file: str, control: ControlServer | None = None, timeout: float = 240) -> str:
    env = {"FLOWWIRE_HARNESS": control.url} if control else {}
    try:
        return run(
            tools.node(),
            "--test",
            "--test-reporter=spec",
            "--test-timeout=120000",
            f"test/{file}.test.mjs",
            cwd=PACKAGE,
            timeout=timeout,
            **env,
        )
    except AssertionError as failure:
        logs = control.all_logs() if control else ""
        raise AssertionError(f"{failure}\n--- server logs\n{logs}") from None


def passed(out: str) -> int:
    """The count of passed tests in the spec reporter's summary (the run already exited 0:
    nothing failed)."""
    found = re.search(r"^\S+ pass (\d+)$", out, re.M)
    assert found, out
    return int(found[1])


def test_protocol_behaviours(client_build: Path) -> None:
    """Lifecycle, refs and typed errors, dedupe, gaps, batches, handler isolation, heartbeat,
    reset, close codes and backoff, the offline queue, msgpack, the store's reducer."""
    assert passed(node_test("protocol")) == 20


def test_react_bindings(client_build: Path) -> None:
    """FlowwireProvider, useConnectionStatus, useExecution, useExecutions, useEvents."""
    tools.node_package("react-test-renderer")
    assert passed(node_test("react")) == 2


@pytest.mark.slow
@pytest.mark.parametrize(
    "file", ["profile-type-data", "profile-type-payload", "profile-event-data"]
)
def test_reference_frontend_over_its_profile(
    client_build: Path, control: ControlServer, file: str
) -> None:
    """Issue 15: a reference system's documented frontend code against a live server that
    speaks its wire profile (the reference runner behind it)."""
    tools.node_package("react-test-renderer")
    assert passed(node_test(file, control)) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("file", LIVE)
def test_live(client_build: Path, control: ControlServer, file: str) -> None:
    if file in ("live-restart", "live-engine-redis"):
        tools.redis_server()  # fails in CI, skips on a laptop, when it is missing
    assert passed(node_test(file, control)) >= 1


# -- the store agrees with the server's materializer -------------------------------------

TERMINAL = ("execution.completed", "execution.failed", "execution.stopped")


def published(events: list[ws.Event], topic: str = "workflow:w") -> list[ws.Event]:
    return [
        msgspec.structs.replace(e, topic=topic, seq=i, ts=1000 + 7 * i)
        for i, e in enumerate(events, start=1)
    ]


async def runner_streams() -> dict[str, list[dict[str, Any]]]:
    """Every sample of the reference runner (sleeps shortened), and one paused then stopped,
    as a client receives them: the events of the runner as it really publishes them."""
    streams: dict[str, list[dict[str, Any]]] = {}
    app = FlowwireApp(handler=demo_runner())
    for name in [*SAMPLES, "stopped"]:
        client = AsgiClient(app)
        await client.connect()
        workflow: dict[str, Any] = msgspec.to_builtins(SAMPLES.get(name, SAMPLES["parallel"]))
        for node in workflow["nodes"]:
            params = node.get("params") or {}
            for key in ("ms", "delay_ms", "step_ms"):
                if key in params:
                    params[key] = params[key] // 10
        reply = await client.request({"type": "execute", "ref": "x", "workflow": workflow})
        execution = reply["data"]["execution_id"]
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["type"] not in TERMINAL:
            frame = await client.recv(10)
            frames.append(frame)
            if frame["type"] == "input.requested":
                answer = {"execution_id": execution, "node_id": frame["node_id"], "value": 1}
                await client.send({"type": "input", **answer})
            if name == "stopped" and frame["type"] == "node.status":
                if frame["node_id"] == "fetch" and frame["status"] == "running":
                    await client.send(
                        {"type": "control", "execution_id": execution, "action": "pause"}
                    )
                if frame["type"] == "node.status" and frame["status"] == "succeeded":
                    await client.send(
                        {"type": "control", "execution_id": execution, "action": "stop"}
                    )
        streams[name] = [f for f in frames if "seq" in f]
    return streams


def fold(frames: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The server's side: the materializer's snapshot of each execution."""
    materializer = Materializer(finished_snapshots=1000)
    decoder = msgspec.json.Decoder(ws.ServerFrame)
    for frame in frames:
        if frame["type"] == "execution.snapshot":
            continue
        event = decoder.decode(json.dumps(frame))
        assert isinstance(event, ws.Event)
        materializer.apply(event)
    return {
        state.execution_id: msgspec.to_builtins(materializer.snapshot(state.execution_id))
        for topic in materializer.topics()
        for state in materializer.executions(topic)
    }


def test_store_agrees_with_materializer(client_build: Path, tmp_path: Path) -> None:
    """The same event streams through the server's materializer and the client's store:
    the reference runner's samples, long random streams of many executions interleaved,
    and a store that starts from a snapshot mid-run."""
    cases: list[dict[str, Any]] = []
    expected: dict[str, dict[str, dict[str, Any]]] = {}
    for name, frames in asyncio.run(runner_streams()).items():
        cases.append({"name": f"runner:{name}", "frames": frames})
        expected[f"runner:{name}"] = fold(frames)
        # Joined mid-run: the server's snapshot at that point, then the rest.
        cut = len(frames) // 2
        materializer_frames = frames[:cut]
        snapshot = fold(materializer_frames)
        mid = [{"type": "execution.snapshot", **s} for s in snapshot.values()] + frames[cut:]
        cases.append({"name": f"runner:{name}:joined", "frames": mid})
        expected[f"runner:{name}:joined"] = fold(frames)
    for seed in range(8):
        streams = [execution_events(f"e{seed}-{i}", 150, seed=seed * 10 + i) for i in range(3)]
        rng = random.Random(seed)
        mixed: list[ws.Event] = []
        while any(streams):
            stream = rng.choice([s for s in streams if s])
            mixed.append(stream.pop(0))
        frames = [msgspec.to_builtins(e) for e in published(mixed)]
        cases.append({"name": f"random:{seed}", "frames": frames})
        expected[f"random:{seed}"] = fold(frames)
    source, result = tmp_path / "cases.json", tmp_path / "store.json"
    source.write_text(json.dumps(cases))
    run(tools.node(), "test/differential.mjs", str(source), str(result), cwd=PACKAGE)
    got = {r["name"]: r["snapshots"] for r in json.loads(result.read_text())}
    assert set(got) == set(expected)
    for name, snapshots in expected.items():
        joined = name.endswith(":joined")
        for execution, snapshot in snapshots.items():
            mine = got[name][execution]
            if joined:  # the snapshot's last_seq is where the store started
                snapshot = {k: v for k, v in snapshot.items() if k != "last_seq"}
                mine = {k: v for k, v in mine.items() if k != "last_seq"}
            assert mine == snapshot, f"{name} {execution}"
        assert set(got[name]) == set(snapshots), name


# -- the package as published --------------------------------------------------------------


def test_usage_compiles_strict(client_build: Path) -> None:
    """An application's code (and what must not compile) under tsc --strict with
    exactOptionalPropertyTypes and noUncheckedIndexedAccess, against dist/*.d.ts; the
    package itself is compiled with the same options by its build."""
    tools.node_package("@types/react")
    run(tools.node_tool("tsc"), "-p", "test/usage/tsconfig.json", cwd=PACKAGE)


def test_a_renamed_wire_field_breaks_the_client_compile(tmp_path: Path) -> None:
    """The client is compiled against schemas/flowwire.ts: a field renamed in the Structs
    (here `welcome.heartbeat_ms`) fails the client's build, not a user's page."""
    tsc = tools.node_tool("tsc")
    src = tmp_path / "src"
    shutil.copytree(PACKAGE / "src", src)
    protocol = (ROOT / "schemas" / "flowwire.ts").read_text()
    assert protocol.count("  heartbeat_ms: number;") == 1
    (src / "protocol.ts").write_text(
        protocol.replace("  heartbeat_ms:", "  heartbeat_interval_ms:")
    )
    config = {
        "extends": str(PACKAGE / "tsconfig.json"),
        "compilerOptions": {
            "noEmit": True,
            "rootDir": str(src),
            "paths": {
                "@msgpack/msgpack": [str(ROOT / "node_modules" / "@msgpack" / "msgpack")],
                "react": [str(ROOT / "node_modules" / "@types" / "react")],
            },
        },
        "include": [str(src)],
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    done = subprocess.run(
        [tsc, "-p", str(tmp_path / "tsconfig.json")], capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    errors = [line for line in done.stdout.splitlines() if "error TS" in line]
    assert errors and all("heartbeat_ms" in line for line in errors), done.stdout


def test_npm_pack_installs_and_compiles_in_a_fresh_project(
    client_build: Path, tmp_path: Path
) -> None:
    """`npm pack` gives a package that a new TypeScript project installs, imports in Node
    and compiles against (strict, no DOM types)."""
    npm = shutil.which("npm")
    if npm is None:
        tools.missing("npm", "install Node.js 20 or newer with npm")
    assert npm is not None
    # The fixture built dist/ already; --ignore-scripts keeps prepack from rebuilding it
    # under the other tests' feet.
    packed = json.loads(
        run(
            npm,
            "pack",
            "--json",
            "--ignore-scripts",
            "--pack-destination",
            str(tmp_path),
            cwd=PACKAGE,
        )
    )
    files = {f["path"] for f in packed[0]["files"]}
    assert {
        "package.json",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/react.js",
        "dist/protocol.d.ts",
    } <= files
    assert not [f for f in files if f.startswith(("src/", "test/"))], files
    assert packed[0]["name"] == "@flowwire/client" and packed[0]["version"] == ws.__version__
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text('{"name": "fresh-app", "private": true, "type": "module"}\n')
    run(
        npm,
        "install",
        "--prefer-offline",
        "--no-audit",
        "--no-fund",
        str(tmp_path / packed[0]["filename"]),
        cwd=app,
    )
    shutil.copy(PACKAGE / "test" / "usage" / "usage.ts", app / "usage.ts")
    config = json.loads((PACKAGE / "test" / "usage" / "tsconfig.json").read_text())
    config["files"] = ["usage.ts"]
    (app / "tsconfig.json").write_text(json.dumps(config))
    run(tools.node_tool("tsc"), "-p", "tsconfig.json", cwd=app)
    script = "import('@flowwire/client').then((m) => console.log(typeof m.FlowwireClient, m.PROTOCOL_VERSION))"
    assert run(tools.node(), "-e", script, cwd=app).strip() == "function flowwire.v1"


# -- the docs' examples compile against the package ---------------------------------------

FENCE = re.compile(r"```ts\n(.*?)```", re.S)


def test_docs_typescript_examples_compile(client_build: Path, tmp_path: Path) -> None:
    """Every `ts` block of docs/client-typescript.md, the README's browser snippet and
    docs/engine.md's Node engine, as modules of an app that installed the package (strict
    options, DOM and Node types)."""
    docs = [ROOT / "docs" / "client-typescript.md", ROOT / "README.md", ROOT / "docs" / "engine.md"]
    blocks = [body for path in docs for body in FENCE.findall(path.read_text())]
    assert len(blocks) == 6  # browser, Node, commands, React; the README; a Node engine
    files = []
    for index, body in enumerate(blocks):
        name = f"example{index}.ts"
        (tmp_path / name).write_text(body if "export " in body else body + "\nexport {};\n")
        files.append(name)
    types = ROOT / "node_modules" / "@types"
    config = {
        "compilerOptions": {
            "strict": True,
            "exactOptionalPropertyTypes": True,
            "noUncheckedIndexedAccess": True,
            "noEmit": True,
            "target": "es2022",
            "module": "es2022",
            "moduleResolution": "bundler",
            "lib": ["es2022", "dom"],
            "types": ["node"],
            "typeRoots": [str(types)],
            "paths": {
                "@flowwire/client": [str(client_build / "index.d.ts")],
                "@flowwire/client/react": [str(client_build / "react.d.ts")],
                "@flowwire/client/engine": [str(client_build / "engine.d.ts")],
                "react": [str(types / "react")],
                "ws": [str(types / "ws")],
            },
        },
        "files": files,
    }
    (tmp_path / "tsconfig.json").write_text(json.dumps(config))
    run(tools.node_tool("tsc"), "-p", "tsconfig.json", cwd=tmp_path)


def test_scenarios_table_names_existing_typescript_tests() -> None:
    """tests/clients/SCENARIOS.md: each TypeScript cell names files and tests that exist."""
    table = (ROOT / "tests" / "clients" / "SCENARIOS.md").read_text()
    rows = [line.split("|") for line in table.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == 10
    for row in rows:
        cell = row[4]
        named = re.findall(r"`([\w-]+)` \u203a ([^;`(]+?)(?=;|$| \(|\u2026)", cell.strip())
        assert named, f"scenario {row[1].strip()} has no TypeScript test"
        for file, name in named:
            source = (PACKAGE / "test" / f"{file}.test.mjs").read_text()
            for part in name.split(", "):
                assert f'test("{part.strip()}' in source or part.strip() in source, (file, part)
