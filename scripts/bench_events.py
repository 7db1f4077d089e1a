"""Events benchmark: what recording webhook events adds to a SCIM write.

Starts the real appliance under waitress three times on fresh instances: without a
webhook endpoint; with one whose receiver is down (events are recorded, the worker is
held after each failed attempt: the cost of recording alone); and with a live one (a
loopback receiver answering 204, so deliveries run beside the requests). Measures over
HTTP, one request at a time:
  - POST /Users (user.created);
  - PATCH /Groups/{id} adding one member, then removing it (group.members_added /
    group.members_removed), as Entra sends them.
Prints p50 and p99 in milliseconds for each, and how many events were delivered.

    .venv/bin/python scripts/bench_events.py [--requests 400] [--processes 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from appliance_process import ApplianceProcess, free_port  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


class Sink:
    """A receiver that counts deliveries and answers 204 at once."""

    def __init__(self):
        self.count = 0
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                sink.count += 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def check(resp, status):
    if resp.status_code != status:
        raise SystemExit(f"unexpected {resp.status_code} for {resp.request.method} "
                         f"{resp.request.url}: {resp.text[:300]}")
    return resp


def percentiles(samples):
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def run(requests_count: int, processes: int, mode: str) -> dict:
    sink = Sink() if mode == "live" else None
    with ApplianceProcess(processes=processes) as app:
        if sink is not None:
            app.cli("webhooks", "add", f"http://127.0.0.1:{sink.port}/hooks")
        elif mode == "down":
            app.cli("webhooks", "add", f"http://127.0.0.1:{free_port()}/hooks")
        http = requests.Session()
        http.headers.update({"Authorization": f"Bearer {app.token}",
                             "Content-Type": "application/scim+json; charset=utf-8"})
        base = app.base
        for n in range(20):  # warm-up
            check(http.post(f"{base}/scim/Users", json={"userName": f"warm{n}@contoso.com"}),
                  201)
        posts, ids = [], []
        for n in range(requests_count):
            start = time.perf_counter()
            resp = check(http.post(f"{base}/scim/Users", json={
                "userName": f"bench{n:06d}@contoso.com", "displayName": f"Bench {n}",
                "active": True}), 201)
            posts.append((time.perf_counter() - start) * 1000)
            ids.append(resp.json()["id"])
        group = check(http.post(f"{base}/scim/Groups", json={"displayName": "Bench"}),
                      201).json()["id"]
        patches = []
        for n in range(requests_count):
            op = "add" if n % 2 == 0 else "remove"
            body = {"schemas": [PATCH], "Operations": [
                {"op": op, "path": "members", "value": [{"value": ids[n // 2]}]}]}
            start = time.perf_counter()
            check(http.patch(f"{base}/scim/Groups/{group}", json=body), 204)
            patches.append((time.perf_counter() - start) * 1000)
        delivered = 0
        if sink is not None:
            expected = 20 + 2 * requests_count + 1
            deadline = time.monotonic() + 120
            while sink.count < expected and time.monotonic() < deadline:
                time.sleep(0.2)
            delivered = sink.count
            sink.stop()
    return {"post": percentiles(posts), "patch": percentiles(patches),
            "delivered": delivered}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args()
    results = {label: run(args.requests, args.processes, mode)
               for label, mode in (("no endpoint", "none"), ("endpoint down", "down"),
                                   ("endpoint live", "live"))}
    print(f"{args.requests} requests each, {args.processes} process(es), ms (p50 / p99)")
    print(f"{'':18} {'POST /Users':>18} {'PATCH group member':>20}  delivered")
    for label, r in results.items():
        print(f"{label:18} {r['post'][0]:8.2f} / {r['post'][1]:6.2f}   "
              f"{r['patch'][0]:8.2f} / {r['patch'][1]:6.2f}   {r['delivered'] or '-'}")


if __name__ == "__main__":
    main()
