"""Bundle size of the browser client: `@flowwire/client`'s JSON-only build (client and
execution store; the MessagePack codec is loaded only for the msgpack subprotocol) as a
browser app ships it, minified by esbuild and gzipped, next to centrifuge-js and
socket.io-client bundled the same way (bench/bundle_size.mjs does the bundling)."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

from bench.server import ROOT

FLOWWIRE = "@flowwire/client, JSON only (client + execution store)"


def run() -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("the bundle benchmark needs Node.js (and `npm ci` for esbuild)")
    done = subprocess.run(
        [node, str(ROOT / "bench" / "bundle_size.mjs")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench/bundle_size.mjs failed:\n{done.stderr[-3000:]}")
    sizes: dict[str, Any] = json.loads(done.stdout)
    return {"esbuild": sizes.pop("esbuild"), "bundles": sizes}
