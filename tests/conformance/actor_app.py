"""An HTTP app hosting actor type ``Rec`` for the actor conformance tests, recording what it gets.

Every request is appended to the Redis list ``calls`` (method, path, the headers that matter,
body). Methods: ``slow`` sleeps ``SLOW_SECONDS`` and records its start and end in ``turns``;
``fail`` answers 500, ``missing`` 404, ``cancel`` answers with the reminder-cancel header,
``hdr`` answers with a custom header; anything else echoes. The actor configuration it answers
on ``GET /dapr/config`` comes from ``ACTOR_CONFIG`` (JSON).
"""

from __future__ import annotations

import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
CONFIG = os.environ.get("ACTOR_CONFIG", '{"entities": ["Rec"]}').encode()
SLOW = float(os.environ.get("SLOW_SECONDS", "0.5"))
KEEP = ("content-type", "dapr-api-token", "dapr-api-call", "dapr-caller-app-id", "dapr-caller-namespace", "dapr-reentrancy-id", "x-test")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, code: int, body: bytes = b"", headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self) -> bytes:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
        headers = {k.lower(): v for k, v in self.headers.items() if k.lower() in KEEP}
        r.rpush("calls", json.dumps({"method": self.command, "path": self.path, "headers": headers, "body": body.decode(errors="replace")}))
        return body

    def do_GET(self) -> None:
        self._record()
        self._reply(200, CONFIG if self.path == "/dapr/config" else b"{}")

    def do_DELETE(self) -> None:
        self._record()
        self._reply(200)

    def do_PUT(self) -> None:
        body = self._record()
        method = self.path.split("?")[0].rsplit("/", 1)[-1]
        if method == "slow":
            r.rpush("turns", json.dumps({"id": self.path.split("/")[3], "n": body.decode(), "at": "start"}))
            time.sleep(SLOW)
            r.rpush("turns", json.dumps({"id": self.path.split("/")[3], "n": body.decode(), "at": "end"}))
        if method == "fail":
            return self._reply(500, b"app says no")
        if method == "missing":
            return self._reply(404, b"no such method")
        if method == "cancel" or self.path.endswith("/remind/cancelme"):
            return self._reply(200, b"", (("X-DaprReminderCancel", "true"),))
        if method == "hdr":
            return self._reply(200, b'"ok"', (("X-Custom", "v1"),))
        self._reply(200, json.dumps({"echo": body.decode(errors="replace"), "path": self.path}).encode())


ThreadingHTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler).serve_forever()
