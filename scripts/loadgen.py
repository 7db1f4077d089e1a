"""A small HTTP load generator: worker processes with keep-alive connections.

Processes rather than threads, so the client does not share one GIL and the server
is what is measured. Every response's status is checked against what the request
expects; a run reports its failures instead of hiding them.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import random
import statistics
import time
from dataclasses import dataclass, field
from urllib.parse import quote


@dataclass
class Stats:
    """Latencies (ms) per kind of request, plus failures and elapsed wall time."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    elapsed: float = 0.0

    def merge(self, other: Stats) -> None:
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.failures.extend(other.failures)

    def count(self, kind: str | None = None) -> int:
        if kind is None:
            return sum(len(v) for v in self.latencies.values())
        return len(self.latencies.get(kind, []))

    def rate(self, kind: str | None = None) -> float:
        return self.count(kind) / self.elapsed if self.elapsed else 0.0

    def percentile(self, kind: str, pct: float) -> float:
        values = sorted(self.latencies.get(kind, []))
        if not values:
            return float("nan")
        index = min(len(values) - 1, max(0, round(pct / 100 * len(values)) - 1))
        return values[index]

    def median(self, kind: str) -> float:
        values = self.latencies.get(kind, [])
        return statistics.median(values) if values else float("nan")


class Client:
    """One keep-alive connection that times and checks each request."""

    def __init__(self, port: int, token: str | None, stats: Stats):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = {"Content-Type": "application/scim+json; charset=utf-8"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.stats = stats

    def call(self, kind: str, method: str, path: str, body=None, expect=200):
        data = json.dumps(body).encode() if body is not None else None
        start = time.perf_counter()
        try:
            self.conn.request(method, path, body=data, headers=self.headers)
            resp = self.conn.getresponse()
            payload = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            self.stats.failures.append(f"{kind}: {type(exc).__name__}: {exc}")
            return None
        self.stats.latencies.setdefault(kind, []).append((time.perf_counter() - start) * 1000)
        if resp.status != expect:
            self.stats.failures.append(f"{kind}: {method} {path} -> {resp.status} "
                                       f"{payload[:200]!r}")
            return None
        return json.loads(payload) if payload else {}


def filter_path(resource: str, expr: str, extra: str = "") -> str:
    return f"/scim/{resource}?{extra}filter={quote(expr)}"


def _run_worker(args):
    fn, port, token, payload, seed = args
    random.seed(seed)
    stats = Stats()
    client = Client(port, token, stats)
    result = fn(client, payload)
    return stats, result


def run_parallel(fn, port: int, token: str | None, payloads: list) -> tuple[Stats, list]:
    """Run fn(client, payload) in one process per payload; merge their stats."""
    ctx = multiprocessing.get_context("fork")
    start = time.perf_counter()
    with ctx.Pool(len(payloads)) as pool:
        outputs = pool.map(_run_worker, [(fn, port, token, p, i) for i, p in enumerate(payloads)])
    total = Stats(elapsed=time.perf_counter() - start)
    results = []
    for stats, result in outputs:
        total.merge(stats)
        results.append(result)
    return total, results


def for_duration(seconds: float, step) -> None:
    """Call step() until the time is up (a bounded loop: it always stops)."""
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        step()
