"""The provisioning benchmark (`make bench`): the real appliance under waitress, driven
over HTTP the way Entra ID drives it, beside a constant-answer Flask app (the ceiling).

Phases: an Entra initial cycle (match by userName, create; groups matched, created,
filled), an incremental cycle (PATCH in both dialects, disable, delete), steady
state (filter GETs by userName and externalId, GET by id, list pages), group scale
(10 / 1,000 / 10,000 members) and, with --scale, filter throughput as the directory
grows. Every response is checked; the run fails loudly if any request failed.

    .venv/bin/python scripts/bench.py [--users 10000] [--clients 4] [--seconds 8]
                                      [--scale 1000,100000] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import bench_groups  # noqa: E402
from appliance_process import ApplianceProcess, free_port  # noqa: E402
from loadgen import Stats, filter_path, for_duration, run_parallel  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def entra_user(i: int) -> dict:
    """A POST body with Entra's default attribute mapping (Microsoft's SCIM endpoint
    tutorial, user attributes)."""
    name = f"user{i:07d}@contoso.com"
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": f"ext{i:07d}", "userName": name, "active": True,
        "displayName": f"User {i}", "title": "Engineer", "preferredLanguage": "en-US",
        "emails": [{"primary": True, "type": "work", "value": name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": f"User {i}", "familyName": f"Family{i}", "givenName": "User"},
        "addresses": [{"type": "work", "formatted": "18/2111", "streetAddress": "One Way",
                       "locality": "Redmond", "region": "WA", "postalCode": "98052",
                       "country": "US"}],
        "phoneNumbers": [{"type": "work", "value": "+1 425 555 0100"},
                         {"type": "mobile", "value": "+1 425 555 0101"}],
        ENTERPRISE: {"employeeNumber": str(i), "department": f"Dept {i % 20}"},
        "roles": [],
    }


# -- workers (run in child processes) ----------------------------------------------
def initial_cycle(client, indices):
    ids = []
    for i in indices:
        body = entra_user(i)
        expr = f'userName eq "{body["userName"]}"'
        found = client.call("match GET", "GET", filter_path("Users", expr))
        if found is not None and found["totalResults"] == 0:
            created = client.call("create POST", "POST", "/scim/Users", body, expect=201)
            if created:
                ids.append((i, created["id"]))
    return ids


def group_cycle(client, work):
    for name, member_ids in work:
        client.call("group match GET", "GET", filter_path(
            "Groups", f'displayName eq "{name}"', "excludedAttributes=members&"))
        group = client.call("group POST", "POST", "/scim/Groups",
                            {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                             "displayName": name, "externalId": name}, expect=201)
        if not group:
            continue
        for start in range(0, len(member_ids), 500):
            client.call("group PATCH add 500", "PATCH", f"/scim/Groups/{group['id']}", {
                "schemas": [PATCH], "Operations": [{"op": "Add", "path": "members", "value": [
                    {"$ref": None, "value": m} for m in member_ids[start:start + 500]]}]},
                expect=204)


def incremental_cycle(client, work):
    for kind, user_id, i in work:
        url = f"/scim/Users/{user_id}"
        if kind == "PATCH legacy":
            body = {"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "displayName", "value": f"Renamed {i}"},
                {"op": "Replace", "path": 'emails[type eq "work"].value',
                 "value": f"renamed{i}@contoso.com"},
                {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"}]}
        elif kind == "PATCH aadOptscim062020":
            body = {"schemas": [PATCH], "Operations": [
                {"op": "replace", "value": {"title": "Lead", "name.givenName": "Renamed",
                                            f"{ENTERPRISE}:employeeNumber": f"E{i}"}}]}
        elif kind == "PATCH disable":
            body = {"schemas": [PATCH], "Operations": [
                {"op": "Replace", "path": "active", "value": "False"}]}
        else:
            client.call("DELETE", "DELETE", url, expect=204)
            continue
        client.call(kind, "PATCH", url, body)


def steady_state(client, work):
    kind, seconds, users = work
    if kind == "filter GET userName":
        def step():
            i, _ = random.choice(users)
            expr = f'userName eq "user{i:07d}@contoso.com"'
            found = client.call(kind, "GET", filter_path("Users", expr))
            if found is not None and found["totalResults"] != 1:
                client.stats.failures.append(f"{kind}: user{i} not found")
    elif kind == "filter GET externalId":
        def step():
            i, _ = random.choice(users)
            client.call(kind, "GET", filter_path("Users", f'externalId eq "ext{i:07d}"'))
    elif kind == "GET by id":
        def step():
            client.call(kind, "GET", f"/scim/Users/{random.choice(users)[1]}")
    elif kind == "list page (100)":
        def step():
            start = random.randint(1, max(1, len(users) - 100))
            client.call(kind, "GET", f"/scim/Users?startIndex={start}&count=100")
    else:  # the ceiling
        def step():
            client.call(kind, "GET", filter_path("Users", 'userName eq "x@contoso.com"'))
    for_duration(seconds, step)


# -- orchestration ------------------------------------------------------------------
class Ceiling:
    def __init__(self, threads=8):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "ceiling_app.py"),
                                      str(self.port), str(threads)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.token = None
        time.sleep(1.0)

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def split(items, parts):
    return [items[i::parts] for i in range(parts)]


def row(label, stats: Stats, kind: str, ceiling: float | None = None, count_kind=None):
    rate = stats.count(count_kind or kind) / stats.elapsed
    ratio = f"{rate / ceiling:.0%}" if ceiling else ""
    return (f"| {label} | {stats.count(kind):,} | {rate:,.0f} | {stats.median(kind):.1f} | "
            f"{stats.percentile(kind, 99):.1f} | {ratio} |")


def check_failures(label: str, stats: Stats, failures: list):
    if stats.failures:
        failures.extend(f"[{label}] {f}" for f in stats.failures[:10])


def steady(app, kind, clients, seconds, users):
    stats, _ = run_parallel(steady_state, app.port, app.token,
                            [(kind, seconds, users)] * clients)
    return stats


def measure_ceiling_and_filter(app, ceiling, clients, seconds, users, rounds=2):
    """Alternate ceiling and real runs so both see the same machine state."""
    real, top = [], []
    for _ in range(rounds):
        top.append(steady(ceiling, "ceiling GET", clients, seconds, users))
        real.append(steady(app, "filter GET userName", clients, seconds, users))
    return real, top


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--processes", type=int, default=None,
                        help="appliance worker processes (default: its PROCESSES)")
    parser.add_argument("--scale", default="", help="e.g. 1000,100000: filter GET "
                        "throughput at these directory sizes (grown in one instance)")
    parser.add_argument("--skip-groups", action="store_true")
    parser.add_argument("--json", default="", help="write the figures to this file")
    args = parser.parse_args()
    failures: list[str] = []
    report: list[str] = []
    figures: dict = {}

    ceiling = Ceiling(args.threads)
    try:
        with ApplianceProcess(threads=args.threads, processes=args.processes) as app:
            # Entra initial cycle.
            stats, results = run_parallel(initial_cycle, app.port, app.token,
                                          split(list(range(args.users)), args.clients))
            check_failures("initial", stats, failures)
            users = sorted(pair for part in results for pair in part)
            report.append(row("initial: match GET", stats, "match GET"))
            report.append(row("initial: create POST", stats, "create POST"))
            figures["users_per_second"] = stats.count("create POST") / stats.elapsed
            report.append(f"| initial: **users provisioned/s** (match+create, {args.clients} "
                          f"clients) | {len(users):,} | {figures['users_per_second']:,.0f} | | | |")

            n_groups = max(4, args.users // 1000)
            ids = [u for _, u in users]
            work = [(f"Group {g}", ids[g::n_groups]) for g in range(n_groups)]
            stats, _ = run_parallel(group_cycle, app.port, app.token,
                                    split(work, min(args.clients, n_groups)))
            check_failures("groups", stats, failures)
            report.append(row("groups: match GET", stats, "group match GET"))
            report.append(row("groups: create POST", stats, "group POST"))
            report.append(row("groups: PATCH add 500 members", stats, "group PATCH add 500"))

            # Steady state, with the ceiling alternated.
            real, top = measure_ceiling_and_filter(app, ceiling, args.clients, args.seconds, users)
            top_rate = sum(s.rate() for s in top) / len(top)
            for s in real + top:
                check_failures("steady", s, failures)
            best = max(real, key=lambda s: s.rate())
            report.append(row(f"ceiling: constant Flask app ({args.clients} conns)", top[0],
                              "ceiling GET", top_rate))
            report.append(row(f"steady: filter GET userName ({args.clients} conns)", best,
                              "filter GET userName", top_rate))
            figures["filter_ratio"] = best.rate() / top_rate
            for kind in ("filter GET externalId", "GET by id", "list page (100)"):
                s = steady(app, kind, args.clients, args.seconds, users)
                check_failures(kind, s, failures)
                report.append(row(f"steady: {kind}", s, kind, top_rate))
            s16 = steady(app, "filter GET userName", 16, args.seconds, users)
            c16 = steady(ceiling, "ceiling GET", 16, args.seconds, users)
            check_failures("16 conns", s16, failures)
            report.append(row("ceiling (16 conns)", c16, "ceiling GET", c16.rate()))
            report.append(row("steady: filter GET userName (16 conns)", s16,
                              "filter GET userName", c16.rate()))
            figures["filter_p99_16"] = s16.percentile("filter GET userName", 99)

            # Incremental cycle on a sample.
            sample = random.Random(1).sample(users, min(len(users), max(40, args.users // 10)))
            kinds = ["PATCH legacy", "PATCH aadOptscim062020", "PATCH disable", "DELETE"]
            work = [(kinds[n % 4], uid, i) for n, (i, uid) in enumerate(sample)]
            stats, _ = run_parallel(incremental_cycle, app.port, app.token,
                                    split(work, args.clients))
            check_failures("incremental", stats, failures)
            for kind in kinds:
                report.append(row(f"incremental: {kind}", stats, kind))

            figures["peak_rss_mb"] = app.peak_rss_mb()
            figures["pss_mb"] = app.pss_mb()
            figures["processes"] = len(app.pids()) - 1 or 1
    finally:
        ceiling.close()

    group_rows = []
    if not args.skip_groups:
        group_rows = bench_groups_rows(failures)

    scale_rows = []
    if args.scale:
        scale_rows = scale_run([int(x) for x in args.scale.split(",")], args, failures,
                               figures)

    print(f"\n## scim-appliance benchmark: {args.users:,} users, {args.clients} clients, "
          f"{figures['processes']} appliance process(es) of {args.threads} waitress threads "
          "(the ceiling: 1 process)\n")
    print("| phase | requests | per second | p50 ms | p99 ms | of ceiling |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(report))
    print(f"\nserver memory after the cycles: {figures['pss_mb']:.0f} MB PSS; peak RSS "
          f"{figures['peak_rss_mb']:.0f} MB summed over the processes (pages shared "
          "since fork counted in each)")
    if group_rows:
        print("\n" + "\n".join(group_rows))
    if scale_rows:
        print("\n" + "\n".join(scale_rows))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
    if failures:
        print(f"\nFAILED REQUESTS ({len(failures)} shown):")
        print("\n".join(failures))
        sys.exit(1)
    print("\nall requests succeeded")


def bench_groups_rows(failures: list) -> list[str]:
    """Group scale: delegated to bench_groups (also runnable on its own)."""
    proc = subprocess.run([sys.executable, str(Path(bench_groups.__file__)), "--repeat", "5"],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        failures.append(f"[group scale] {proc.stdout[-500:]} {proc.stderr[-500:]}")
        return []
    return ["### group scale", *[line for line in proc.stdout.splitlines()
                                 if line.startswith("|") or "RSS" in line]]


def scale_run(sizes: list[int], args, failures: list, figures: dict) -> list[str]:
    """Filter GET throughput as the directory grows, in one instance."""
    lines = ["### filter GET by userName as the directory grows",
             "| users | filter GETs/s | p50 ms | p99 ms | server peak RSS MB (summed) | "
             "server PSS MB |",
             "|---:|---:|---:|---:|---:|---:|"]
    with ApplianceProcess(threads=args.threads, processes=args.processes) as app:
        have = 0
        users: list = []
        for size in sorted(sizes):
            stats, results = run_parallel(initial_cycle, app.port, app.token,
                                          split(list(range(have, size)), args.clients))
            check_failures(f"scale fill {size}", stats, failures)
            users.extend(pair for part in results for pair in part)
            have = size
            s = steady(app, "filter GET userName", args.clients, args.seconds, users)
            check_failures(f"scale {size}", s, failures)
            rss, pss = app.peak_rss_mb(), app.pss_mb()
            figures[f"scale_{size}"] = {"rate": s.rate(), "rss_mb": rss, "pss_mb": pss}
            lines.append(f"| {size:,} | {s.rate():,.0f} | {s.median('filter GET userName'):.1f}"
                         f" | {s.percentile('filter GET userName', 99):.1f} | {rss:.0f} | "
                         f"{pss:.0f} |")
    return lines


if __name__ == "__main__":
    main()
