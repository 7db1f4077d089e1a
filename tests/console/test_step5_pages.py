"""Notifications (a real SMTP server), Name adjustments (the dry run upload) and the
Migration page (apply and revert run inline), through the Flask test client."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from scim_appliance.console.pages import migration as migration_page
from scim_appliance.domain.admins import audit
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuditEntry, ConsoleJob, User
from tests.conftest import make_user
from tests.notify.test_notifications import smtp_config
from tests.smtp_sink import SmtpSink


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


def actions(app):
    with app.app_context():
        return [(r.action, r.detail) for r in db.session.scalars(
            select(AuditEntry).order_by(AuditEntry.id))]


def test_notifications_off_says_how_to_turn_it_on(console):
    page = console.get("/notifications").get_data(as_text=True)
    assert "set SMTP_HOST and NOTIFY_TO" in page
    assert '<button type="button" class="secondary" disabled>Send test email</button>' in page


def test_send_test_email_and_pending_now_with_a_real_smtp_server(app, console, scim, sink):
    app.config.update(smtp_config(sink.port, SMTP_PASSWORD="hunter2-secret"))
    page = console.get("/notifications").get_data(as_text=True)
    assert "hunter2-secret" not in page and "127.0.0.1" in page
    resp = console.post_form("/notifications", "/notifications/test", follow_redirects=True)
    assert "Sent a test email to" in resp.get_data(as_text=True)
    assert sink.received()[-1]["Subject"] == "[scim-appliance] test email"
    scim.post("/scim/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]})
    assert "<td>1</td>" in console.get("/notifications").get_data(as_text=True)
    resp = console.post_form("/notifications", "/notifications/send-now",
                             follow_redirects=True)
    assert "Sent a digest of 1 failure." in resp.get_data(as_text=True)
    assert [a for a, _ in actions(app)][-2:] == [audit.TEST_EMAIL, audit.DIGEST_SENT]


def test_a_mail_server_that_is_down_is_reported_not_a_500(app, console):
    app.config.update(smtp_config(1, SMTP_TIMEOUT=2))  # nothing listens on port 1
    resp = console.post_form("/notifications", "/notifications/test", follow_redirects=True)
    assert resp.status_code == 200
    assert "The test email was not sent" in resp.get_data(as_text=True)


def _upload(console, content: bytes, filename="names.csv", field="userName"):
    return console.post_form("/names", "/names/dry-run",
                             {"field": field, "file": (io.BytesIO(content), filename)},
                             content_type="multipart/form-data")


def test_the_names_dry_run_shows_what_each_name_becomes_with_collisions(console):
    resp = _upload(console, "userName\nRenée O'Brien\nrenee obrien\nok.name\nok.name\n"
                   .encode())
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "adjusted" in page and "duplicate" in page and "unchanged" in page
    json_page = _upload(console, b'["a b", "a_b"]', "names.json").get_data(as_text=True)
    assert "collision" in json_page or "adjusted" in json_page


@pytest.mark.parametrize("content, filename, message", [
    (b"\xff\xfe\x00bad", "names.csv", "could not be read"),
    (b"[1, 2", "names.json", "could not be read"),
    (b"", "", "Choose a CSV or JSON file"),
])
def test_a_bad_upload_gets_the_page_back_with_a_message(console, content, filename, message):
    resp = _upload(console, content, filename)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)


def test_the_names_listing_shows_adjusted_names(console, scim):
    make_user(scim, "Renée O'Brien")
    page = console.get("/names").get_data(as_text=True)
    assert "Renée O&#39;Brien" in page and "Adjusted names" in page


@pytest.fixture
def inline_jobs(monkeypatch):
    monkeypatch.setattr(migration_page, "launch", lambda work: work())


def _legacy(scim):
    make_user(scim, "CONTOSO\\jdoe", emails=[{"value": "jdoe@contoso.com", "type": "work"}])
    make_user(scim, "nomail")
    make_user(scim, "done@contoso.com")


def test_the_dry_run_shows_counts_problems_examples_and_a_csv(console, scim):
    _legacy(scim)
    page = console.get("/migration?dry_run=1").get_data(as_text=True)
    assert "To convert" in page and "CONTOSO\\jdoe" in page and "jdoe@contoso.com" in page
    assert "nomail" in page  # unresolved, listed as a problem
    csv = console.get("/migration/plan.csv")
    assert csv.mimetype == "text/csv" and "jdoe@contoso.com" in csv.get_data(as_text=True)
    bad = console.get("/migration?dry_run=1&domain=not a domain")
    assert bad.status_code == 400 and "is not a domain name" in bad.get_data(as_text=True)
    bad = console.get("/migration?dry_run=1&rename=nonsense")
    assert bad.status_code == 400 and "use old=new" in bad.get_data(as_text=True)


def _backup_form(app) -> dict:
    """On SQLite the appliance backs up first; on PostgreSQL the administrator confirms a
    pg_dump (the form's checkbox)."""
    with app.app_context():
        return {} if db.engine.dialect.name == "sqlite" else {"no_backup": "1"}


def test_apply_then_revert_from_the_page(app, console, scim, inline_jobs):
    _legacy(scim)
    sqlite = not _backup_form(app)
    confirm = console.get("/migration/apply").get_data(as_text=True)
    assert "1 users will be renamed" in confirm
    assert ("backed up first" if sqlite else "I have backed up the database") in confirm
    resp = console.post_form("/migration/apply", "/migration/apply", _backup_form(app),
                             follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "finished" in page and "converted 1" in page and "Undo file" in page
    with app.app_context():
        names = set(db.session.scalars(select(User.user_name)))
        job = db.session.scalars(select(ConsoleJob)).one()
        assert bool(job.result["backup"]) is sqlite
    assert "jdoe@contoso.com" in names and "CONTOSO\\jdoe" not in names
    assert "jdoe@contoso.com" in console.get("/migration/undo.csv").get_data(as_text=True)
    resp = console.post_form("/migration/revert", "/migration/revert", _backup_form(app),
                             follow_redirects=True)
    assert "restored 1" in resp.get_data(as_text=True)
    with app.app_context():
        assert "CONTOSO\\jdoe" in set(db.session.scalars(select(User.user_name)))
    done = [a for a, _ in actions(app)]
    assert audit.MIGRATION_APPLIED in done and audit.MIGRATION_REVERTED in done


def test_a_second_job_is_refused_while_one_runs(app, console, scim, monkeypatch):
    monkeypatch.setattr(migration_page, "launch", lambda work: None)  # never finishes
    _legacy(scim)
    console.post_form("/migration/apply", "/migration/apply", _backup_form(app))
    again = console.post_form("/migration/apply", "/migration/apply", _backup_form(app),
                              follow_redirects=True)
    assert "is still running" in again.get_data(as_text=True)
    running = console.get("/migration/jobs/1").get_data(as_text=True)
    assert 'http-equiv="refresh"' in running


def test_revert_without_an_undo_file_is_refused_with_a_message(console):
    resp = console.post_form("/migration/revert", "/migration/revert", {})
    assert resp.status_code == 400 and "There is no undo file" in resp.get_data(as_text=True)
    assert console.get("/migration/undo.csv").status_code == 404
    assert console.get("/migration/jobs/99").status_code == 404


def test_on_postgresql_apply_waits_for_the_administrators_backup(app, console, scim):
    if not _backup_form(app):
        pytest.skip("SQLite: the appliance backs the file up itself (the SQLite run)")
    _legacy(scim)
    resp = console.post_form("/migration/apply", "/migration/apply", {})
    assert resp.status_code == 400
    assert "I have backed up the database" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(ConsoleJob)).first() is None
