"""An HTTP app that records what the sidecar sends it, for the app-channel tests.

Every request is recorded in Redis (list ``calls``: path and ``dapr-api-token`` header). It
subscribes to ``messagepubsub``/``work`` on ``/work``; each delivery takes ``SLOW_SECONDS`` and
the most deliveries in flight at once is kept in ``max_inflight``. ``GET /healthz`` answers
the status stored in ``health`` (200 when unset) and counts probes in ``probes``.
"""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
SLOW = float(os.environ.get("SLOW_SECONDS", "0"))
SUBSCRIPTIONS = [{"pubsubname": "messagepubsub", "topic": "work", "route": "/work"}]
lock = threading.Lock()
inflight = 0


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, code: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> None:
        r.rpush("calls", json.dumps({"method": self.command, "path": self.path, "token": self.headers.get("dapr-api-token")}))

    def do_GET(self) -> None:
        self._record()
        if self.path == "/healthz":
            r.incr("probes")
            self._reply(int(r.get("health") or 200), {})
        else:
            self._reply(200, SUBSCRIPTIONS if self.path == "/dapr/subscribe" else {})

    def do_POST(self) -> None:
        global inflight
        self._record()
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with lock:
            inflight += 1
            r.set("max_inflight", max(int(r.get("max_inflight") or 0), inflight))
        try:
            time.sleep(SLOW)
        finally:
            with lock:
                inflight -= 1
        r.rpush("received", json.dumps(body["data"]))
        self._reply(200, {"status": "SUCCESS"})


ThreadingHTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler).serve_forever()
