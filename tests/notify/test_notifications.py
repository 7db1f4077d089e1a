"""Failure email end to end: real SCIM failures, a real SMTP server (aiosmtpd), exactly once.

The worker is driven with `Notifier.run_once(now)` and explicit times, never sleeps:
"five minutes later" is `now + window`.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scim_appliance import create_app
from scim_appliance.domain.access import tokens
from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.notify.mailer import (
    MailNotSent,
    SmtpSettings,
    new_message,
    send_message,
)
from scim_appliance.domain.notify.notifier import Notifier
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import NotificationDigest, ProvisioningLogEntry
from tests.appliance_server import free_port
from tests.conftest import ScimClient, make_user
from tests.smtp_sink import SmtpSink, body_of, make_certificate, text_of

WINDOW = 300
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"


def smtp_config(port: int, **extra) -> dict:
    return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": port, "SMTP_SECURITY": "none",
            "SMTP_TIMEOUT": 5, "NOTIFY_FROM": "scim@contoso.com",
            "NOTIFY_TO": "admin@contoso.com, ops@contoso.com",
            "NOTIFY_DIGEST_SECONDS": WINDOW, **extra}


def notifier_for(app) -> Notifier:
    with app.app_context():
        engine = db.engine
    return Notifier(engine, SmtpSettings.from_config(app.config), window_seconds=WINDOW,
                    instance="https://scim.contoso.com/scim")


def fail_a_cycle(app, scim) -> None:
    """One of each failure Entra can meet, plus a token Entra keeps sending after rotation."""
    make_user(scim, "adele.vance@contoso.com")
    assert scim.post("/scim/Users", {"userName": "ADELE.VANCE@contoso.com"}).status_code == 409
    assert scim.post("/scim/Users", {"userName": "adele.vance@contoso.com"}).status_code == 409
    assert scim.post("/scim/Users", {"schemas": [SCHEMA], "displayName": "No Name"}
                     ).status_code == 400
    assert scim.post("/scim/Users", {"userName": "bad@contoso.com", "active": "maybe"}
                     ).status_code == 400
    group = scim.post("/scim/Groups", {"displayName": "Sales"}).get_json()
    assert scim.patch(f"/scim/Groups/{group['id']}", {"Operations": [
        {"op": "Add", "path": "members", "value": [{"value": "not-provisioned-yet"}]}]}
    ).status_code == 400
    # Signed by this appliance, not the active token: what Entra holds after a rotation.
    stale = ScimClient(app.test_client(), tokens.new_token(app.config["SECRET_KEY"]))
    for _ in range(3):
        assert stale.get("/scim/Users").status_code == 401


def pending(app) -> list[ProvisioningLogEntry]:
    with app.app_context():
        rows = list(db.session.execute(select(ProvisioningLogEntry).where(
            ProvisioningLogEntry.notify_pending.is_(True))).scalars())
        db.session.expunge_all()
        return rows


def digests(app) -> list[NotificationDigest]:
    with app.app_context():
        rows = list(db.session.execute(
            select(NotificationDigest).order_by(NotificationDigest.id)).scalars())
        db.session.expunge_all()
        return rows


def test_failures_become_one_digest_with_counts_examples_and_remedies(mail_app, scim, sink):
    fail_a_cycle(mail_app, scim)
    notifier = notifier_for(mail_app)
    now = utcnow()
    assert notifier.run_once(now).status == "waiting"  # collecting the window's failures
    assert sink.received() == []

    outcome = notifier.run_once(now + timedelta(seconds=WINDOW))
    assert (outcome.status, outcome.failures) == ("sent", 8)
    (message,) = sink.received()
    assert sink.messages[0][0] == ["admin@contoso.com", "ops@contoso.com"]
    assert message["Subject"] == ("[scim-appliance] 8 provisioning failures (3 token, "
                                  "2 duplicate, 1 invalid value, 1 missing required, "
                                  "1 unknown member)")
    assert message["From"] == "scim@contoso.com"
    assert message["Auto-Submitted"] == "auto-generated"
    body = text_of(message)
    assert "The SCIM appliance at https://scim.contoso.com/scim refused 8" in body
    assert "== Duplicate userName or group displayName (409 uniqueness): 2 ==" in body
    assert "User ADELE.VANCE@contoso.com" in body
    assert "409 uniqueness: userName 'ADELE.VANCE@contoso.com' is already taken" in body
    assert "== Replaced Secret Token: Entra holds an old one (401): 3 ==" in body
    assert "GET /scim/Users from 127.0.0.1 401: a Secret Token this appliance issued" in body
    assert "'scim-appliance token issue'" in body and "Admin Credentials" in body
    assert "Group Sales" in body and "not-provisioned-yet" in body
    assert "Assign those users" in body
    assert "'userName' is required" in body and "Coalesce(" in body
    assert "'active'" in body and "Provisioning > Mappings" in body
    assert "scim-appliance log --failures --since" in body
    with mail_app.app_context():
        request_ids = db.session.execute(select(ProvisioningLogEntry.request_id).where(
            ProvisioningLogEntry.status == 409)).scalars().all()
    assert all(f"request id {rid}" in body for rid in request_ids)

    assert pending(mail_app) == []
    assert [(d.state, d.failures) for d in digests(mail_app)] == [("sent", 8)]
    assert notifier.run_once(now + timedelta(seconds=2 * WINDOW)).status == "nothing"
    assert len(sink.received()) == 1


def test_at_most_one_digest_per_window(mail_app, scim, sink):
    notifier = notifier_for(mail_app)
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    first = utcnow() + timedelta(seconds=WINDOW)
    assert notifier.run_once(first).status == "sent"
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    # The new failure is old enough, but a digest went out less than a window ago.
    assert notifier.run_once(first + timedelta(seconds=WINDOW - 1)).status == "waiting"
    assert notifier.run_once(first + timedelta(seconds=WINDOW)).status == "sent"
    assert [m["Subject"] for m in sink.received()] == [
        "[scim-appliance] 1 provisioning failure (1 duplicate)"] * 2


def test_smtp_down_then_up_delivers_everything_exactly_once(app, scim):
    port = free_port()
    app.config.update(smtp_config(port))
    fail_a_cycle(app, scim)
    notifier = notifier_for(app)
    t = utcnow() + timedelta(seconds=WINDOW)

    down = notifier.run_once(t)
    assert down.status == "failed"
    assert down.message == f"cannot connect to 127.0.0.1:{port} (none): connection refused"
    assert len(pending(app)) == 5  # and the 3 requests with a replaced token, counted
    assert notifier.run_once(t + timedelta(seconds=29)).status == "backoff"
    assert notifier.run_once(t + timedelta(seconds=30)).status == "failed"
    assert notifier.run_once(t + timedelta(seconds=89)).status == "backoff"  # 30 s, then 60 s

    sink = SmtpSink(port).start()
    try:
        assert notifier.run_once(t + timedelta(seconds=90)).status == "sent"
        assert notifier.run_once(t + timedelta(hours=1)).status == "nothing"
        (message,) = sink.received()
        assert message["Subject"].startswith("[scim-appliance] 8 provisioning failures")
    finally:
        sink.stop()
    assert pending(app) == []


def test_a_restart_in_between_loses_nothing(app, scim, tmp_path):
    port = free_port()
    app.config.update(smtp_config(port))
    fail_a_cycle(app, scim)
    t = utcnow() + timedelta(seconds=WINDOW)
    assert notifier_for(app).run_once(t).status == "failed"

    # A new process: a new app and worker on the same database file, SMTP back up.
    restarted = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key",
                            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            **smtp_config(port)})
    sink = SmtpSink(port).start()
    try:
        assert notifier_for(restarted).run_once(t).status == "sent"
        assert notifier_for(restarted).run_once(t + timedelta(hours=1)).status == "nothing"
        (message,) = sink.received()
        assert "refused 8 provisioning requests" in text_of(message)
    finally:
        sink.stop()
        with restarted.app_context():
            db.engine.dispose()


def test_a_message_the_server_refuses_is_sent_again_later(mail_app, scim, sink):
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    notifier = notifier_for(mail_app)
    t = utcnow() + timedelta(seconds=WINDOW)
    sink.data_mode = "refuse"
    refused = notifier.run_once(t)
    assert refused.status == "failed" and "451 4.3.0 try again later" in refused.message
    assert len(pending(mail_app)) == 1
    assert digests(mail_app)[0].state == "rejected"
    sink.data_mode = "accept"
    assert notifier.run_once(t + timedelta(seconds=30)).status == "sent"
    assert len(sink.received()) == 1 and pending(mail_app) == []


def test_a_lost_confirmation_is_never_resent_but_reported_in_the_next_digest(
        mail_app, scim, sink):
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    notifier = notifier_for(mail_app)
    t = utcnow() + timedelta(seconds=WINDOW)
    sink.data_mode = "drop"  # the server takes the message but its 250 never arrives
    assert notifier.run_once(t).status == "unconfirmed"
    assert pending(mail_app) == []
    sink.data_mode = "accept"
    scim.post("/scim/Groups", {"displayName": ""})  # a new, different failure
    assert notifier.run_once(t + timedelta(seconds=WINDOW)).status == "sent"
    first, second = sink.received()
    assert "a@contoso.com" in body_of(first)
    assert "a@contoso.com" not in body_of(second)  # mailed once, even if maybe lost
    assert "(digest 1, 1 failure" in text_of(second)
    assert "may not have arrived" in text_of(second)
    assert [d.state for d in digests(mail_app)] == ["unconfirmed", "sent"]


class Crash(BaseException):
    """The process dying: nothing after it runs."""


def test_a_crash_between_sending_and_marking_never_sends_twice(mail_app, scim, sink):
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    t = utcnow() + timedelta(seconds=WINDOW)

    def send_then_die(settings, msg, commit_point):
        send_message(settings, msg, commit_point)
        raise Crash()

    dying = notifier_for(mail_app)
    dying._send = send_then_die
    with pytest.raises(Crash):
        dying.run_once(t)
    assert [d.state for d in digests(mail_app)] == ["sending"]

    after_restart = notifier_for(mail_app)
    # Soon after, the digest may still be in flight in another process: left alone.
    assert after_restart.run_once(t + timedelta(seconds=10)).status == "nothing"
    outcome = after_restart.run_once(t + timedelta(seconds=WINDOW))
    assert outcome.status == "sent" and outcome.failures == 0
    first, second = sink.received()
    assert second["Subject"] == "[scim-appliance] an earlier failure email may not have " \
                                "arrived"
    assert "a@contoso.com" not in body_of(second)
    assert [d.state for d in digests(mail_app)] == ["unconfirmed", "sent"]


def test_two_senders_at_once_never_mail_a_failure_twice(mail_app, scim, sink):
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    server_worker, operator_flush = notifier_for(mail_app), notifier_for(mail_app)

    def flush_sneaks_in(settings, msg, commit_point):
        assert operator_flush.run_once(force=True).status == "sent"
        return send_message(settings, msg, commit_point)

    server_worker._send = flush_sneaks_in
    assert server_worker.run_once(force=True).status == "conflict"
    assert len(sink.received()) == 1


# -- transport security ----------------------------------------------------------------
@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("tls"))


def _settings(port, cert, **extra) -> SmtpSettings:
    return SmtpSettings.from_config(smtp_config(port, **{"SMTP_CA_FILE": str(cert[0]),
                                                         **extra}))


def test_starttls_and_login_against_a_server_that_requires_both(certificate):
    sink = SmtpSink(starttls=True, credentials=("scim", "s3cret"), cert=certificate).start()
    try:
        good = _settings(sink.port, certificate, SMTP_SECURITY="starttls",
                         SMTP_USERNAME="scim", SMTP_PASSWORD="s3cret")
        assert send_message(good, new_message(good, "hello", "body")) == \
            ["admin@contoso.com", "ops@contoso.com"]
        assert sink.logins == ["scim"] and len(sink.received()) == 1

        wrong = _settings(sink.port, certificate, SMTP_SECURITY="starttls",
                          SMTP_USERNAME="scim", SMTP_PASSWORD="guess")
        with pytest.raises(MailNotSent) as refused:
            send_message(wrong, new_message(wrong, "hello", "body"))
        assert str(refused.value).startswith(
            f"127.0.0.1:{sink.port} (starttls) refused the login for 'scim': 535")
        assert "guess" not in str(refused.value)

        clear = _settings(sink.port, certificate, SMTP_USERNAME="scim", SMTP_PASSWORD="s3cret")
        with pytest.raises(MailNotSent) as plain:
            send_message(clear, new_message(clear, "hello", "body"))
        assert "(none)" in str(plain.value)

        untrusted = _settings(sink.port, certificate, SMTP_SECURITY="starttls",
                              SMTP_CA_FILE=None, SMTP_USERNAME="scim", SMTP_PASSWORD="s3cret")
        with pytest.raises(MailNotSent) as unknown_ca:
            send_message(untrusted, new_message(untrusted, "hello", "body"))
        assert "TLS certificate not trusted" in str(unknown_ca.value)
        assert len(sink.received()) == 1
    finally:
        sink.stop()


# aiosmtpd's warning assumes plain text; with implicit TLS the login is encrypted.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_with_login(certificate):
    sink = SmtpSink(implicit_tls=True, credentials=("scim", "s3cret"), cert=certificate).start()
    try:
        settings = _settings(sink.port, certificate, SMTP_SECURITY="ssl",
                             SMTP_USERNAME="scim", SMTP_PASSWORD="s3cret")
        send_message(settings, new_message(settings, "über", "Grüße, ✓\n.leading dot\n"))
        (message,) = sink.received()
        assert message["Subject"] == "über"
        assert body_of(message) == "Grüße, ✓\n.leading dot\n"
    finally:
        sink.stop()


def test_settings_default_ports_and_refuse_an_unknown_security_mode():
    assert SmtpSettings.from_config({"SMTP_HOST": "mx"}) is None  # no NOTIFY_TO: off
    assert SmtpSettings.from_config({"SMTP_HOST": "mx", "NOTIFY_TO": "a@b"}).port == 587
    assert SmtpSettings.from_config({"SMTP_HOST": "mx", "NOTIFY_TO": ["a@b"],
                                     "SMTP_SECURITY": "ssl"}).port == 465
    with pytest.raises(ValueError, match="SMTP_SECURITY must be one of none, starttls, ssl"):
        SmtpSettings.from_config({"SMTP_HOST": "mx", "NOTIFY_TO": "a@b",
                                  "SMTP_SECURITY": "tls"})
