"""Group scale benchmark: membership changes and reads must not slow down as groups grow.

Starts the real appliance under waitress on a fresh instance and, for groups of 10,
1,000 and 10,000 members, measures over HTTP:
  - a PATCH adding 1,000 members (Entra's `Add` with a value array), and removing them;
  - a group read with `excludedAttributes=members` (Entra's match query);
  - a user read that returns the user's `groups`.
Every response is checked; any failure aborts the run.

    .venv/bin/python scripts/bench_groups.py [--sizes 10,1000,10000] [--repeat 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).parent))
from appliance_process import ApplianceProcess  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BATCH = 1000


def check(resp, status):
    if resp.status_code != status:
        raise SystemExit(f"unexpected {resp.status_code} for {resp.request.method} "
                         f"{resp.request.url}: {resp.text[:300]}")
    return resp


def session(token):
    http = requests.Session()
    http.headers.update({"Authorization": f"Bearer {token}",
                         "Content-Type": "application/scim+json; charset=utf-8"})
    return http


def create_users(base, token, count, clients=4):
    def create(i):
        http = sessions[i % clients]
        return check(http.post(f"{base}/scim/Users",
                               json={"userName": f"bench{i:06d}@contoso.com",
                                     "displayName": f"Bench {i}"}), 201).json()["id"]

    sessions = [session(token) for _ in range(clients)]
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(create, range(count)))


def members_op(op, ids):
    return {"schemas": [PATCH], "Operations": [
        {"op": op, "path": "members", "value": [{"value": i} for i in ids]}]}


def timed(fn, repeat):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), max(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,1000,10000")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--processes", type=int, default=None,
                        help="appliance worker processes (default: its PROCESSES)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    with ApplianceProcess(processes=args.processes) as app:
        http = session(app.token)
        base = f"{app.base}/scim"
        start = time.perf_counter()
        ids = create_users(app.base, app.token, max(sizes) + BATCH)
        print(f"created {len(ids)} users in {time.perf_counter() - start:.1f} s")
        pool, extra = ids[:max(sizes)], ids[max(sizes):]
        rows = []
        for size in sizes:
            group = check(http.post(f"{base}/Groups", json={"displayName": f"G{size}"}),
                          201).json()["id"]
            for chunk in range(0, size, BATCH):
                check(http.patch(f"{base}/Groups/{group}",
                                 json=members_op("Add", pool[chunk:chunk + BATCH])), 204)
            url = f"{base}/Groups/{group}"
            add_ms = []
            remove_ms = []
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                check(http.patch(url, json=members_op("Add", extra)), 204)
                t1 = time.perf_counter()
                check(http.patch(url, json=members_op("Remove", extra)), 204)
                t2 = time.perf_counter()
                add_ms.append((t1 - t0) * 1000)
                remove_ms.append((t2 - t1) * 1000)
            read = timed(lambda u=url: check(
                http.get(u, params={"excludedAttributes": "members"}), 200), args.repeat * 5)
            member_url = f"{base}/Users/{pool[0]}"
            user_read = timed(lambda u=member_url: check(http.get(u), 200), args.repeat * 5)
            rows.append((size, statistics.median(add_ms), statistics.median(remove_ms),
                         read[0], user_read[0]))
        rss = app.peak_rss_mb()

    print()
    print("| group size | PATCH add 1,000 (ms) | PATCH remove 1,000 (ms) | "
          "GET group excl. members (ms) | GET member user with groups (ms) |")
    print("|---:|---:|---:|---:|---:|")
    for size, add, remove, read, user in rows:
        print(f"| {size:,} | {add:.1f} | {remove:.1f} | {read:.2f} | {user:.2f} |")
    print(f"\nmedians of {args.repeat} (PATCH) / {args.repeat * 5} (GET) runs; "
          f"server peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
