"""The provisioning log: what each SCIM request did, its request id, nothing secret."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.log import store as log_store
from scim_appliance.domain.log.entries import RequestFacts, describe, summarize_patch
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuthFailureCount, ProvisioningLogEntry
from tests.conftest import ScimClient, load_fixture, make_user

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def entries(app) -> list[ProvisioningLogEntry]:
    """Every entry, oldest first (TESTING stores each before the request returns)."""
    with app.app_context():
        rows = list(db.session.execute(
            select(ProvisioningLogEntry).order_by(ProvisioningLogEntry.id)).scalars())
        db.session.expunge_all()
        return rows


@pytest.fixture
def notify_app(app):
    """The conftest app with failure email configured (nothing is sent in these tests)."""
    app.config.update(SMTP_HOST="127.0.0.1", NOTIFY_TO="admin@contoso.com")
    return app


# -- what a PATCH changes ----------------------------------------------------------------
@pytest.mark.parametrize("fixture,expected", [
    ("entra-legacy-disable-user.json", {"active": False}),
    ("entra-legacy-enable-user.json", {"active": True}),
    ("entra-lowercase-string-disable-user.json", {"active": False}),
    ("entra-aadOptscim062020-no-path.json",
     {"attributes": ['emails[type eq "work"].value', "displayName", "name.givenName",
                     "name.familyName", "enterprise:employeeNumber"]}),
    ("entra-group-add-members.json", {"members_added": 2}),
    ("entra-legacy-group-remove-members.json", {"members_removed": 1}),
    ("entra-aadOptscim062020-group-remove-member.json", {"members_removed": 1}),
    ("rfc7644-3.5.2.2-remove-all-then-add.json",
     {"members_added": 2, "members_removed_all": True}),
    ("rfc7644-3.5.2.3-replace-members.json", {"members_replaced": 2}),
])
def test_patch_summaries_keep_paths_and_counts_never_values(fixture, expected):
    summary = summarize_patch(load_fixture(fixture))
    assert summary == expected
    body = json.dumps(load_fixture(fixture))
    for value in ("bjfe@contoso.com", "Kkom", "Aklq", "f648f8d5ea4e4cd38e9c"):
        if value in body:
            assert value not in json.dumps(summary)


def _facts(method, path, status, request=None, response=None, **kw):
    return RequestFacts(request_id="r1", at=utcnow(), client="127.0.0.1", method=method,
                        path=path, filter=kw.pop("filter", None), status=status,
                        duration_us=10, authenticated=kw.pop("authenticated", True),
                        request_body=json.dumps(request).encode() if request else None,
                        response_body=json.dumps(response).encode() if response else None)


def test_describe_names_the_route_and_outcome():
    entry = describe(_facts("PATCH", "/scim/v2/Users/u1", 200,
                            load_fixture("entra-legacy-disable-user.json"),
                            {"id": "u1", "userName": "adele@contoso.com"}))
    assert (entry.resource_type, entry.resource_id, entry.resource_name, entry.action) == \
        ("User", "u1", "adele@contoso.com", "disabled")
    query = describe(_facts("GET", "/scim/Groups", 200, filter='displayName eq "Sales"',
                            response={"totalResults": 1, "Resources": [{"id": "g1"}]}))
    assert (query.action, query.resource_name, query.resource_id, query.changes) == \
        ("matched", "Sales", "g1", {"filter": 'displayName eq "Sales"', "results": 1})
    failed = describe(_facts("POST", "/scim/Users", 409, {"userName": "x@contoso.com"},
                             {"status": "409", "scimType": "uniqueness", "detail": "taken"}))
    assert (failed.action, failed.resource_name, failed.scim_type, failed.failure_kind) == \
        ("rejected", "x@contoso.com", "uniqueness", "duplicate")
    assert describe(_facts("GET", "/scim/ServiceProviderConfig", 200)).operation == "discovery"


def test_a_long_list_is_read_for_its_total_only():
    head = b'{"schemas":["x"],"totalResults":12345,"Resources":[{"id":"a"'
    facts = RequestFacts("r", utcnow(), None, "GET", "/scim/Users", None, 200, 1, True,
                         None, head)
    assert describe(facts).changes == {"results": 12345}


# -- over HTTP -------------------------------------------------------------------------
def test_every_scim_response_carries_its_request_id_and_is_logged_or_counted(app, scim):
    """What passed the token check is an entry; routing 404/405 and 401s are counted
    (log/auth_failures.py), each with its request id among the examples."""
    responses = [
        scim.get("/scim/Users"),                                     # 200
        scim.post("/scim/Users", {"userName": "a@contoso.com"}),     # 201
        scim.get("/scim/Users/unknown"),                             # 404 from the route
        scim.post("/scim/Users", raw=b'{"userName": "' + b"x" * 5_000_000 + b'"}'),  # 413
        scim.get("/scim/NoSuchThing"),                               # 404 from routing
        scim.request("POST", "/scim/ServiceProviderConfig"),         # 405 from routing
        ScimClient(app.test_client(), "wrong").get("/scim/Users"),   # 401
    ]
    assert [r.status_code for r in responses] == [200, 201, 404, 413, 404, 405, 401]
    ids = [r.headers["X-Request-Id"] for r in responses]
    assert len(set(ids)) == len(ids)
    logged = entries(app)
    assert [e.request_id for e in logged] == ids[:4]
    assert [e.status for e in logged] == [200, 201, 404, 413]
    assert logged[2].detail == "no User with id 'unknown'"
    assert all(e.client == "127.0.0.1" and e.duration_us > 0 for e in logged)
    with app.app_context():
        counted = db.session.execute(select(AuthFailureCount)).scalars().all()
    assert sorted((c.reason, c.requests) for c in counted) == [
        ("invalid_token", 1), ("unknown_url", 2)]
    assert sorted(e["request_id"] for c in counted for e in c.examples) == sorted(ids[4:])
    assert app.test_client().get("/healthz").headers.get("X-Request-Id") is None


def test_sync_disabled_is_logged_with_a_request_id(app, scim):
    from scim_appliance.domain.access import appliance

    with app.app_context():
        appliance.set_sync(db.session, False)
        db.session.commit()
    resp = scim.get("/scim/Users")
    assert resp.status_code == 403
    (entry,) = entries(app)
    assert (entry.request_id, entry.failure_kind) == (resp.headers["X-Request-Id"],
                                                      "sync_disabled")


def test_a_proxy_request_id_is_kept_and_garbage_is_replaced(app, scim):
    kept = scim.get("/scim/Users", headers={"X-Request-Id": "nginx-4f2a9c81e7"})
    assert kept.headers["X-Request-Id"] == "nginx-4f2a9c81e7"
    replaced = scim.get("/scim/Users", headers={"X-Request-Id": "<script>"})
    assert replaced.headers["X-Request-Id"] != "<script>"
    assert len(replaced.headers["X-Request-Id"]) == 32


def test_the_log_never_holds_the_token_or_a_password(app, scim):
    user = make_user(scim, "adele@contoso.com", password="Pa55word!Secret")
    scim.patch(f"/scim/Users/{user['id']}",
               ops({"op": "replace", "path": "password", "value": "N3w!Secret"}))
    scim.put(f"/scim/Users/{user['id']}", {"userName": "adele@contoso.com",
                                             "password": "Put!Secret"})
    with app.app_context():
        dump = "\n".join(str(tuple(row)) for row in db.session.execute(
            text("SELECT * FROM provisioning_log")))
    assert scim.token not in dump
    for secret in ("Pa55word!Secret", "N3w!Secret", "Put!Secret"):
        assert secret not in dump
    updated = entries(app)[1]
    assert updated.changes == {"attributes": ["password"]}


def test_a_deleted_user_keeps_its_name_in_the_log(app, scim):
    user = make_user(scim, "leaver@contoso.com")
    assert scim.delete(f"/scim/Users/{user['id']}").status_code == 204
    deleted = entries(app)[-1]
    assert (deleted.action, deleted.resource_name) == ("deleted", "leaver@contoso.com")


def test_group_patch_is_logged_with_member_counts_and_its_name(app, scim):
    users = [make_user(scim, f"u{i}@contoso.com")["id"] for i in range(3)]
    group = scim.post("/scim/Groups", {"displayName": "Sales"}).get_json()
    url = f"/scim/Groups/{group['id']}"
    assert scim.patch(url, ops({"op": "Add", "path": "members",
                                "value": [{"value": u} for u in users]})).status_code == 204
    assert scim.patch(url, ops({"op": "remove",
                                "path": f'members[value eq "{users[0]}"]'})).status_code == 204
    added, removed = entries(app)[-2:]
    assert (added.action, added.resource_name, added.changes) == \
        ("members_changed", "Sales", {"members_added": 3})
    assert removed.changes == {"members_removed": 1}


def test_a_failure_to_log_is_reported_and_the_request_goes_on(app, scim, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(log_store, "record_entries", broken)
    with caplog.at_level(logging.ERROR):
        resp = scim.post("/scim/Users", {"userName": "still@contoso.com"})
    assert resp.status_code == 201 and resp.headers["X-Request-Id"]
    assert "could not write 1 provisioning log entry" in caplog.text
    assert "disk on fire" in caplog.text


# -- which failures wait for an email --------------------------------------------------
def test_failures_are_pending_only_when_email_is_configured(app, scim):
    make_user(scim, "dup@contoso.com")
    scim.post("/scim/Users", {"userName": "dup@contoso.com"})
    app.config.update(SMTP_HOST="127.0.0.1", NOTIFY_TO="admin@contoso.com")
    app.extensions.pop("scim_provisioning_log")  # the writer reads the setting once
    scim.post("/scim/Users", {"userName": "dup@contoso.com"})
    assert [e.notify_pending for e in entries(app)] == [False, False, True]


def test_retention_prunes_old_entries_but_keeps_failures_not_yet_mailed(notify_app, scim):
    make_user(scim, "old@contoso.com")
    scim.post("/scim/Users", {"userName": "old@contoso.com"})  # 409, pending
    with notify_app.app_context():
        later = utcnow() + timedelta(days=31)
        removed = log_store.prune(db.session, later, 30)
        db.session.commit()
    assert (removed.old, removed.beyond_bound) == (1, 0)
    assert [(e.status, e.notify_pending) for e in entries(notify_app)] == [(409, True)]


def test_the_writer_thread_stores_entries_in_the_background(app, tmp_path):
    """Outside TESTING the request does not wait; `flush` is how a caller waits."""
    from scim_appliance.server.log_writer import LogWriter

    with app.app_context():
        writer = LogWriter(db.engine, notify=False, retention_days=30, idle_seconds=0.1)
    for i in range(50):
        writer.submit(_facts("GET", "/scim/Users", 200, response={"totalResults": i}))
    assert writer.flush(timeout=10)
    assert len(entries(app)) == 50
    assert [e.changes["results"] for e in entries(app)] == list(range(50))
