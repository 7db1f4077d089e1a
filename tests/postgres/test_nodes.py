"""Two appliance nodes on one PostgreSQL database behave as one appliance.

Each node is a real `scim-appliance serve` (waitress) with its own instance folder;
they share SECRET_KEY and the database URL, as docs/nodes.md says to run them.
"""

from __future__ import annotations

import json
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from scim_appliance.server.background import NOTIFY_LEASE
from scim_appliance.server.log_writer import PRUNE_LEASE
from scim_appliance.storage.database import Lease
from scim_appliance.storage.models import NotificationDigest, ProvisioningLogEntry
from tests import pg
from tests.appliance_server import RunningAppliance
from tests.smtp_sink import SmtpSink

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
WINDOW = 1


@pytest.fixture(scope="module")
def sink():
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, sink):
    pg.require_server()
    url = pg.fresh_database()
    env = {"SCIM_APPLIANCE_SECRET_KEY": secrets.token_hex(32),
           "SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI": url,
           "SCIM_APPLIANCE_SMTP_HOST": "127.0.0.1", "SCIM_APPLIANCE_SMTP_PORT": str(sink.port),
           "SCIM_APPLIANCE_SMTP_SECURITY": "none", "SCIM_APPLIANCE_SMTP_TIMEOUT": "5",
           "SCIM_APPLIANCE_NOTIFY_FROM": "scim@contoso.com",
           "SCIM_APPLIANCE_NOTIFY_TO": "admin@contoso.com",
           "SCIM_APPLIANCE_NOTIFY_DIGEST_SECONDS": str(WINDOW)}
    root = tmp_path_factory.mktemp("nodes")
    a = RunningAppliance(root / "a", env)
    b = RunningAppliance(root / "b", env)
    a.start()
    b.cli("init")  # its own instance folder; the database is already at head
    b.token = a.token
    b.serve()
    yield a, b, url
    a.stop()
    b.stop()


def scim(node, token=None) -> tuple[requests.Session, str]:
    http = node.session()
    if token is not None:
        http.headers["Authorization"] = f"Bearer {token}"
    return http, f"{node.base}/scim"


def test_a_token_issued_on_one_node_works_on_all_and_a_replaced_one_on_none(nodes):
    a, b, _ = nodes
    old = a.token
    for node in (a, b):
        http, base = scim(node, old)
        assert http.get(f"{base}/Users").status_code == 200
    new = b.cli("token", "issue").splitlines()[-1]  # issued through the other node
    try:
        for node in (a, b):
            assert scim(node, old)[0].get(f"{scim(node)[1]}/Users").status_code == 401
            assert scim(node, new)[0].get(f"{scim(node)[1]}/Users").status_code == 200
    finally:
        a.token = b.token = new


def test_the_sync_switch_holds_on_every_node(nodes):
    a, b, _ = nodes
    a.cli("sync", "disable")
    try:
        for node in (a, b):
            http, base = scim(node)
            refused = http.get(f"{base}/Users")
            assert refused.status_code == 403 and "disabled" in refused.json()["detail"]
    finally:
        b.cli("sync", "enable")
    for node in (a, b):
        http, base = scim(node)
        assert http.get(f"{base}/Users").status_code == 200


def test_a_duplicate_create_split_across_nodes_gets_exactly_one_201(nodes):
    a, b, _ = nodes
    sessions = [scim(a), scim(b)]
    for round_ in range(15):
        body = json.dumps({"schemas": [USER], "userName": f"twin{round_}@contoso.com"})
        start = threading.Barrier(2)

        def post(index, body=body, start=start):
            http, base = sessions[index]
            start.wait()
            return http.post(f"{base}/Users", data=body).status_code

        with ThreadPoolExecutor(2) as pool:
            statuses = sorted(pool.map(post, range(2)))
        assert statuses == [201, 409], (round_, statuses)
    http, base = sessions[1]
    found = http.get(f"{base}/Users", params={"filter": 'userName eq "twin3@contoso.com"'})
    assert found.json()["totalResults"] == 1


