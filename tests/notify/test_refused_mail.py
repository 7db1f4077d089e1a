"""Failure email and requests refused before the token check (issue 13 #1, #2).

A replaced token (signed by this appliance, no longer active: Entra holds an old one)
is mailed like a failure. Garbage (no token, a token never issued, unknown URLs) is
counted; it is summed up in a digest that goes out anyway, and on its own at most once
a day, so whoever can reach the Tenant URL cannot fill the administrator's mailbox.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from scim_appliance.domain.access import tokens
from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.log import auth_failures
from scim_appliance.domain.log.entries import RequestFacts
from scim_appliance.domain.notify.mailer import send_message
from scim_appliance.domain.notify.notifier import NOTICE_INTERVAL, NOTICE_MIN
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuthFailureCount
from tests.conftest import ScimClient, make_user
from tests.hostile_text import HOSTILE, STORABLE, assert_shown_safely
from tests.notify.test_notifications import WINDOW, notifier_for
from tests.smtp_sink import body_of

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def refuse(app, requests: int, *, at=None, client="203.0.113.50",
           reason=auth_failures.INVALID_TOKEN) -> None:
    """`requests` refused requests, counted as the log writer counts them."""
    at = at or utcnow()
    facts = [RequestFacts(request_id=f"req{i}", at=at, client=client, method="GET",
                          path="/scim/Users", filter=None, status=401, duration_us=1,
                          authenticated=False, refusal=reason) for i in range(requests)]
    with app.app_context():
        with db.session.begin():
            auth_failures.count_refusals(db.session, facts)


def unreported(app) -> int:
    with app.app_context():
        return sum(db.session.execute(select(AuthFailureCount.requests).where(
            AuthFailureCount.digest_id == 0)).scalars())


def test_garbage_alone_is_never_mailed_below_the_notice_threshold(mail_app, sink):
    t = utcnow()
    refuse(mail_app, NOTICE_MIN - 1, at=t)
    notifier = notifier_for(mail_app)
    for hours in (0, 1, 12, 23):
        assert notifier.run_once(t + timedelta(hours=hours)).status == "nothing"
    assert sink.received() == []


def test_a_garbage_flood_mails_one_notice_a_day_at_most(mail_app, sink):
    t = utcnow() - timedelta(minutes=10)
    refuse(mail_app, NOTICE_MIN * 3, at=t)
    refuse(mail_app, 500, at=t, client=HOSTILE[:60], reason=auth_failures.NO_TOKEN)
    notifier = notifier_for(mail_app)
    now = t + timedelta(seconds=WINDOW)
    assert notifier.run_once(now).status == "sent"
    (notice,) = sink.received()
    assert notice["Subject"] == "[scim-appliance] 3500 requests refused without a valid " \
                                "Secret Token"
    body = body_of(notice)
    assert_shown_safely(body)
    assert_shown_safely(notice["Subject"])
    assert "3000  with a token this appliance never issued" in body
    assert " 500  with no Secret Token" in body
    assert "203.0.113.50 (3000)" in body and "rate-limit" in body
    assert len(body) < 4000
    # the flood goes on: counted, not mailed until a day after the notice
    for minutes in range(0, 24 * 60, 97):
        refuse(mail_app, NOTICE_MIN, at=now + timedelta(minutes=minutes))
        assert notifier.run_once(now + timedelta(minutes=minutes + 5)).status == "nothing"
    assert len(sink.received()) == 1
    later = now + NOTICE_INTERVAL + timedelta(minutes=5)
    refuse(mail_app, NOTICE_MIN, at=later - timedelta(minutes=4))
    assert notifier.run_once(later).status == "sent"
    assert len(sink.received()) == 2


def test_a_digest_sent_anyway_sums_up_any_garbage_once(mail_app, scim, sink):
    refuse(mail_app, 7)
    make_user(scim, "a@contoso.com")
    scim.post("/scim/Users", {"userName": "a@contoso.com"})  # a real failure
    notifier = notifier_for(mail_app)
    t = utcnow() + timedelta(seconds=WINDOW)
    assert notifier.run_once(t).status == "sent"
    (digest,) = sink.received()
    assert digest["Subject"] == "[scim-appliance] 1 provisioning failure (1 duplicate)"
    assert "== Refused without a valid Secret Token: 7 ==" in body_of(digest)
    assert unreported(mail_app) == 0
    scim.post("/scim/Users", {"userName": "a@contoso.com"})
    assert notifier.run_once(t + timedelta(seconds=WINDOW)).status == "sent"
    assert "Refused without a valid Secret Token" not in body_of(sink.received()[1])


def test_a_single_request_with_a_replaced_token_is_mailed(mail_app, sink, token):
    old = tokens.new_token(mail_app.config["SECRET_KEY"])  # signed here, not active
    assert ScimClient(mail_app.test_client(), old).get("/scim/Users").status_code == 401
    assert ScimClient(mail_app.test_client(), "scimapp_x.y").get("/scim/Users"
                                                                ).status_code == 401
    notifier = notifier_for(mail_app)
    assert notifier.run_once(utcnow() + timedelta(seconds=WINDOW)).status == "sent"
    (message,) = sink.received()
    assert message["Subject"] == "[scim-appliance] 1 provisioning failure (1 token)"
    body = body_of(message)
    assert "== Replaced Secret Token: Entra holds an old one (401): 1 ==" in body
    assert "== Refused without a valid Secret Token: 1 ==" in body  # the forged one
    assert old not in body


def test_a_refused_message_leaves_the_counts_to_report_again(mail_app, sink):
    at = utcnow()
    refuse(mail_app, 2, at=at, reason=auth_failures.REPLACED_TOKEN)
    notifier = notifier_for(mail_app)

    def more_arrive_once_claimed(settings, msg, claim):
        def claim_then_more():
            claim()
            refuse(mail_app, 3, at=at, reason=auth_failures.REPLACED_TOKEN)
        return send_message(settings, msg, claim_then_more)

    notifier._send = more_arrive_once_claimed
    t = at + timedelta(seconds=WINDOW)
    sink.data_mode = "refuse"
    assert notifier.run_once(t).status == "failed"
    with mail_app.app_context():
        rows = db.session.execute(select(AuthFailureCount.requests, AuthFailureCount.digest_id)
                                  ).all()
    assert [tuple(r) for r in rows] == [(5, 0)]  # given back, merged with the new ones
    sink.data_mode = "accept"
    notifier._send = send_message
    assert notifier.run_once(t + timedelta(seconds=30)).status == "sent"
    assert unreported(mail_app) == 0 and len(sink.received()) == 1
    assert "(401): 5 ==" in body_of(sink.received()[0])


def test_counts_older_than_a_day_are_history_not_news(mail_app, sink):
    """Switching email on later does not mail last month's refused requests."""
    refuse(mail_app, 5, reason=auth_failures.REPLACED_TOKEN,
           at=utcnow() - timedelta(days=3))
    refuse(mail_app, NOTICE_MIN * 2, at=utcnow() - timedelta(days=3))
    assert notifier_for(mail_app).run_once(utcnow()).status == "nothing"
    assert sink.received() == []


@pytest.mark.parametrize("what", ["name", "detail"])
def test_outside_values_in_a_digest_are_neutralised(mail_app, scim, sink, what):
    if what == "name":
        make_user(scim, STORABLE)
        assert scim.post("/scim/Users", {"userName": STORABLE}).status_code == 409
    else:
        group = scim.post("/scim/Groups", {"displayName": "Sales"}).get_json()
        assert scim.patch(f"/scim/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": STORABLE}]}]}
        ).status_code == 400
    assert notifier_for(mail_app).run_once(utcnow() + timedelta(seconds=WINDOW)).status == \
        "sent"
    (message,) = sink.received()
    assert_shown_safely(body_of(message))
    assert_shown_safely(message["Subject"])
    assert "mallory\\u000d\\u000aFAKE-LINE" in body_of(message)
