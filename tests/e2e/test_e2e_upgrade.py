"""A database written by release 0.1.0's own code, upgraded and served by this release.

The fixture (tests/fixtures/releases/release-0.1.0.*, made by scripts/make_release_db.py
from commit 0521196) holds users with adjusted names, the enterprise extension and a
manager, groups with members, log entries, the token and the sync switch turned off,
plus every resource as 0.1.0 answered GET.
"""

from __future__ import annotations

import json
import sqlite3

from tests.appliance_server import RunningAppliance
from tests.storage.test_migrations import counts, release_instance, run


def _as_served(resource: dict, base: str) -> dict:
    """The fixture was read through Flask's test client (http://localhost): its
    `meta.location` and `$ref` URLs name that host."""
    return json.loads(json.dumps(resource).replace('"http://localhost/', f'"{base}/'))


def test_a_0_1_0_database_is_served_identically_after_db_upgrade(tmp_path):
    instance, fixture = release_instance(tmp_path, "release-0.1.0")
    database = instance / "scim-appliance.db"
    before = counts(database)
    assert before["users"] == 5 and before["memberships"] == 6
    run(instance, "db", "upgrade")
    appliance = RunningAppliance(instance, database="sqlite")
    appliance.token = fixture["token"]
    appliance.serve()
    try:
        http = appliance.session()
        scim = f"{appliance.base}/scim"
        off = http.get(f"{scim}/Users")
        assert off.status_code == 403  # the switch was off in 0.1.0 and stays off
        assert "disabled" in off.json()["detail"]
        appliance.cli("sync", "enable")
        for kind in ("users", "groups"):
            for resource_id, expected in fixture[kind].items():
                got = http.get(f"{scim}/{kind.title()}/{resource_id}")
                assert got.status_code == 200, got.text
                assert got.json() == _as_served(expected, appliance.base)
                assert got.headers["ETag"] == expected["meta"]["version"]
        wrong = http.get(f"{scim}/Users", headers={"Authorization": "Bearer scimapp_x.y"})
        assert wrong.status_code == 401
        # what 0.1.0 recorded is still there beside what this release records
        log = appliance.cli("log", "--user", "adele.vance@contoso.com", "--limit", "100")
        assert log.count("created") >= 1 and "rejected" in log
        adjustments = appliance.cli("names", "adjustments", "--json")
        assert "Finance_Ops_EMEA" in adjustments and "Sean.OBrien@contoso.com" in adjustments
    finally:
        appliance.stop()
    after = counts(database)
    for table in ("users", "groups", "memberships", "name_adjustments", "appliance_state",
                  "notification_digests"):
        assert after[table] == before[table], table
    assert after["provisioning_log"] > before["provisioning_log"]
    con = sqlite3.connect(database)
    assert con.execute("SELECT sync_enabled FROM appliance_state").fetchone() == (1,)
