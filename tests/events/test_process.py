"""Against the real appliance (`scim-appliance serve` over HTTP): a receiver that is
slow or broken never fails a SCIM request, and SIGKILL during deliveries loses nothing."""

from __future__ import annotations

import json
import signal

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from ..appliance_server import DATABASE_KEY, RunningAppliance
from .receiver import Receiver, wait_for

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def receiver():
    rx = Receiver().start()
    yield rx
    rx.stop()


@pytest.fixture
def appliance(tmp_path):
    server = RunningAppliance(tmp_path / "instance", env={
        "SCIM_APPLIANCE_PROCESSES": "1", "SCIM_APPLIANCE_WEBHOOK_TIMEOUT_SECONDS": "1"})
    yield server
    server.stop()


def recorded_events(appliance) -> list[str]:
    """The outbox's event ids, from the appliance's own database (SQLite or PostgreSQL)."""
    url = appliance.env.get(DATABASE_KEY) or f"sqlite:///{appliance.instance / 'scim-appliance.db'}"
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.exec_driver_sql(
                "SELECT id FROM events ORDER BY seq")]
    finally:
        engine.dispose()


def hook(appliance, receiver):
    appliance.cli("init")
    secret = appliance.cli("webhooks", "add", receiver.url).splitlines()[-1]
    receiver.secrets.append(secret)


def test_slow_and_broken_receivers_never_fail_a_scim_request(appliance, receiver):
    hook(appliance, receiver)
    appliance.start()
    http = appliance.session()
    receiver.mode, receiver.delay = "slow", 3  # beyond the 1 s timeout
    ids = []
    for n in range(5):
        resp = http.post(f"{appliance.base}/scim/Users", json={"schemas": [USER],
                                                             "userName": f"s{n}@contoso.com"},
                         timeout=10)
        assert resp.status_code == 201
        ids.append(resp.json()["id"])
    receiver.mode = "fail"
    for user_id in ids:
        assert http.patch(f"{appliance.base}/scim/Users/{user_id}", json={
            "schemas": [PATCH], "Operations": [{"op": "replace", "path": "title",
                                                "value": "x"}]}, timeout=10).status_code == 200
    # a timed-out attempt, then a 500 (the endpoint is held between them: 5 s)
    wait_for(lambda: receiver.attempts >= 2)
    receiver.mode = "ok"
    # the next attempt (30 s later at most) succeeds and everything follows
    events = recorded_events(appliance)
    assert len(events) == 12  # start(): token issue and sync enable; 5 POSTs, 5 PATCHes
    wait_for(lambda: set(receiver.unique()) == set(events), timeout=180)
    assert receiver.rejected == []


def test_sigkill_during_deliveries_loses_nothing(appliance, receiver):
    hook(appliance, receiver)
    appliance.start()
    http = appliance.session()
    receiver.mode, receiver.delay = "slow", 0.3
    user = http.post(f"{appliance.base}/scim/Users", json={"schemas": [USER],
                                                         "userName": "k@contoso.com"}).json()
    for n in range(15):
        assert http.patch(f"{appliance.base}/scim/Users/{user['id']}", json={
            "schemas": [PATCH], "Operations": [{"op": "replace", "path": "title",
                                                "value": f"t{n}"}]}).status_code == 200
    wait_for(lambda: len(receiver.payloads()) >= 2)
    appliance.proc.send_signal(signal.SIGKILL)  # mid-delivery: no shutdown of any kind
    appliance.proc.wait(10)
    appliance.proc = None
    delivered_before = len(receiver.unique())
    events = recorded_events(appliance)
    assert len(events) == 18 and delivered_before < 18  # 2 appliance events, then 16
    receiver.mode = "ok"
    appliance.serve()  # the same instance, restarted
    wait_for(lambda: set(receiver.unique()) == set(events), timeout=120)
    # in order per resource, after deduplication by event id
    titles = [p["data"]["resource"].get("title") for p in receiver.unique().values()
              if p["type"].startswith("user.")]
    assert titles == [None] + [f"t{n}" for n in range(15)]
    assert json.dumps(receiver.rejected) == "[]"


def test_two_worker_processes_deliver_each_event_once(tmp_path, receiver):
    """`serve` with two processes: both run a delivery worker on the one database."""
    server = RunningAppliance(tmp_path / "two", env={"SCIM_APPLIANCE_PROCESSES": "2"})
    try:
        hook(server, receiver)
        server.start()
        http = server.session()
        for n in range(30):
            assert http.post(f"{server.base}/scim/Users", json={
                "schemas": [USER], "userName": f"p{n}@contoso.com"}).status_code == 201
        events = recorded_events(server)
        wait_for(lambda: set(receiver.unique()) == set(events), timeout=120)
        ids = [p["id"] for p in receiver.payloads()]
        assert len(ids) == len(set(ids)) == 32  # token and sync events, 30 users
    finally:
        server.stop()
    assert "Events: 1 webhook endpoint; silence alarm after 120 min" in server.proc_output
