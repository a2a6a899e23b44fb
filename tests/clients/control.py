"""A control service for client tests written in other languages: over HTTP on 127.0.0.1,
a Node test asks this pytest process to start, SIGKILL, restart and stop real servers and
redis-servers, so that every process is started through the one harness (tests/servers/
harness.py: sockets held by this process, restarts on the same socket, readiness waited
for, never slept for) and is stopped at the end of the test whatever the client did.

    POST /start    {"kind": "server", "app": "tests.servers.apps:client_app()", "env": {...}}
                   {"kind": "demo", "args": ["--redis", url]}    (`flowwire demo --port 0`)
                   {"kind": "redis"}
                   -> {"id": "p1", "port": 41234, "url": "ws://127.0.0.1:41234/ws"}
    POST /kill     {"id": "p1"}    SIGKILL (the socket stays held)
    POST /restart  {"id": "p1"}    a new process on the same socket, once it answers HTTP
    POST /signal   {"id": "p1", "signal": 15}
    POST /stop     {"id": "p1"}
"""

from __future__ import annotations

import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.redis_server import RedisServer
from tests.servers.harness import DemoProcess, ServerProcess

__all__ = ["ControlServer"]


class ControlServer:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.processes: dict[str, Any] = {}
        self.lock = threading.Lock()
        control = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                try:
                    status, answer = 200, control.handle(self.path, body)
                except Exception as error:
                    status, answer = 500, {"error": f"{type(error).__name__}: {error}"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)  # the OS picks the port
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)

    def __enter__(self) -> ControlServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.shutdown()
        self.http.server_close()
        for process in reversed(list(self.processes.values())):
            if isinstance(process, RedisServer):
                process.kill()
            elif isinstance(process, DemoProcess):
                process.child.stop()
            else:
                process.stop()

    def all_logs(self) -> str:
        out = []
        for name, process in self.processes.items():
            if not isinstance(process, RedisServer):
                out.append(f"--- {name}\n{process.logs()[-4000:]}")
        return "\n".join(out)

    def handle(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if path == "/start":
            return self.start(body)
        process = self.processes[body["id"]]
        if path == "/kill":
            process.kill()
        elif path == "/restart":
            process.restart()
        elif path == "/signal":
            process.signal(signal.Signals(body.get("signal", signal.SIGTERM)))
        elif path == "/stop":
            process.stop()
        else:
            raise ValueError(f"no such command {path}")
        return {"id": body["id"]}

    def start(self, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            name = f"p{len(self.processes) + 1}"
            self.processes[name] = None
        log = self.logs / f"{name}.log"
        if body["kind"] == "redis":
            redis = RedisServer(self.logs / f"{name}-redis").start()
            self.processes[name] = redis
            return {"id": name, "url": redis.url}
        if body["kind"] == "demo":
            demo = DemoProcess(log, *body.get("args", []))
            self.processes[name] = demo
            demo.start()
            return {"id": name, "port": demo.port, "url": demo.url()}
        server = ServerProcess(
            body.get("server", "uvicorn-sansio"),
            body.get("app", "tests.servers.apps:client_app()"),
            log,
            {key: str(value) for key, value in body.get("env", {}).items()},
        )
        self.processes[name] = server
        server.start()
        return {"id": name, "port": server.port, "url": server.url()}
