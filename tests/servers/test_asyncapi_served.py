"""`GET …/asyncapi` of an app mounted at /live on a real server's random port describes that
server (its host, port and path), and the official AsyncAPI parser still accepts it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests import tools
from tests.conftest import ROOT
from tests.servers.harness import ServerProcess

pytestmark = [pytest.mark.node]


async def test_the_served_asyncapi_names_this_server_and_parses(
    start_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = start_server("uvicorn-sansio", "tests.servers.apps:live")
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(server.http_url("/live/asyncapi"))
    assert response.status_code == 200
    document = response.json()
    assert document["servers"]["flowwire"]["host"] == f"127.0.0.1:{server.port}"
    assert document["servers"]["flowwire"]["protocol"] == "ws"
    assert document["channels"]["flowwire"]["address"] == "/live"
    assert (document["info"]["title"], document["info"]["version"]) == ("Acme runs", "2.3.0")
    assert document["channels"]["flowwire"]["bindings"]["ws"]["bindingVersion"] == "0.1.0"
    assert document["components"]["messages"]["Subscribe"]["correlationId"] == {
        "$ref": "#/components/correlationIds/ref"
    }
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    tools.node_package("@asyncapi/parser")
    result = subprocess.run(
        [tools.node(), "tests/js/parse_asyncapi.mjs", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["errors"] == []
