"""An app receiving pub/sub messages over HTTP: ``/dapr/subscribe`` plus routes that record
what they get in Redis (``received:<route>``) and answer SUCCESS, RETRY, "success" (lower case:
not a status daprd knows) or 404."""

from __future__ import annotations

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import redis

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
SUBSCRIPTIONS = [
    {"pubsubname": "messagepubsub", "topic": "web", "route": "/web"},
    {"pubsubname": "messagepubsub", "topic": "flaky", "route": "/flaky", "deadLetterTopic": "flaky-dead"},
    {"pubsubname": "messagepubsub", "topic": "gone", "route": "/missing"},
    {"pubsubname": "messagepubsub", "topic": "lower", "route": "/lower", "deadLetterTopic": "lower-dead"},
    {"pubsubname": "messagepubsub", "topic": "early", "route": "/early"},
    {"pubsubname": "messagepubsub", "topic": "bulk", "route": "/bulk", "deadLetterTopic": "bulk-dead",
     "bulkSubscribe": {"enabled": True, "maxMessagesCount": 3, "maxAwaitDurationMs": 300}},
]


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

    def do_GET(self) -> None:
        self._reply(200, SUBSCRIPTIONS if self.path == "/dapr/subscribe" else {})

    def _bulk(self, body: bytes) -> None:
        """Records the raw envelope; answers each entry by its event's ``answer`` (NONE: no status)."""
        r.rpush("received:/bulk", json.dumps({"ct": self.headers.get("Content-Type"), "pubsubname": self.headers.get("pubsubname"),
                                              "raw": body.decode()}))
        statuses = []
        for entry in json.loads(body)["entries"]:
            answer = entry["event"]["data"]["answer"]
            if answer != "NONE":
                statuses.append({"entryId": entry["entryId"], "status": "" if answer == "EMPTY" else answer})
        self._reply(200, {"statuses": statuses})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/bulk":
            self._bulk(body)
            return
        headers = {k: self.headers.get(k) for k in ("pubsubname", "foo")}
        r.rpush(f"received:{self.path}", json.dumps({"ct": self.headers.get("Content-Type"), "headers": headers, "event": json.loads(body)}))
        if self.path == "/flaky":
            self._reply(200, {"status": "RETRY"})
        elif self.path == "/lower":
            self._reply(200, {"status": "success"})
        elif self.path == "/missing":
            self._reply(404, {})
        else:
            self._reply(200, {"status": "SUCCESS"})


ThreadingHTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler).serve_forever()
