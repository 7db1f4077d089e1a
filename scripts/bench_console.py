"""How fast are the console's Users page and a user's detail page at 100,000 users?
(README, "Operator console")

Builds a fresh SQLite instance of --users Entra-shaped users (scripts/bench.py's
documents, written with multi-row INSERTs and the derived names create_user would
give them), 200 groups of 50 members each and a provisioning log of --log entries,
then requests the pages through the Flask test client as a signed-in administrator
(the whole request: session look-up, SQL, template): the first users page, a page
deep in the listing, a plain-text search, a SCIM filter search, and a user's detail
page (the SCIM document, its groups, its log entries). p50 and p99 over --repeat
requests each, wall clock.

    .venv/bin/python scripts/bench_console.py [--users 100000] [--repeat 200] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1]))
from bench import entra_user  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from scim_appliance import create_app  # noqa: E402
from scim_appliance.domain.admins import administrators, audit  # noqa: E402
from scim_appliance.domain.clock import utcnow  # noqa: E402
from scim_appliance.domain.names.policy import DEFAULT_RULES  # noqa: E402
from scim_appliance.domain.names.rules import resolve, sanitize  # noqa: E402
from scim_appliance.storage import migrations  # noqa: E402
from scim_appliance.storage.extensions import db  # noqa: E402
from scim_appliance.storage.models import (  # noqa: E402
    Group,
    Membership,
    ProvisioningLogEntry,
    User,
)

PASSWORD = "benchmark password"


def build(app, n_users: int, n_log: int) -> list[str]:
    rule = DEFAULT_RULES.user.rule
    now = utcnow()
    ids, rows, taken = [], [], set()
    for i in range(n_users):
        doc = entra_user(i)
        uid = str(uuid.uuid4())
        name = doc["userName"]
        derived = resolve(sanitize(name, rule, uid), uid, rule, lambda key: key in taken)
        taken.add(rule.key(derived))
        ids.append(uid)
        rows.append({"id": uid, "user_name": name, "user_name_ci": name.lower(),
                     "external_id": doc.get("externalId"), "active": True, "data": doc,
                     "created": now, "last_modified": now, "version": 1, "source": "scim",
                     "sanitized_user_name": derived, "sanitized_user_name_key": rule.key(derived),
                     "name_adjusted": derived != name})
    with app.app_context():
        db.create_all()
        with db.engine.begin() as conn:
            migrations.stamp_head(conn)
            for start in range(0, len(rows), 500):
                conn.execute(insert(User), rows[start:start + 500])
            for g in range(200):
                gid = str(uuid.uuid4())
                conn.execute(insert(Group), [{
                    "id": gid, "display_name": f"Group {g}", "display_name_ci": f"group {g}",
                    "data": {"displayName": f"Group {g}"}, "created": now,
                    "last_modified": now, "version": 1, "source": "scim",
                    "sanitized_display_name": f"Group_{g}",
                    "sanitized_display_name_key": f"group_{g}", "name_adjusted": True}])
                conn.execute(insert(Membership), [
                    {"group_id": gid, "member_id": ids[(g * 50 + m) % n_users],
                     "member_type": "User"} for m in range(50)])
            log = [{"at": now, "request_id": uuid.uuid4().hex, "client": "203.0.113.9",
                    "method": "PATCH", "path": f"/scim/Users/{ids[i % n_users]}",
                    "resource_type": "User", "resource_id": ids[i % n_users],
                    "resource_name": rows[i % n_users]["user_name"], "operation": "PATCH",
                    "action": "updated", "changes": {"attributes": ["title"]},
                    "status": 200 if i % 20 else 400, "scim_type": None, "detail": None,
                    "duration_us": 1500, "failure_kind": None if i % 20 else "invalid_value",
                    "notify_pending": False, "digest_id": None} for i in range(n_log)]
            for start in range(0, len(log), 1000):
                conn.execute(insert(ProvisioningLogEntry), log[start:start + 1000])
        administrators.create_admin(db.session, "bench", PASSWORD, audit.Actor("cli"))
        db.session.commit()
    return ids


def signed_in(app):
    client = app.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/sign-in", data={"csrf_token": token, "username": "bench",
                                         "password": PASSWORD})
    assert resp.status_code == 302, resp.status_code
    return client


def timed(client, paths, repeat: int) -> dict:
    times = []
    for n in range(repeat):
        path = paths[n % len(paths)]
        start = time.perf_counter()
        resp = client.get(path)
        times.append(time.perf_counter() - start)
        assert resp.status_code == 200, (path, resp.status_code)
    times.sort()
    return {"p50_ms": round(statistics.median(times) * 1000, 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))] * 1000, 1),
            "requests": repeat}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--log", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"TESTING": False, "SECRET_KEY": "bench",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db"})
        app.instance_path = folder
        started = time.perf_counter()
        ids = build(app, args.users, args.log)
        print(f"built {args.users} users, {args.log} log entries in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
        client = signed_in(app)
        rng = random.Random(7)
        sample = [rng.choice(ids) for _ in range(50)]
        last_page = -(-args.users // 50)
        cases = {
            "users page 1": ["/users"],
            "users page, random deep": [f"/users?page={rng.randint(1, last_page)}"
                                        for _ in range(50)],
            "users search, plain text": [f"/users?q=user{rng.randint(0, args.users - 1):07d}"
                                         for _ in range(50)],
            "users search, SCIM filter": [
                f'/users?q=userName eq "user{rng.randint(0, args.users - 1):07d}@contoso.com"'
                for _ in range(50)],
            "user detail": [f"/users/{uid}" for uid in sample],
            "provisioning log page 1, failures only": ["/log?failures=1"],
        }
        results = {}
        for name, paths in cases.items():
            repeat = args.repeat if "plain text" not in name else max(10, args.repeat // 10)
            results[name] = timed(client, paths, repeat)
            print(f"{name:<42} p50 {results[name]['p50_ms']:>8} ms   "
                  f"p99 {results[name]['p99_ms']:>8} ms   ({results[name]['requests']} requests)")
    if args.json:
        args.json.write_text(json.dumps({"users": args.users, "log": args.log,
                                         "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
