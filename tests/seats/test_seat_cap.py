"""MAX_ACTIVE_USERS: writes that would take a seat beyond the cap get 403, the rest work,
and the administrator is mailed once at 90% and once at the first refusal."""

from __future__ import annotations

import pytest

from scim_appliance.domain.log.failure_kinds import SEAT_CAP, classify
from scim_appliance.domain.notify.mailer import SmtpSettings
from scim_appliance.domain.notify.seats import SeatWatch
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import ApplianceState, ProvisioningLogEntry, User
from tests.conftest import make_user
from tests.notify.test_notifications import smtp_config
from tests.smtp_sink import SmtpSink

CAP = 3
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def capped(app, scim):
    app.config["MAX_ACTIVE_USERS"] = CAP
    return scim


def _post(scim, name, **extra):
    return scim.post("/scim/Users", {"schemas": [USER], "userName": name, **extra})


def _active(app):
    with app.app_context():
        return db.session.query(User).filter(User.active.is_not(False)).count()


def _set_active(scim, user_id, value):
    return scim.patch(f"/scim/Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "active", "value": value}]})


def test_the_create_beyond_the_cap_is_refused_with_a_detail_naming_cap_and_count(app, capped):
    for n in range(CAP):
        make_user(capped, f"u{n}@contoso.com", active=True)
    resp = _post(capped, "one.too.many@contoso.com", active=True)
    assert resp.status_code == 403
    body = resp.get_json()
    assert body["status"] == "403" and "scimType" not in body
    assert "3 users are active and MAX_ACTIVE_USERS is 3" in body["detail"]
    assert "raise MAX_ACTIVE_USERS" in body["detail"]
    assert _active(app) == CAP
    with app.app_context():  # the refused user was not stored, and the log says why
        assert db.session.query(User).count() == CAP
        kinds = [e.failure_kind for e in db.session.query(ProvisioningLogEntry)
                 if e.status == 403]
    assert kinds == [SEAT_CAP]


def test_absent_active_counts_as_active_and_inactive_users_take_no_seat(app, capped):
    for n in range(CAP):
        make_user(capped, f"u{n}@contoso.com")  # no `active`: active (RFC 7643 §4.1.1)
    assert _post(capped, "absent@contoso.com").status_code == 403
    parked = _post(capped, "parked@contoso.com", active=False)
    assert parked.status_code == 201


def test_enabling_a_user_takes_a_seat_and_disabling_one_frees_it(app, capped):
    users = [make_user(capped, f"u{n}@contoso.com", active=True) for n in range(CAP)]
    parked = make_user(capped, "parked@contoso.com", active=False)
    assert _set_active(capped, parked["id"], True).status_code == 403
    replaced = capped.put(f"/scim/Users/{parked['id']}",
                          {"schemas": [USER], "userName": "parked@contoso.com",
                           "active": True})
    assert replaced.status_code == 403
    assert _set_active(capped, users[0]["id"], False).status_code == 200
    assert _set_active(capped, parked["id"], True).status_code == 200
    assert _active(app) == CAP


def test_users_already_there_are_never_refused_when_the_cap_is_lowered(app, scim):
    users = [make_user(scim, f"u{n}@contoso.com", active=True) for n in range(CAP + 2)]
    app.config["MAX_ACTIVE_USERS"] = CAP
    renamed = scim.patch(f"/scim/Users/{users[0]['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Still Here"}]})
    assert renamed.status_code == 200
    assert scim.delete(f"/scim/Users/{users[1]['id']}").status_code == 204
    assert _post(scim, "new@contoso.com", active=True).status_code == 403


def test_no_cap_by_default(app, scim):
    assert app.config["MAX_ACTIVE_USERS"] == 0
    for n in range(5):
        make_user(scim, f"u{n}@contoso.com", active=True)


def test_the_seat_cap_refusal_is_its_own_failure_kind_not_the_sync_switch():
    assert classify(403, None, "seat cap reached: 3 users are active ...") == SEAT_CAP
    assert classify(403, None, "SCIM synchronization is disabled") != SEAT_CAP


def test_users_list_shows_the_count_against_the_cap(app, capped):
    make_user(capped, "u0@contoso.com", active=True)
    make_user(capped, "u1@contoso.com", active=False)
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert result.stderr == "1 user is active of MAX_ACTIVE_USERS 3 (33%, 2 seats free).\n"
    assert len(result.stdout.splitlines()) == 3  # the table alone: header and two users
    app.config["MAX_ACTIVE_USERS"] = 0
    result = app.test_cli_runner().invoke(args=["users", "list"])
    assert result.stderr == "1 user is active (no seat cap: MAX_ACTIVE_USERS is 0).\n"


@pytest.fixture
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


def _watch(app, port, cap=10):
    app.config.update(smtp_config(port))
    with app.app_context():
        engine = db.engine
    return SeatWatch(engine, SmtpSettings.from_config(app.config), cap, instance="contoso")


def test_one_mail_at_ninety_percent_one_at_the_first_refusal_and_none_again(app, scim, sink):
    app.config["MAX_ACTIVE_USERS"] = 10
    watch, other_process = _watch(app, sink.port), _watch(app, sink.port)
    for n in range(8):
        make_user(scim, f"u{n}@contoso.com", active=True)
    assert watch.run_once() == "nothing" and not sink.received()
    make_user(scim, "u8@contoso.com", active=True)  # 9 of 10: 90%
    assert watch.run_once() == "warned"
    assert other_process.run_once() == "nothing" and watch.run_once() == "nothing"
    (warning,) = sink.received()
    assert "9 of 10 (90%) seats taken" in warning["Subject"]
    make_user(scim, "u9@contoso.com", active=True)
    assert watch.run_once() == "nothing"  # full, but nobody refused yet
    assert _post(scim, "u10@contoso.com", active=True).status_code == 403
    assert _post(scim, "u11@contoso.com", active=True).status_code == 403
    assert other_process.run_once() == "refused"
    assert watch.run_once() == "nothing"
    assert _post(scim, "u12@contoso.com", active=True).status_code == 403
    assert watch.run_once() == "nothing"
    warning, refusal = sink.received()
    assert "Seat cap reached" in refusal["Subject"]
    body = refusal.get_content()
    assert "10 of 10 (100%)" in body and "MAX_ACTIVE_USERS" in body
    assert "Sync only assigned users and groups" in body


def test_falling_under_ninety_percent_rearms_the_alert(app, scim, sink):
    app.config["MAX_ACTIVE_USERS"] = 10
    watch = _watch(app, sink.port)
    users = [make_user(scim, f"u{n}@contoso.com", active=True) for n in range(9)]
    assert watch.run_once() == "warned"
    _set_active(scim, users[0]["id"], False)
    assert watch.run_once() == "cleared"
    with app.app_context():
        assert db.session.get(ApplianceState, 1).seat_alert is None
    _set_active(scim, users[0]["id"], True)
    assert watch.run_once() == "warned"
    assert len(sink.received()) == 2


def test_a_mail_server_that_is_down_leaves_the_alert_to_a_later_tick(app, scim):
    app.config["MAX_ACTIVE_USERS"] = 10
    for n in range(9):
        make_user(scim, f"u{n}@contoso.com", active=True)
    down = SmtpSink().start()
    port = down.port
    down.stop()
    assert _watch(app, port).run_once() == "failed"
    with app.app_context():
        assert db.session.get(ApplianceState, 1).seat_alert is None
    again = SmtpSink().start()
    try:
        assert _watch(app, again.port).run_once() == "warned"
        assert len(again.received()) == 1
    finally:
        again.stop()
