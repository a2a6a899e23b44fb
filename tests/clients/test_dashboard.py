"""The dashboard (clients/dashboard, served from asgi_plugin/transport/static): its built
files are what esbuild makes of its sources now, it type-checks, the server serves it under
the mount with the same auth as the WebSocket, and it works in headless Chromium against
live servers (its `node --test` files, driven from here with the harness of control.py).
Screenshots of each sample's final state go to $FLOWWIRE_SCREENSHOTS (or the test's tmp)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from asgi_plugin import FlowwireApp
from tests import tools
from tests.clients.control import ControlServer
from tests.clients.test_typescript import client_build, passed, run  # noqa: F401 - a fixture
from tests.conftest import ROOT
from tests.plugin.clients import http

DASHBOARD = ROOT / "clients" / "dashboard"
STATIC = ROOT / "asgi_plugin" / "transport" / "static"
BUILT = ("dashboard.html", "dashboard.js", "dashboard.css")


def test_built_files_are_fresh(tmp_path: Path) -> None:
    """asgi_plugin/transport/static/ is committed (the server runs no Node): it must be what
    clients/dashboard/build.mjs makes of the sources and the client now."""
    tools.node_package("esbuild")
    tools.node_package("@dagrejs/dagre")
    run(tools.node(), str(DASHBOARD / "build.mjs"), str(tmp_path))
    for name in BUILT:
        assert (tmp_path / name).read_bytes() == (STATIC / name).read_bytes(), (
            f"asgi_plugin/transport/static/{name} is stale: run `npm run build:dashboard` and "
            "commit it"
        )


def test_dashboard_typechecks() -> None:
    run(tools.node_tool("tsc"), "-p", str(DASHBOARD / "tsconfig.json"))


async def test_served_under_the_mount_only_when_asked_for() -> None:
    status, _, _ = await http(FlowwireApp(), "GET", "/dashboard/")
    assert status == 404
    app = FlowwireApp(dashboard=True)
    status, headers, body = await http(app, "GET", "/dashboard")
    assert (status, headers[b"location"]) == (308, b"dashboard/")
    status, headers, body = await http(app, "GET", "/dashboard/")
    assert status == 200 and headers[b"content-type"].startswith(b"text/html")
    assert b'{"endpoint":"..","tokenAuth":false}' in body
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    for name, kind in (("dashboard.js", b"text/javascript"), ("dashboard.css", b"text/css")):
        status, headers, body = await http(app, "GET", f"/dashboard/{name}")
        assert (status, headers[b"content-type"].split(b";")[0]) == (200, kind)
        assert body == (STATIC / name).read_bytes()
    status, _, _ = await http(app, "GET", "/dashboard/nothing.js")
    assert status == 404


async def test_the_page_follows_the_handshake_hook() -> None:
    """The page is for whoever may open the WebSocket: the same `authenticate` hook decides
    (a cookie, here); with first-message auth, the page asks for a token."""
    app = FlowwireApp(
        dashboard=True, authenticate=lambda handshake: handshake.cookies.get("session") or None
    )
    status, _, _ = await http(app, "GET", "/dashboard/")
    assert status == 403
    status, _, _ = await http(app, "GET", "/dashboard/", headers=[(b"cookie", b"session=ada")])
    assert status == 200
    tokens = FlowwireApp(dashboard=True, authenticate_token=lambda token, handshake: token)
    status, _, body = await http(tokens, "GET", "/dashboard/")
    assert status == 200 and b'"tokenAuth":true' in body


@pytest.mark.slow
def test_the_wheel_ships_the_dashboard(tmp_path: Path) -> None:
    run("python", "-m", "pip", "wheel", "--no-deps", "-q", ".", "-w", str(tmp_path))
    [wheel] = tmp_path.glob("flowwire-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        for name in BUILT:
            assert (
                archive.read(f"asgi_plugin/transport/static/{name}") == (STATIC / name).read_bytes()
            )


def browser_test(file: str, control: ControlServer, screenshots: Path) -> int:
    tools.node_package("playwright-core")
    tools.node_package("axe-core")
    env = {
        "FLOWWIRE_HARNESS": control.url,
        "CHROMIUM": tools.chromium(),
        "SCREENSHOTS": str(screenshots),
    }
    try:
        out = run(
            tools.node(),
            "--test",
            "--test-reporter=spec",
            "--test-timeout=180000",
            f"test/{file}.test.mjs",
            cwd=DASHBOARD,
            timeout=400,
            **env,
        )
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- server logs\n{control.all_logs()}") from None
    return passed(out)


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("FLOWWIRE_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
@pytest.mark.usefixtures("client_build")  # the harness helpers import @flowwire/client
def test_dashboard_in_chromium(tmp_path: Path, screenshots: Path) -> None:
    """Every sample, the controls, the input form, two pages and a late joiner, axe-core, a
    300-node graph and 10,000 log lines, the FastAPI recipe: test/dashboard.test.mjs."""
    with ControlServer(tmp_path) as control:
        assert browser_test("dashboard", control, screenshots) == 9
    for sample in ("parallel", "llm", "failing", "legacy", "approval"):
        assert (screenshots / f"{sample}.png").stat().st_size > 10_000


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.node
@pytest.mark.redis
@pytest.mark.usefixtures("client_build")
def test_dashboard_across_a_restart(tmp_path: Path, screenshots: Path) -> None:
    """The page's server SIGKILLed and restarted mid-run, the run on another process over
    Redis: test/restart.test.mjs."""
    tools.redis_server()
    with ControlServer(tmp_path) as control:
        assert browser_test("restart", control, screenshots) == 1
