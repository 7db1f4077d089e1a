"""How long `scim-appliance backup` holds up Entra's writes (issue: upgrades and backups).

    python scripts/bench_backup.py --users 20000 --seconds 10

Seeds a fresh appliance with `--users` users (so the copy takes a while), then runs the
same write load (PATCH of one attribute, Entra's most common write) twice for
`--seconds`: once alone, once while backups run back to back. The backups are the
copy `scim-appliance backup` makes (storage/backup.copy_sqlite), run in this process:
on a 2-core machine the CLI's own start-up (several seconds of imports beside the load
generator) would measure CPU contention, not what the copy does to writers. One CLI
run is timed at the end. Reports write p50/p99 and the longest write in each.
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from appliance_process import ApplianceProcess  # noqa: E402
from loadgen import Client, Stats, for_duration, run_parallel  # noqa: E402

from scim_appliance.storage.backup import backup_name, copy_sqlite  # noqa: E402

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _seed(client: Client, payload) -> list[str]:
    start, count = payload
    ids = []
    for n in range(start, start + count):
        body = {"schemas": [CORE], "userName": f"user{n:06d}@contoso.com",
                "displayName": f"User {n}", "title": "Seed " * 20}
        created = client.call("seed", "POST", "/scim/Users", body, expect=201)
        if created:
            ids.append(created["id"])
    return ids


def _writes(client: Client, payload) -> None:
    ids, seconds = payload

    def step():
        user = random.choice(ids)
        body = {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "title", "value": f"t{random.randrange(10**6)}"}]}
        client.call("patch", "PATCH", f"/scim/Users/{user}", body)

    for_duration(seconds, step)


def _report(label: str, stats: Stats) -> None:
    values = stats.latencies.get("patch", [])
    print(f"{label:<22} {len(values):>7} writes  p50 {stats.median('patch'):7.1f} ms  "
          f"p99 {stats.percentile('patch', 99):7.1f} ms  max {max(values):7.1f} ms  "
          f"failures {len(stats.failures)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--processes", type=int, default=None)
    args = parser.parse_args()
    with ApplianceProcess(processes=args.processes) as app:
        per = args.users // args.clients
        _, seeded = run_parallel(_seed, app.port, app.token,
                                 [(i * per, per) for i in range(args.clients)])
        ids = [user for chunk in seeded for user in chunk]
        database = Path(app.instance) / "scim-appliance.db"
        print(f"{len(ids)} users, database {database.stat().st_size / 1e6:.1f} MB")
        alone, _ = run_parallel(_writes, app.port, app.token,
                                [(ids, args.seconds)] * args.clients)
        _report("writes alone", alone)
        took: list[float] = []
        done = threading.Event()

        def back_to_back():
            folder = Path(app.instance) / "backups"
            while not done.is_set():
                start = time.perf_counter()
                copy = copy_sqlite(database, folder / backup_name(database))
                took.append(time.perf_counter() - start)
                copy.unlink()

        runner = threading.Thread(target=back_to_back)
        runner.start()
        during, _ = run_parallel(_writes, app.port, app.token,
                                 [(ids, args.seconds)] * args.clients)
        done.set()
        runner.join()
        _report("writes during backups", during)
        print(f"{len(took)} backups back to back, each {min(took):.2f}-{max(took):.2f} s")
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "scim_appliance", "backup"], env=app.env,
                       check=True, capture_output=True)
        print(f"'scim-appliance backup' on the idle appliance: "
              f"{time.perf_counter() - start:.2f} s (process start-up included)")


if __name__ == "__main__":
    main()
