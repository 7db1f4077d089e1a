"""A real webhook receiver on loopback that verifies every request with the
`standardwebhooks` library, as an application downstream would.

`mode`: "ok" (204), "fail" (500), "slow" (waits `delay` seconds, then 204), or
"redirect" (302 elsewhere). `stop()` and `start()` again on the same port simulate a
receiver that is down and comes back.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError

from ..appliance_server import free_port


class Receiver:
    def __init__(self, secrets: list[str] | None = None, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/hooks"
        self.secrets = list(secrets or [])
        self.mode = "ok"
        self.delay = 0.0
        self.fail_body = b"receiver broken"
        self.lock = threading.Lock()
        self.received: list[dict] = []  # verified payloads, in arrival order
        self.headers: list[dict] = []
        self.rejected: list[str] = []  # why a request did not verify
        self.attempts = 0
        self.server = None
        self.thread = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.attempts += 1
                    mode, delay, fail_body = receiver.mode, receiver.delay, receiver.fail_body
                if mode == "slow":
                    time.sleep(delay)
                if mode == "fail":
                    self._answer(500, fail_body)
                    return
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                payload = receiver.verify(body, dict(self.headers))
                self._answer(204 if payload is not None else 400, b"")

            def _answer(self, status, body):
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the sender gave up (a timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def verify(self, body: bytes, headers: dict):
        errors = []
        for secret in self.secrets:
            try:
                payload = Webhook(secret).verify(body, headers)
            except WebhookVerificationError as exc:
                errors.append(str(exc))
                continue
            with self.lock:
                self.received.append(payload)
                self.headers.append({k.lower(): v for k, v in headers.items()})
            return payload
        with self.lock:
            self.rejected.append("; ".join(errors) or "no secret")
        return None

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def payloads(self) -> list[dict]:
        with self.lock:
            return list(self.received)

    def unique(self) -> dict[str, dict]:
        """Deduplicated by event id, as the README tells receivers to."""
        out: dict[str, dict] = {}
        for payload in self.payloads():
            out.setdefault(payload["id"], payload)
        return out


def wait_for(condition, timeout: float = 60.0, every: float = 0.05):
    """Poll until `condition()` is truthy (a deadline for a stuck test, not a timing check)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def as_json(payload) -> str:
    return json.dumps(payload, indent=2)
