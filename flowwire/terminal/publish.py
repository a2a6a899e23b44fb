"""`flowwire publish`: events to a server's `POST …/publish`, its errors said plainly."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from typing import Any

__all__ = ["publish", "publish_url"]


def publish_url(url: str) -> str:
    """`ws://host/ws` (the WebSocket URL) or `http://host/ws[/publish]` → the publish URL."""
    for scheme, http in (("ws://", "http://"), ("wss://", "https://")):
        if url.startswith(scheme):
            url = http + url[len(scheme) :]
    url = url.rstrip("/")
    return url if url.endswith("/publish") else url + "/publish"


def _explain(status: int, body: bytes) -> str:
    try:
        error: Any = json.loads(body)["error"]
        code, message = error["code"], error["message"]
    except (ValueError, KeyError, TypeError):
        return f"HTTP {status}: {body.decode('utf-8', 'replace')[:300]}"
    return f"HTTP {status} {code}: {message}"


def publish(url: str, api_key: str, body: bytes, *, timeout: float = 30) -> int:
    """POST `body` (one event or an array); print the positions. 0, or 1 when refused."""
    request = urllib.request.Request(
        publish_url(url),
        data=body,
        method="POST",
        headers={"authorization": f"Bearer {api_key}", "content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            print(response.read().decode())
            return 0
    except urllib.error.HTTPError as exc:
        print(f"flowwire publish: {_explain(exc.code, exc.read())}", file=sys.stderr)
        if exc.code == 401:
            print("flowwire publish: check --api-key (the app's api_key)", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        print(f"flowwire publish: cannot reach {publish_url(url)}: {reason}", file=sys.stderr)
        return 4