def test_member_patches_through_both_nodes_lose_nothing(nodes):
    a, b, _ = nodes
    http, base = scim(a)
    group = http.post(f"{base}/Groups", data=json.dumps(
        {"schemas": [GROUP], "displayName": "Both nodes"})).json()
    ids = [http.post(f"{base}/Users", data=json.dumps(
        {"schemas": [USER], "userName": f"member{i}@contoso.com"})).json()["id"]
        for i in range(60)]
    local = threading.local()

    def add(index):
        node = (a, b)[index % 2]
        if not hasattr(local, "s"):
            local.s = {n.base: scim(n)[0] for n in (a, b)}
        return local.s[node.base].patch(
            f"{node.base}/scim/Groups/{group['id']}",
            data=json.dumps({"schemas": [PATCH], "Operations": [
                {"op": "add", "path": "members", "value": [{"value": ids[index]}]}]})
        ).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(add, range(len(ids))))
    assert statuses == [204] * len(ids)
    final = scim(b)[0].get(f"{b.base}/scim/Groups/{group['id']}").json()
    assert sorted(m["value"] for m in final["members"]) == sorted(ids)
    assert final["meta"]["version"] == f'W/"{1 + len(ids)}"'  # one version per write


def test_failures_through_both_nodes_are_mailed_once_in_one_digest_each(nodes, sink):
    a, b, url = nodes
    http, base = scim(a)  # its own user: under xdist this test may run on its own
    assert http.post(f"{base}/Users", data=json.dumps(
        {"schemas": [USER], "userName": "mailed.twin@contoso.com"})).status_code == 201
    for index in range(20):  # 409s: failures the administrator is told about
        node = (a, b)[index % 2]
        http, base = scim(node)
        assert http.post(f"{base}/Users", data=json.dumps(
            {"schemas": [USER], "userName": "mailed.twin@contoso.com"})).status_code == 409
    engine = create_engine(url)
    try:
        deadline = threading.Event()
        for _ in range(300):  # the digest window is 1 s; both nodes' workers tick
            with engine.connect() as conn:
                pending = conn.execute(select(func.count()).where(
                    ProvisioningLogEntry.notify_pending.is_(True))).scalar_one()
                claimed = conn.execute(select(func.count()).where(
                    ProvisioningLogEntry.digest_id.is_not(None))).scalar_one()
            if pending == 0 and claimed >= 20:
                break
            deadline.wait(0.1)
        deadline.wait(3 * WINDOW)  # a second digest of the same failures would come now
        with engine.connect() as conn:
            digests = conn.execute(select(NotificationDigest.id, NotificationDigest.message_id,
                                          NotificationDigest.state)).all()
            used = set(conn.execute(select(ProvisioningLogEntry.digest_id).distinct().where(
                ProvisioningLogEntry.digest_id.is_not(None))).scalars())
            mailed = conn.execute(select(func.count()).where(
                ProvisioningLogEntry.digest_id.is_not(None))).scalar_one()
    finally:
        engine.dispose()
    with sink.lock:
        messages = [message for _, message in sink.messages]
    assert pending == 0 and mailed == claimed
    assert {d.state for d in digests} == {"sent"}
    ids = [m["Message-ID"] for m in messages]
    assert sorted(ids) == sorted(d.message_id for d in digests)  # one mail per digest
    assert len(set(ids)) == len(ids)
    assert used <= {d.id for d in digests}  # each failure claimed by one mailed digest


def _holders(engine, name: str) -> int:
    """Sessions holding the advisory lock of Lease `name` (bigint key: classid is its
    high 32 bits, objid its low 32, objsubid 1)."""
    key = Lease(engine, name).key & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND classid = :high AND objid = :low AND objsubid = 1"),
            {"high": key >> 32, "low": key & 0xFFFFFFFF}).scalar_one()


def test_one_node_holds_the_email_and_pruning_leases(nodes):
    """Both nodes wrote log entries (so both asked for the pruning lease) and both run a
    failure-email worker: one of them holds each lease, the other does that work only
    when the holder goes."""
    _, _, url = nodes
    engine = create_engine(url)
    try:
        assert _holders(engine, NOTIFY_LEASE) == 1
        assert _holders(engine, PRUNE_LEASE) == 1
    finally:
        engine.dispose()


def test_the_lease_has_one_holder_among_nodes_and_passes_on_when_it_goes(nodes):
    """The failure email and the hourly pruning run where this lease is held."""
    _, _, url = nodes
    first, second = create_engine(url), create_engine(url)
    one, other = Lease(first, "scim_appliance.test"), Lease(second, "scim_appliance.test")
    try:
        assert one.held() and one.held()
        assert not other.held()
        one.release()  # a node stopping (or dying: its connection closes)
        assert other.held()
        assert not one.held()
    finally:
        one.release()
        other.release()
        first.dispose()
        second.dispose()
