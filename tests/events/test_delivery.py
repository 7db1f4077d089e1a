"""Delivery: signed so the standardwebhooks library verifies it, retried with back-off,
in order per resource, each delivery sent by one worker (domain/events/worker.py)."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from scim_appliance.domain.clock import utcnow
from scim_appliance.domain.events import delivery
from scim_appliance.domain.events.endpoints import get_endpoint, rotate_secret, signing_secrets
from scim_appliance.domain.events.worker import DeliveryWorker, backoff, redeliver
from scim_appliance.storage.extensions import db

from ..conftest import make_user
from .conftest import add, deliveries, outbox
from .receiver import Receiver, wait_for

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


def hooked(app, receiver, **kw):
    added = add(app, receiver.url, **kw)
    receiver.secrets.append(added.secret)
    return added


def worker(app, **kw):
    with app.app_context():
        engine = db.engine
    kw.setdefault("timeout", 2)
    return DeliveryWorker(engine, **kw)


def drain(w, now=None, rounds=50):
    for _ in range(rounds):
        if not w.run_once(now):
            return


def test_a_receiver_verifies_every_delivery_with_standardwebhooks(app, scim, receiver):
    hooked(app, receiver)
    user = make_user(scim)
    drain(worker(app))
    [payload] = receiver.payloads()
    assert receiver.rejected == []
    assert payload["type"] == "user.created" and payload["data"]["id"] == user["id"]
    headers = receiver.headers[0]
    assert headers["webhook-id"] == payload["id"]
    assert "authorization" not in headers and scim.token not in str(headers)
    assert deliveries(app)[0].status == "delivered"


def test_during_a_rotation_both_secrets_sign(app, scim, receiver):
    added = hooked(app, receiver)
    with app.app_context():
        new, _ = rotate_secret(db.session, added.id)
        db.session.commit()
    make_user(scim)
    old_only, new_only = Receiver([added.secret]), Receiver([new])
    payload = json.dumps(outbox(app)[0])
    w = worker(app)
    claimed = w.claim(utcnow())
    headers = delivery.signed_headers(claimed[0].event_id, payload, claimed[0].secrets)
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert old_only.verify(payload.encode(), headers) and new_only.verify(payload.encode(),
                                                                          headers)


def test_down_then_back_everything_arrives_in_order_once_per_id(app, scim, receiver):
    hooked(app, receiver)
    receiver.stop()
    user = make_user(scim)
    for n in range(5):
        scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
            {"op": "replace", "path": "title", "value": f"t{n}"}]})
    other = make_user(scim, "other@contoso.com")
    w = worker(app, schedule=(0.2,))
    now = utcnow()
    w.run_once(now)  # the first attempt fails: the receiver is down
    # one attempt, then the endpoint is held until that delivery's retry
    assert [d.attempts for d in deliveries(app) if d.attempts] == [1]
    receiver.start()
    drain(w, now + timedelta(seconds=1))
    events = outbox(app)
    unique = receiver.unique()
    assert set(unique) == {e["id"] for e in events}
    mine = [p["data"]["resource"].get("title") for p in receiver.payloads()
            if p["data"]["id"] == user["id"]]
    assert mine == [None, "t0", "t1", "t2", "t3", "t4"]
    assert other["id"] in {p["data"]["id"] for p in unique.values()}
    assert {d.status for d in deliveries(app)} == {"delivered"}


def test_500_is_retried_with_back_off_then_failed_and_redelivered(app, scim, receiver):
    hooked(app, receiver)
    receiver.mode = "fail"
    make_user(scim)
    w = worker(app, retry_hours=0.25)  # 15 minutes: 5 s, 30 s, 2 min, 10 min, then failed
    start = utcnow()
    now = start
    seen = []
    for _ in range(10):
        w.run_once(now)
        [d] = deliveries(app)
        seen.append((d.attempts, d.status))
        if d.status != "pending":
            break
        assert d.last_status == 500 and d.last_error == "HTTP 500: receiver broken"
        now = d.next_attempt_at
    assert seen[-1] == (5, "failed")
    waits = [backoff(n) for n in range(1, 5)]
    assert waits == [timedelta(seconds=s) for s in (5, 30, 120, 600)]
    receiver.mode = "ok"
    w = worker(app)  # back in real time (the one above ran 12 minutes ahead)
    event_id = outbox(app)[0]["id"]
    with app.app_context():
        assert redeliver(db.session, failed=True) == 1
        db.session.commit()
    drain(w)
    assert [p["id"] for p in receiver.payloads()] == [event_id]
    with app.app_context():
        assert redeliver(db.session, event_id) == 1
        db.session.commit()
    drain(w)
    assert [p["id"] for p in receiver.payloads()] == [event_id, event_id]


def test_a_failed_event_no_longer_blocks_the_next(app, scim, receiver):
    hooked(app, receiver)
    receiver.mode = "fail"
    user = make_user(scim)
    w = worker(app, retry_hours=0)
    w.run_once()
    receiver.mode = "ok"
    scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "title", "value": "x"}]})
    drain(w)
    assert [d.status for d in deliveries(app)] == ["failed", "delivered"]


def test_a_failing_endpoint_costs_one_attempt_and_holds_up_no_other(app, scim, receiver):
    broken = Receiver().start()
    try:
        hooked(app, broken)
        hooked(app, receiver)
        broken.mode = "fail"
        for n in range(5):
            make_user(scim, f"u{n}@contoso.com")
        worker(app).run_once()
        assert broken.attempts == 1
        assert len(receiver.payloads()) == 5
    finally:
        broken.stop()


def test_slow_receiver_is_cut_off_at_the_timeout(app, scim, receiver):
    hooked(app, receiver)
    receiver.mode, receiver.delay = "slow", 5
    make_user(scim)
    worker(app, timeout=0.5).run_once()
    [d] = deliveries(app)
    assert d.status == "pending" and d.last_status is None
    assert "within 0.5 s" in d.last_error


def test_redirects_are_not_followed(app, scim, receiver):
    hooked(app, receiver)
    receiver.mode = "redirect"
    make_user(scim)
    worker(app).run_once()
    [d] = deliveries(app)
    assert d.last_status == 302 and "not followed" in d.last_error
    assert receiver.attempts == 1


def test_only_http_urls_are_sent_to():
    attempt = delivery.post("file:///etc/passwd", "{}", {}, 1)
    assert not attempt.ok and "only http" in attempt.error


def test_two_workers_deliver_each_event_once(app, scim, receiver):
    hooked(app, receiver)
    for n in range(30):
        make_user(scim, f"u{n}@contoso.com")
    workers = [worker(app, owner=f"w{n}") for n in range(2)]
    done = [0, 0]

    def run(index):
        for _ in range(100):
            done[index] += workers[index].run_once()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_for(lambda: len(receiver.payloads()) >= 30)
    ids = [p["id"] for p in receiver.payloads()]
    assert len(ids) == len(set(ids)) == 30
    assert sum(done) == 30
    assert {d.status for d in deliveries(app)} == {"delivered"}


def test_an_expired_lease_is_taken_over(app, scim, receiver):
    """A worker that died mid-delivery (its lease stays) does not lose the delivery."""
    hooked(app, receiver)
    make_user(scim)
    dead = worker(app, owner="dead")
    now = utcnow()
    assert len(dead.claim(now)) == 1  # claimed, never sent: the process was killed
    alive = worker(app, owner="alive")
    assert alive.run_once(now) == 0  # the lease holds
    assert alive.run_once(now + dead.lease + timedelta(seconds=1)) == 1
    assert len(receiver.payloads()) == 1


def test_after_the_overlap_only_the_new_secret_signs(app, receiver):
    added = hooked(app, receiver)
    with app.app_context():
        new, until = rotate_secret(db.session, added.id, timedelta(hours=1))
        db.session.commit()
        endpoint = get_endpoint(db.session, added.id)
        assert signing_secrets(endpoint, until - timedelta(seconds=1)) == [new, added.secret]
        assert signing_secrets(endpoint, until) == [new]
