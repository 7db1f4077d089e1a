"""Black-box concurrency checks against real appliance nodes (waitress over HTTP).

Three runs, each counting what a correct appliance never shows:

1. lost updates: 8 threads PATCH different attributes of one user; an attribute that
   ends up with anything but the last value its thread had acknowledged is a lost
   update, and so is a version below 1 + the acknowledged writes;
2. version bumps: 224 member PATCHes (8 threads) on one group; its ETag must end at
   W/"225" (RFC 7644 §3.14: every acknowledged change gives a new version);
3. shared deletes: two nodes delete 4 groups and their 200 shared members at once;
   every DELETE must answer 204 (a 5xx is a deadlock or a lock timeout let through).

    SCIM_APPLIANCE_TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:55433/bench \
        .venv/bin/python scripts/concurrency_pg.py

The database is emptied first (every table dropped): point it at a throw-away one.
Without a URL it runs on a SQLite file shared by the nodes, for comparison.

Measured on PostgreSQL 15 (2 shared cores), before and after row locks and retries:
attributes lost 5 -> 0 of 8, user version 70 -> 241 for 240 acknowledged PATCHes,
group ETag W/"42" -> W/"225" after 224 member PATCHes, shared DELETEs answered 5xx
35 -> 0 of 204. SQLite, for comparison: 0, 241, W/"225", 0.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.appliance_server import RunningAppliance  # noqa: E402

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ATTRIBUTES = ("title", "nickName", "displayName", "profileUrl", "locale", "timezone",
              "preferredLanguage", "userType")


def empty_database(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def start_nodes(url: str | None, count: int, workdir: Path) -> list[RunningAppliance]:
    env = {"SCIM_APPLIANCE_SECRET_KEY": secrets.token_hex(32)}
    if url:
        env["SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI"] = url
    else:
        env["SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{workdir / 'shared.db'}"
    nodes = [RunningAppliance(workdir / f"node{i}", env) for i in range(count)]
    nodes[0].start()
    for node in nodes[1:]:
        node.token = nodes[0].token
        node.serve()
    return nodes


def ops(*operations) -> str:
    return json.dumps({"schemas": [PATCH], "Operations": list(operations)})


def lost_updates(nodes, rounds: int) -> dict:
    http = nodes[0].session()
    user = http.post(f"{nodes[0].base}/scim/Users", data=json.dumps(
        {"schemas": [USER], "userName": f"race.{secrets.token_hex(4)}@contoso.com"})).json()
    acked: dict[str, str] = {}
    statuses: Counter = Counter()
    lock = threading.Lock()

    def writer(index: int) -> None:
        attr = ATTRIBUTES[index]
        node = nodes[index % len(nodes)]
        session = node.session()
        for n in range(rounds):
            value = f"{attr}-{n}"
            resp = session.patch(f"{node.base}/scim/Users/{user['id']}",
                                 data=ops({"op": "replace", "path": attr, "value": value}))
            with lock:
                statuses[resp.status_code] += 1
                if resp.status_code == 200:
                    acked[attr] = value

    with ThreadPoolExecutor(len(ATTRIBUTES)) as pool:
        list(pool.map(writer, range(len(ATTRIBUTES))))
    final = http.get(f"{nodes[0].base}/scim/Users/{user['id']}").json()
    lost = sum(1 for attr, value in acked.items() if final.get(attr) != value)
    version = int(final["meta"]["version"].strip('W/"'))
    return {"writes_acknowledged": statuses[200], "statuses": dict(statuses),
            "attributes_lost": lost, "version": version,
            "version_expected": 1 + statuses[200]}


def version_bumps(nodes, members: int) -> dict:
    http = nodes[0].session()
    base = nodes[0].base
    group = http.post(f"{base}/scim/Groups", data=json.dumps(
        {"schemas": [GROUP], "displayName": f"race-{secrets.token_hex(4)}"})).json()
    ids = [http.post(f"{base}/scim/Users", data=json.dumps(
        {"schemas": [USER], "userName": f"m{i}.{secrets.token_hex(3)}@contoso.com"})).json()["id"]
        for i in range(members)]
    statuses: Counter = Counter()
    lock = threading.Lock()
    local = threading.local()

    def add(index: int) -> None:
        node = nodes[index % len(nodes)]
        if not hasattr(local, "s"):
            local.s = {n.base: n.session() for n in nodes}
        resp = local.s[node.base].patch(
            f"{node.base}/scim/Groups/{group['id']}",
            data=ops({"op": "add", "path": "members", "value": [{"value": ids[index]}]}))
        with lock:
            statuses[resp.status_code] += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(add, range(members)))
    final = http.get(f"{base}/scim/Groups/{group['id']}").json()
    return {"patches_acknowledged": statuses[204], "statuses": dict(statuses),
            "etag": final["meta"]["version"], "etag_expected": f'W/"{1 + statuses[204]}"',
            "members": len(final.get("members", []))}


def shared_deletes(nodes, groups: int, members: int) -> dict:
    http = nodes[0].session()
    base = nodes[0].base
    ids = [http.post(f"{base}/scim/Users", data=json.dumps(
        {"schemas": [USER], "userName": f"d{i}.{secrets.token_hex(3)}@contoso.com"})).json()["id"]
        for i in range(members)]
    group_ids = [http.post(f"{base}/scim/Groups", data=json.dumps(
        {"schemas": [GROUP], "displayName": f"shared-{g}-{secrets.token_hex(3)}",
         "members": [{"value": i} for i in ids]})).json()["id"] for g in range(groups)]
    # Interleaved, as Entra's de-provisioning of a scope sends them.
    targets = [f"/scim/Groups/{g}" for g in group_ids]
    step = max(1, members // (groups + 1))
    work = []
    for i, user_id in enumerate(ids):
        work.append(f"/scim/Users/{user_id}")
        if i % step == 0 and targets:
            work.append(targets.pop())
    work.extend(targets)
    statuses: Counter = Counter()
    lock = threading.Lock()
    local = threading.local()

    def delete(index: int) -> None:
        node = nodes[index % len(nodes)]
        if not hasattr(local, "s"):
            local.s = {n.base: n.session() for n in nodes}
        resp = local.s[node.base].delete(f"{node.base}{work[index]}")
        with lock:
            statuses[resp.status_code] += 1

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(delete, range(len(work))))
    return {"deletes": len(work), "statuses": dict(statuses),
            "5xx": sum(n for s, n in statuses.items() if s >= 500)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=os.environ.get("SCIM_APPLIANCE_TEST_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--members", type=int, default=224)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scim-concurrency-") as work:
        if args.database:
            empty_database(args.database)
        one = start_nodes(args.database, 1, Path(work) / "one")
        try:
            results = {"backend": "postgresql" if args.database else "sqlite",
                       "lost_updates": lost_updates(one, args.rounds),
                       "version_bumps": version_bumps(one, args.members)}
        finally:
            for node in one:
                node.stop()
        if args.database:
            empty_database(args.database)
        two = start_nodes(args.database, 2, Path(work) / "two")
        try:
            results["shared_deletes_two_nodes"] = shared_deletes(two, 4, 200)
        finally:
            for node in two:
                node.stop()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
