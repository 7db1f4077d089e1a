"""A flood of bad-token requests over a real server leaves a bounded trace (issue 13 #2).

The speed and the full 10,000-request figures are measured by scripts/flood_bad_tokens.py;
this test asserts the bound itself: no provisioning-log entry, at most one counted row
per minute and reason (one client here), every request counted, nothing of what was
sent stored beyond the path.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sqlalchemy import create_engine

from tests.appliance_server import DATABASE_KEY, RunningAppliance
from tests.hostile_text import HOSTILE

REQUESTS = 600
FILTER = 'userName eq "' + HOSTILE.replace("\x00", "") * 20 + '"'  # about 2 KB


def _flood(server, token: str | None, count: int) -> None:
    http = server.session()
    if token is None:
        del http.headers["Authorization"]
    else:
        http.headers["Authorization"] = f"Bearer {token}"
    for _ in range(count):
        assert http.get(f"{server.base}/scim/Users", params={"filter": FILTER}
                        ).status_code == 401


def test_bad_token_requests_are_counted_within_a_bound(tmp_path):
    server = RunningAppliance(tmp_path / "instance").start()
    try:
        replaced = server.token
        server.cli("token", "issue")
        start = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)
        tokens = ["scimapp_forged.token", None, replaced]
        with ThreadPoolExecutor(len(tokens)) as pool:
            list(pool.map(lambda t: _flood(server, t, REQUESTS // len(tokens)), tokens))
        end = datetime.now(UTC).replace(tzinfo=None, second=0, microsecond=0)

        def counted():
            rows = json.loads(server.cli("log", "--unauthenticated", "--json",
                                         "--limit", "1000"))
            return rows if sum(r["requests"] for r in rows) >= REQUESTS else None

        deadline = time.monotonic() + 60
        while (rows := counted()) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert rows, "the log writer did not count the requests"
        assert sum(r["requests"] for r in rows) == REQUESTS
        minutes = int((end - start).total_seconds() // 60) + 1
        assert len(rows) <= len(tokens) * minutes
        assert {r["reason"] for r in rows} == {"invalid_token", "no_token", "replaced_token"}
        assert all(len(r["examples"]) <= 3 for r in rows)
        assert json.loads(server.cli("log", "--json")) == []
        url = server.env.get(DATABASE_KEY) or \
            f"sqlite:///{tmp_path / 'instance' / 'scim-appliance.db'}"
        engine = create_engine(url)
        try:
            with engine.connect() as db:
                assert db.exec_driver_sql("SELECT count(*) FROM provisioning_log"
                                          ).scalar_one() == 0
                stored = "".join(str(tuple(row)) for row in
                                 db.exec_driver_sql("SELECT * FROM auth_failures"))
        finally:
            engine.dispose()
        assert "mallory" not in stored and "FAKE-LINE" not in stored
        assert len(stored) < 1000 * len(rows)
    finally:
        server.stop()
