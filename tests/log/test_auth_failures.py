"""Requests refused before the token check are counted, never logged as sent (issue 13).

Anyone can reach the Tenant URL: what they send must not reach the log's entries, the
administrator's terminal or mailbox, nor grow the database beyond a small bound.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from scim_appliance.domain.access import appliance
from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.log import auth_failures
from scim_appliance.domain.log import store as log_store
from scim_appliance.domain.log.entries import Entry, RequestFacts
from scim_appliance.server.log_writer import LogWriter
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuthFailureCount, ProvisioningLogEntry
from tests.conftest import ScimClient, make_user
from tests.hostile_text import FAKE_LINE, HOSTILE, assert_shown_safely

# A filter a stranger sends with a bad token: quoting is fine, the text is not.
HOSTILE_FILTER = 'userName eq "' + HOSTILE.replace("\x00", "") + '"'


def counts(app) -> list[AuthFailureCount]:
    with app.app_context():
        rows = list(db.session.execute(select(AuthFailureCount).order_by(
            AuthFailureCount.id)).scalars())
        db.session.expunge_all()
        return rows


def entries(app) -> list[ProvisioningLogEntry]:
    with app.app_context():
        rows = list(db.session.execute(select(ProvisioningLogEntry)).scalars())
        db.session.expunge_all()
        return rows


def database_dump(app) -> str:
    with app.app_context():
        return "\n".join(str(tuple(row)) for table in ("provisioning_log", "auth_failures")
                         for row in db.session.execute(text(f"SELECT * FROM {table}")))


@pytest.fixture
def replaced_token(app, token):
    """A token this appliance signed, replaced by `token issue`: what Entra holds after
    a rotation nobody pasted into it."""
    with app.app_context():
        appliance.issue_token(db.session, app.config["SECRET_KEY"])
        db.session.commit()
    return token


def test_bad_token_requests_name_no_one_and_keep_none_of_their_text(app, scim):
    adele = make_user(scim, "adele@contoso.com")
    stranger = ScimClient(app.test_client(), "scimapp_forged.token")
    for _ in range(5):
        resp = stranger.get("/scim/Users", query_string={"filter": HOSTILE_FILTER})
        assert resp.status_code == 401 and resp.headers["X-Request-Id"]
    stranger.get(f"/scim/Users/{adele['id']}")
    stranger.patch(f"/scim/Users/{adele['id']}", {"Operations": [
        {"op": "replace", "path": "userName", "value": HOSTILE}]})
    stranger.get("/scim/Users", query_string={"filter": 'userName eq "adele@contoso.com"'})
    assert [e.action for e in entries(app)] == ["created"]  # adele's creation only
    (row,) = counts(app)
    assert (row.reason, row.client, row.requests) == ("invalid_token", "127.0.0.1", 8)
    assert [e["path"] for e in row.examples] == ["/scim/Users"] * 3
    dump = database_dump(app)
    assert "FAKE-LINE" not in dump and "mallory" not in dump and "\x1b" not in dump
    # --user adele shows what happened to adele, not what a stranger claimed
    by_user = app.test_cli_runner().invoke(args=["log", "--user", "adele@contoso.com",
                                                 "--json"])
    assert [e["action"] for e in json.loads(by_user.stdout)] == ["created"]


def test_an_id_in_a_refused_path_is_not_kept(app, scim):
    adele = make_user(scim, "adele@contoso.com")
    ScimClient(app.test_client(), None).delete(f"/scim/v2/Users/{adele['id']}")
    (row,) = counts(app)
    assert row.reason == "no_token"
    assert row.examples[0]["path"] == "/scim/v2/Users/{id}"
    assert adele["id"] not in database_dump(app).replace(str(entries(app)[0].resource_id),
                                                         "")


def test_each_reason_is_told_apart_and_only_the_signature_decides(app, replaced_token):
    anonymous = app.test_client()
    assert anonymous.get("/scim/Users").status_code == 401
    assert anonymous.get("/scim/Users", headers={"Authorization": "Basic eDp5"}
                         ).status_code == 401
    assert ScimClient(anonymous, "garbage").get("/scim/Users").status_code == 401
    assert ScimClient(anonymous, replaced_token).get("/scim/Groups").status_code == 401
    assert anonymous.get("/scim/wp-login.php").status_code == 404
    assert anonymous.delete("/scim/Users").status_code == 405
    reasons = {(r.reason, r.requests) for r in counts(app)}
    assert reasons == {("no_token", 2), ("invalid_token", 1), ("replaced_token", 1),
                       ("unknown_url", 2)}
    assert entries(app) == []


def _facts(client: str, at, path="/scim/Users", refusal=auth_failures.INVALID_TOKEN,
           request_id="r"):
    return RequestFacts(request_id=request_id, at=at, client=client, method="GET",
                        path=path, filter=None, status=401, duration_us=1,
                        authenticated=False, refusal=refusal)


def test_counts_add_up_across_batches_and_keep_the_first_examples(app):
    minute = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        for batch in range(3):
            with db.session.begin():
                created = auth_failures.count_refusals(db.session, [
                    _facts("203.0.113.9", minute + timedelta(seconds=batch * 10 + i),
                           request_id=f"b{batch}-{i}") for i in range(2)])
            assert created == (1 if batch == 0 else 0)
    (row,) = counts(app)
    assert row.requests == 6
    assert [e["request_id"] for e in row.examples] == ["b0-0", "b0-1", "b1-0"]
    assert row.first_at == minute and row.last_at == minute + timedelta(seconds=21)


def test_many_addresses_share_one_row_beyond_the_first_few(app):
    """An attacker with a block of addresses cannot make a row per request."""
    minute = utcnow().replace(second=0, microsecond=0)
    with app.app_context():
        for start in (0, 30):
            with db.session.begin():
                auth_failures.count_refusals(db.session, [
                    _facts(f"2001:db8::{n:x}", minute) for n in range(start, start + 30)])
    rows = counts(app)
    assert len(rows) == auth_failures.CLIENTS_PER_MINUTE + 1
    assert sum(r.requests for r in rows) == 60
    others = [r for r in rows if r.client == auth_failures.OTHERS]
    assert others and others[0].requests == 60 - auth_failures.CLIENTS_PER_MINUTE


def test_a_row_stays_small_whatever_was_sent(app):
    at = utcnow()
    long_path = "/scim/" + "A" * 100_000
    with app.app_context():
        with db.session.begin():
            auth_failures.count_refusals(db.session, [
                _facts("x" * 500, at, path=long_path, refusal=auth_failures.UNKNOWN_URL)
                for _ in range(10)])
    (row,) = counts(app)
    assert len(row.client) <= 64
    assert len(json.dumps(row.examples)) < 1000


def test_the_counts_table_has_a_hard_bound(app):
    start = utcnow().replace(second=0, microsecond=0) - timedelta(hours=10)
    with app.app_context():
        with db.session.begin():
            auth_failures.count_refusals(db.session, [
                _facts("198.51.100.1", start + timedelta(minutes=m)) for m in range(300)])
        with db.session.begin():
            removed = auth_failures.prune_counts(db.session, utcnow(), 30, max_rows=100)
    assert removed == 200
    rows = counts(app)
    assert len(rows) == 100
    assert min(r.minute for r in rows) == start + timedelta(minutes=200)  # the newest kept


def _entry(i: int, at) -> Entry:
    return Entry(request_id=f"r{i}", at=at, client="127.0.0.1", method="POST",
                 path="/scim/Users", resource_type="User", resource_id=None,
                 resource_name=f"u{i}@contoso.com", operation="create", action="rejected",
                 status=409, duration_us=1, authenticated=True, scim_type="uniqueness",
                 detail="taken", failure_kind="duplicate")


def test_log_max_rows_is_enforced_even_over_failures_waiting_for_email(app):
    now = utcnow()
    with app.app_context():
        with db.session.begin():
            log_store.record_entries(db.session, [_entry(i, now) for i in range(120)],
                                     notify=True)
        with db.session.begin():
            done = log_store.prune(db.session, now, 30, 100)
        kept = db.session.execute(select(ProvisioningLogEntry.request_id)
                                  .order_by(ProvisioningLogEntry.id)).scalars().all()
    assert (done.beyond_bound, done.unmailed) == (20, 20)
    assert kept == [f"r{i}" for i in range(20, 120)]


def test_the_writer_prunes_to_the_bound_without_waiting_an_hour(app):
    with app.app_context():
        writer = LogWriter(db.engine, notify=True, retention_days=30, max_rows=100,
                           idle_seconds=0.1)
    now = utcnow()
    for i in range(2500):
        writer.submit(RequestFacts(
            request_id=f"r{i}", at=now, client="127.0.0.1", method="POST",
            path="/scim/Users", filter=None, status=409, duration_us=1, authenticated=True,
            response_body=b'{"status": "409", "scimType": "uniqueness", "detail": "x"}'))
    assert writer.flush(timeout=60)
    with app.app_context():
        stored = db.session.execute(select(func.count()).select_from(
            ProvisioningLogEntry)).scalar_one()
    assert stored <= 100 + writer.prune_after
    assert stored < 2500 - writer.prune_after  # pruned more than once, not hourly


def test_refused_requests_are_shown_safely_and_summed_up(app, replaced_token):
    stranger = app.test_client()
    assert stranger.get("/scim/%1b[2J%1b]0;pwned%07" + "%0a" + FAKE_LINE).status_code == 404
    ScimClient(stranger, replaced_token).get("/scim/Users")
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["log", "--unauthenticated"]).stdout
    assert_shown_safely(listed)
    assert len(listed.splitlines()) == 2
    assert "replaced_token" in listed and "unknown_url" in listed
    as_json = json.loads(runner.invoke(args=["log", "--unauthenticated", "--json"]).stdout)
    assert sorted(r["reason"] for r in as_json) == ["replaced_token", "unknown_url"]
    summary = runner.invoke(args=["log"]).stdout.splitlines()
    assert summary[0] == "No matching entries."
    assert summary[1].startswith("+ 2 requests refused before the token check in the last "
                                 "24 h, from 1 address")
    status = runner.invoke(args=["notify", "status"]).stdout
    assert "refused before the token check (last 24 h): 2 requests from 1 address, 1 " \
           "with a replaced Secret Token" in status
    refused = runner.invoke(args=["log", "--unauthenticated", "--user", "x"])
    assert refused.exit_code == 1 and "about no user or group" in refused.stderr


def test_describe_names_no_one_for_a_request_that_failed_the_token_check():
    """Even handed such facts directly, the description keeps the sender's words out."""
    from scim_appliance.domain.log.entries import describe

    entry = describe(RequestFacts(
        request_id="r", at=utcnow(), client="127.0.0.1", method="POST", path="/scim/Users",
        filter='userName eq "adele@contoso.com"', status=401, duration_us=1,
        authenticated=False, request_body=b'{"userName": "adele@contoso.com"}',
        response_body=b'{"id": "u1", "userName": "adele@contoso.com"}'))
    assert (entry.resource_type, entry.resource_id, entry.resource_name, entry.changes) == \
        (None, None, None, None)
