"""The alarm when Entra goes quiet: one mail (and one event) per episode, whoever
watches and however often they restart; one more when calls resume
(domain/events/silence.py). Time is moved with domain/clock.advance, never waited for."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from scim_appliance.domain import clock
from scim_appliance.domain.access import appliance
from scim_appliance.domain.events.silence import SilenceMonitor
from scim_appliance.domain.notify.mailer import SmtpSettings
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import SilenceEpisode

from ..smtp_sink import SmtpSink, text_of
from .conftest import add, outbox


@pytest.fixture(autouse=True)
def real_time_after():
    yield
    clock.reset()


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


def settings_for(sink):
    return SmtpSettings.from_config({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": sink.port,
                                     "SMTP_SECURITY": "none", "NOTIFY_TO": "admin@contoso.com",
                                     "NOTIFY_FROM": "scim@contoso.com", "SMTP_TIMEOUT": 5})


def monitor(app, sink=None, minutes=120):
    with app.app_context():
        engine = db.engine
    return SilenceMonitor(engine, minutes=minutes,
                          settings=settings_for(sink) if sink else None,
                          instance="https://scim.contoso.com/scim")


def entra_calls(scim):
    assert scim.get("/scim/Users?filter=userName+eq+%22x%22").status_code == 200


def episodes(app):
    with app.app_context():
        rows = db.session.execute(select(SilenceEpisode)).scalars().all()
        db.session.expunge_all()
    return rows


def test_one_mail_per_episode_and_one_on_resume_end_to_end(app, scim, sink):
    add(app)  # an endpoint, so the events are recorded too
    entra_calls(scim)
    watch, other_node = monitor(app, sink), monitor(app, sink)
    assert watch.run_once().status == "quiet"
    clock.advance(timedelta(minutes=119))
    assert watch.run_once().status == "quiet" and sink.received() == []
    clock.advance(timedelta(minutes=2))
    assert watch.run_once().status == "silence"
    assert other_node.run_once().status == "quiet"
    assert monitor(app, sink).run_once().mails == 0  # a restart mails nothing again
    [alert] = sink.received()
    assert alert["Subject"] == "[scim-appliance] Entra has not called for 121 minutes"
    text = text_of(alert)
    assert "Provisioning Status" in text and "quarantine" in text
    assert "https://scim.contoso.com/scim" in text
    clock.advance(timedelta(hours=5))
    assert watch.run_once().mails == 0  # still silent: still the one episode
    entra_calls(scim)
    assert other_node.run_once().status == "resumed"
    assert watch.run_once().status == "quiet"
    assert [m["Subject"] for m in sink.received()][1] == \
        "[scim-appliance] Entra calls again after 421 minutes of silence"
    assert [e["type"] for e in outbox(app)] == ["appliance.silence", "appliance.resumed"]
    assert outbox(app)[0]["data"]["silentMinutes"] == 121
    # a second silence is a new episode
    clock.advance(timedelta(minutes=130))
    assert monitor(app, sink).run_once().status == "silence"
    assert len(sink.received()) == 3
    assert [(e.alert_mail, e.resume_mail) for e in episodes(app)] == [
        ("sent", "sent"), ("sent", None)]


def test_racing_monitors_send_one_mail(app, scim, sink):
    entra_calls(scim)
    clock.advance(timedelta(minutes=200))
    watchers = [monitor(app, sink) for _ in range(4)]
    threads = [threading.Thread(target=w.run_once) for w in watchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in watchers:
        w.run_once()
    assert len(sink.received()) == 1
    assert len(episodes(app)) == 1


def test_no_alarm_before_the_first_call_when_sync_is_off_or_when_turned_off(app, scim, sink):
    clock.advance(timedelta(days=1))
    assert monitor(app, sink).run_once().status == "quiet"  # the token was never used
    entra_calls(scim)
    with app.app_context():
        appliance.set_sync(db.session, False)
        db.session.commit()
    clock.advance(timedelta(days=1))
    assert monitor(app, sink).run_once().status == "quiet"
    assert monitor(app, sink, minutes=0).run_once().status == "off"
    assert sink.received() == []


def test_without_smtp_the_event_still_goes_out(app, scim):
    add(app)
    entra_calls(scim)
    clock.advance(timedelta(minutes=150))
    assert monitor(app).run_once().status == "silence"
    assert [e.alert_mail for e in episodes(app)] == ["off"]
    assert [e["type"] for e in outbox(app)] == ["appliance.silence"]


def test_a_mail_server_that_is_down_is_retried(app, scim):
    down = SmtpSink()  # not started: connections are refused
    entra_calls(scim)
    clock.advance(timedelta(minutes=150))
    watch = monitor(app, down)
    assert watch.run_once().status == "silence"
    assert [e.alert_mail for e in episodes(app)] == ["pending"]
    back = SmtpSink(port=down.port).start()
    try:
        clock.advance(timedelta(minutes=2))
        assert watch.run_once().mails == 1
        assert len(back.received()) == 1
    finally:
        back.stop()
