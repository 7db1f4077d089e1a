"""End to end: an Entra-style lifecycle against waitress, then the log and the email.

The one test here that waits on real time: the server's own worker mails the failures
(NOTIFY_DIGEST_SECONDS=1) to a real SMTP server, and the log is read back with the CLI.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest

from tests.appliance_server import RunningAppliance
from tests.smtp_sink import SmtpSink, text_of

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def server(tmp_path, sink):
    appliance = RunningAppliance(tmp_path / "instance", env={
        "SCIM_APPLIANCE_SMTP_HOST": "127.0.0.1", "SCIM_APPLIANCE_SMTP_PORT": str(sink.port),
        "SCIM_APPLIANCE_SMTP_SECURITY": "none", "SCIM_APPLIANCE_NOTIFY_TO": "admin@contoso.com",
        "SCIM_APPLIANCE_NOTIFY_DIGEST_SECONDS": "1",
        # One process: the GET after the DELETE must find the name its writer logged a
        # moment before; with several, that entry may still sit in another process's
        # queue (README, "Several processes"). test_workers.py covers several.
        "SCIM_APPLIANCE_PROCESSES": "1"}).start()
    yield appliance
    appliance.stop()


def wait_for(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_lifecycle_is_logged_and_failures_are_mailed_once(server, sink):
    http = server.session()
    scim = f"{server.base}/scim"
    seen = []  # (request id, what the log must say)

    def call(method, url, expect_status, expect, **kw):
        resp = http.request(method, url, **kw)
        assert resp.status_code == expect_status, resp.text
        seen.append((resp.headers["X-Request-Id"], expect))
        return resp

    # Test Connection, match, create, match again.
    probe = str(uuid.uuid4())
    call("GET", f"{scim}/Users", 200, ("matched", probe, {"results": 0,
         "filter": f'userName eq "{probe}"'}), params={"filter": f'userName eq "{probe}"'})
    match = {"filter": 'userName eq "adele.vance@contoso.com"'}
    call("GET", f"{scim}/Users", 200, ("matched", "adele.vance@contoso.com",
                                       {**match, "results": 0}), params=match)
    adele = call("POST", f"{scim}/Users", 201, ("created", "adele.vance@contoso.com", None),
                 json={"userName": "adele.vance@contoso.com", "password": "Init!al-Pa55",
                       "emails": [{"type": "work", "value": "adele@contoso.com"}]}).json()
    call("GET", f"{scim}/Users", 200, ("matched", "adele.vance@contoso.com",
                                       {**match, "results": 1}), params=match)
    user_url = f"{scim}/Users/{adele['id']}"
    # Updates in both dialects, disable and enable.
    call("PATCH", user_url, 200, ("updated", "adele.vance@contoso.com", {"attributes": [
        "displayName", 'emails[type eq "work"].value']}), json=ops(
        {"op": "Replace", "path": "displayName", "value": "Adele"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "av@contoso.com"}))
    call("PATCH", user_url + "?aadOptscim062020", 200, ("updated", "adele.vance@contoso.com",
         {"attributes": ["name.givenName", "enterprise:department"]}), json=ops(
        {"op": "replace", "value": {
            "name.givenName": "Adele",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D"}}))
    call("PATCH", user_url, 200, ("disabled", "adele.vance@contoso.com", {"active": False}),
         json=ops({"op": "Replace", "path": "active", "value": "False"}))
    call("PATCH", user_url, 200, ("enabled", "adele.vance@contoso.com", {"active": True}),
         json=ops({"op": "replace", "path": "active", "value": True}))
    # A group: match, create, members (one unknown), remove one.
    call("GET", f"{scim}/Groups", 200, ("matched", "Sales", None),
         params={"excludedAttributes": "members", "filter": 'displayName eq "Sales"'})
    sales = call("POST", f"{scim}/Groups", 201, ("created", "Sales", None),
                 json={"displayName": "Sales", "externalId": "g-1"}).json()
    group_url = f"{scim}/Groups/{sales['id']}"
    call("PATCH", group_url, 400, ("rejected", "Sales", {"members_added": 2}),
         json=ops({"op": "Add", "path": "members",
                   "value": [{"value": adele["id"]}, {"value": "ghost-id"}]}))
    call("PATCH", group_url, 204, ("members_changed", "Sales", {"members_added": 1}),
         json=ops({"op": "Add", "path": "members", "value": [{"value": adele["id"]}]}))
    call("PATCH", group_url, 204, ("members_changed", "Sales", {"members_removed": 1}),
         json=ops({"op": "remove", "path": f'members[value eq "{adele["id"]}"]'}))
    # A duplicate, a delete, a read of what is gone.
    call("POST", f"{scim}/Users", 409, ("rejected", "ADELE.VANCE@contoso.com", None),
         json={"userName": "ADELE.VANCE@contoso.com"})
    call("DELETE", user_url, 204, ("deleted", "adele.vance@contoso.com", None))
    call("GET", user_url, 404, ("rejected", "adele.vance@contoso.com", None))
    # Entra still holding a rotated token: counted (not entries) and mailed; a stranger's
    # garbage token is counted and not mailed.
    server.cli("token", "issue")
    replaced = []
    for _ in range(3):
        resp = http.get(f"{scim}/Users")
        assert resp.status_code == 401
        replaced.append(resp.headers["X-Request-Id"])
    assert http.get(f"{scim}/Users", headers={"Authorization": "Bearer scimapp_x.y"}
                    ).status_code == 401

    def logged():
        entries = json.loads(server.cli("log", "--json", "--limit", "100"))
        return entries if len(entries) >= len(seen) else None

    entries = wait_for(logged)
    assert entries, "the provisioning log did not catch up"
    by_id = {e["request_id"]: e for e in entries}
    assert len(by_id) == len(seen)
    for request_id, (action, name, changes) in seen:
        entry = by_id[request_id]
        assert (entry["action"], entry["resource_name"]) == (action, name), entry
        if changes is not None:
            assert entry["changes"] == changes, entry
        assert entry["client"] == "127.0.0.1" and entry["duration_ms"] > 0
    assert [e["request_id"] for e in entries] == [rid for rid, _ in reversed(seen)]
    unknown = by_id[seen[10][0]]
    assert unknown["failure_kind"] == "unknown_member" and "'ghost-id'" in unknown["detail"]
    assert "Init!al-Pa55" not in json.dumps(entries) and server.token not in json.dumps(entries)

    failures = {e["request_id"]: e for e in entries if e["status"] >= 400}
    assert len(failures) == 3
    counted = json.loads(server.cli("log", "--unauthenticated", "--json"))
    assert sorted((c["reason"], c["requests"]) for c in counted) == [
        ("invalid_token", 1), ("replaced_token", 3)]
    mailed_ids = [*failures, *replaced]

    def mailed():
        bodies = [text_of(m) for m in sink.received()]
        found = [rid for rid in mailed_ids for b in bodies if f"request id {rid}" in b]
        return bodies if len(found) >= len(mailed_ids) else None

    bodies = wait_for(mailed)
    assert bodies, "the failures were not mailed"
    for request_id in mailed_ids:
        assert sum(b.count(f"request id {request_id}") for b in bodies) == 1
    everything = " ".join(bodies)
    for phrase in ("Replaced Secret Token: Entra holds an old one (401): 3",
                   "Group members the appliance does not know (400): 1",
                   "Duplicate userName or group displayName (409 uniqueness): 1",
                   "Objects Entra expects are gone from the appliance (404): 1",
                   f"{server.base}/scim"):
        assert phrase in everything
    assert all(e["email"] == "mailed" for e in json.loads(
        server.cli("log", "--failures", "--json")))
