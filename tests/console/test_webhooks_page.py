"""The Webhooks page: endpoints added (secret shown once), tested against a real loopback
receiver, rotated, removed; deliveries paged and redelivered; every action a POST with
CSRF and an audit entry; bad input is the form again (Flask test client, real SQLite)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from scim_appliance.domain.admins import audit
from scim_appliance.domain.events import endpoints as hooks
from scim_appliance.domain.events.worker import DeliveryWorker
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import WebhookDelivery, WebhookEndpoint
from tests.conftest import make_user
from tests.events.receiver import Receiver

from .test_scim_page import audit_actions

SECRET = re.compile(r'id="signing-secret" type="text" readonly value="(whsec_[^"]+)"')


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


def add(console, url, events=""):
    return console.post_form("/webhooks", "/webhooks", {"url": url, "event_types": events})


def endpoint_ids(app):
    with app.app_context():
        return [e.id for e in hooks.list_endpoints(db.session)]


def drain(app, retry_hours=24.0):
    with app.app_context():
        worker = DeliveryWorker(db.engine, timeout=2, retry_hours=retry_hours)
    while worker.run_once():
        pass


def test_the_nav_has_webhooks_after_notifications(console):
    page = console.get("/webhooks").get_data(as_text=True)
    links = re.findall(r'<li><a href="[^"]+"[^>]*>([^<]+)</a></li>', page)
    assert links[links.index("Notifications") + 1] == "Webhooks"
    assert "No webhook endpoints yet" in page and "No deliveries yet." in page


def test_add_shows_the_secret_once_and_a_test_event_reaches_the_receiver(app, console,
                                                                         receiver):
    resp = add(console, receiver.url, "user.created, group.*")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert '<label for="signing-secret">Signing secret</label>' in page
    assert 'aria-label="Copy Signing secret"' in page
    secret = SECRET.search(page).group(1)
    listing = console.get("/webhooks").get_data(as_text=True)
    assert secret not in listing
    assert receiver.url in listing and "user.created, group.*" in listing
    (endpoint_id,) = endpoint_ids(app)
    receiver.secrets.append(secret)
    tested = console.post_form("/webhooks", f"/webhooks/{endpoint_id}/test",
                               follow_redirects=True).get_data(as_text=True)
    assert re.search(r"Test evt_\w+ delivered: HTTP 204\.", tested), tested
    assert receiver.payloads()[0]["type"] == "webhook.test"
    actions = audit_actions(app)
    assert actions[-2][:3] == (audit.WEBHOOK_ADDED, "alex", "127.0.0.1")
    assert actions[-1][0] == audit.WEBHOOK_TESTED and "HTTP 204" in actions[-1][3]


def test_a_failing_test_event_says_why(app, console, receiver):
    add(console, receiver.url)
    receiver.mode = "fail"
    (endpoint_id,) = endpoint_ids(app)
    page = console.post_form("/webhooks", f"/webhooks/{endpoint_id}/test",
                             follow_redirects=True).get_data(as_text=True)
    assert "failed: HTTP 500: receiver broken." in page


@pytest.mark.parametrize("url, events, why", [
    ("ftp://example.com/hooks", "", "only http:// and https:// URLs are accepted"),
    ("javascript:alert(1)", "", "only http:// and https:// URLs are accepted"),
    ("https://user:pw@example.com/", "", "must not carry credentials"),
    ("https://example.com/hooks", "user.created, user.exploded",
     "unknown event type &#39;user.exploded&#39;"),
    ("", "", "Give the endpoint&#39;s URL"),
])
def test_bad_input_is_the_form_again_with_why_and_nothing_added(app, console, url, events,
                                                                why):
    resp = add(console, url, events)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 400 and why in page, page
    assert 'role="alert"' in page and "Add endpoint" in page
    assert endpoint_ids(app) == []
    assert not [a for a in audit_actions(app) if a[0] == audit.WEBHOOK_ADDED]


def test_a_url_is_shown_safely(app, console):
    add(console, "https://example.com/\u202egnp.exe")
    page = console.get("/webhooks").get_data(as_text=True)
    assert "\u202e" not in page and "example.com/" in page


def test_every_action_refuses_a_post_without_csrf(app, console, receiver):
    add(console, receiver.url)
    (endpoint_id,) = endpoint_ids(app)
    for action in ("/webhooks", f"/webhooks/{endpoint_id}/test",
                   f"/webhooks/{endpoint_id}/rotate", f"/webhooks/{endpoint_id}/remove",
                   "/webhooks/redeliver"):
        resp = console.client.post(action, data={"url": "https://example.com/x",
                                                 "all_failed": "1"})
        assert resp.status_code == 400, action
        assert "This form was not accepted" in resp.get_data(as_text=True)
    assert endpoint_ids(app) == [endpoint_id] and receiver.attempts == 0
    assert [a[0] for a in audit_actions(app)][-1] == audit.WEBHOOK_ADDED


def test_rotate_asks_first_then_shows_the_new_secret_and_the_overlap(app, console, receiver):
    first = SECRET.search(add(console, receiver.url).get_data(as_text=True)).group(1)
    (endpoint_id,) = endpoint_ids(app)
    ask = console.get(f"/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    assert "keeps signing beside it for 24 hours" in ask
    with app.app_context():
        assert db.session.get(WebhookEndpoint, endpoint_id).secret == first
    page = console.post_form(f"/webhooks/{endpoint_id}/rotate",
                             f"/webhooks/{endpoint_id}/rotate").get_data(as_text=True)
    second = SECRET.search(page).group(1)
    assert second != first and "The previous secret keeps signing beside it until" in page
    receiver.secrets.append(second)  # the receiver switched; both sign in the overlap
    console.post_form("/webhooks", f"/webhooks/{endpoint_id}/test")
    assert receiver.payloads() and not receiver.rejected
    assert "previous secret signs until" in console.get("/webhooks").get_data(as_text=True)
    assert audit.WEBHOOK_SECRET_ROTATED in [a[0] for a in audit_actions(app)]


def test_remove_asks_first_and_drops_the_pending_deliveries(app, console, scim, receiver):
    add(console, "http://127.0.0.1:9/hooks")
    (endpoint_id,) = endpoint_ids(app)
    make_user(scim)
    ask = console.get(f"/webhooks/{endpoint_id}/remove").get_data(as_text=True)
    assert "its 1 pending delivery is dropped" in ask
    assert endpoint_ids(app) == [endpoint_id]
    done = console.post_form(f"/webhooks/{endpoint_id}/remove",
                             f"/webhooks/{endpoint_id}/remove", follow_redirects=True)
    assert f"Removed the endpoint {endpoint_id} and 1 delivery." in done.get_data(as_text=True)
    assert endpoint_ids(app) == []
    assert audit.WEBHOOK_REMOVED in [a[0] for a in audit_actions(app)]
    assert console.get(f"/webhooks/{endpoint_id}/remove").status_code == 404
    assert console.post_form("/webhooks", f"/webhooks/{endpoint_id}/test").status_code == 404


def test_deliveries_failed_only_and_redeliver(app, console, scim, receiver):
    secret = SECRET.search(add(console, receiver.url).get_data(as_text=True)).group(1)
    receiver.secrets.append(secret)
    make_user(scim, "ok@contoso.com")
    drain(app)
    receiver.mode = "fail"
    make_user(scim, "broken@contoso.com")
    make_user(scim, "broken2@contoso.com")
    drain(app, retry_hours=0)  # the first failure is the last
    page = console.get("/webhooks").get_data(as_text=True)
    assert page.count("badge bad\">failed") == 2 and "delivered" in page
    assert "HTTP 500" in page and "receiver broken" in page
    failed = console.get("/webhooks?failed=1").get_data(as_text=True)
    assert failed.count("badge bad\">failed") == 2 and "badge ok\">delivered" not in failed
    event_ids = re.findall(r'name="event_id" value="(evt_\w+)"', failed)
    assert len(event_ids) == 2
    receiver.mode = "ok"
    one = console.post_form("/webhooks?failed=1", "/webhooks/redeliver?failed=1",
                            {"event_id": event_ids[0]}, follow_redirects=True)
    assert "1 delivery is pending again" in one.get_data(as_text=True)
    drain(app)
    assert receiver.payloads()[-1]["id"] == event_ids[0]
    every = console.post_form("/webhooks", "/webhooks/redeliver", {"all_failed": "1"},
                              follow_redirects=True)
    assert "1 delivery is pending again" in every.get_data(as_text=True)
    drain(app)
    assert "No failed deliveries." in console.get("/webhooks?failed=1").get_data(as_text=True)
    details = [a[3] for a in audit_actions(app) if a[0] == audit.WEBHOOK_REDELIVERED]
    assert details == [f"event {event_ids[0]}: 1", "every failed delivery: 1"]


def test_redeliver_of_an_unknown_event_or_nothing_named_is_a_400(app, console):
    resp = console.post_form("/webhooks", "/webhooks/redeliver", {"event_id": "evt_nope"})
    assert resp.status_code == 400 and "no event &#39;evt_nope&#39; is kept" in \
        resp.get_data(as_text=True)
    assert console.post_form("/webhooks", "/webhooks/redeliver", {}).status_code == 400
    assert not [a for a in audit_actions(app) if a[0] == audit.WEBHOOK_REDELIVERED]


def test_deliveries_are_paged(app, console, scim):
    add(console, "http://127.0.0.1:9/hooks")
    for n in range(55):
        make_user(scim, f"user{n}@contoso.com")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == 55
    first = console.get("/webhooks").get_data(as_text=True)
    assert "Page 1 of 2 (55 in all)" in first and first.count('badge">pending') == 50
    second = console.get("/webhooks?page=2").get_data(as_text=True)
    assert second.count('badge">pending') == 5
