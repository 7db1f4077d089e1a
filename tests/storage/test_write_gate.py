"""Writers in one process queue on the write gate (storage/database.py), not in SQLite's
sleeping busy handler, and every write gives the gate back."""

from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from scim_appliance.storage.database import _gate_for, write_intent
from scim_appliance.storage.extensions import db
from tests.conftest import make_user
from tests.pg import sqlite_only


def _gate(app):
    with app.app_context():
        return _gate_for(db.engine.url.database)


def test_each_write_request_gives_the_gate_back(app, scim):
    gate = _gate(app)
    user = make_user(scim, "a@contoso.com")
    assert not gate.locked()
    assert scim.post("/scim/Users", {"userName": "A@contoso.com"}).status_code == 409
    assert not gate.locked()
    assert scim.patch(f"/scim/Users/{user['id']}", {"Operations": [
        {"op": "replace", "path": "nope", "value": 1}]}).status_code == 400
    assert not gate.locked()
    assert scim.delete(f"/scim/Users/{user['id']}").status_code == 204
    assert not gate.locked()


@sqlite_only("the write gate; PostgreSQL uses row locks, tests/postgres")
def test_a_second_writer_waits_for_the_first_to_commit(app):
    gate = _gate(app)
    order = []
    with app.app_context():
        engine = db.engine
    first_began = threading.Event()

    def second():
        first_began.wait()
        with write_intent(), Session(engine) as session, session.begin():
            session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: only after the first
            order.append("second")

    thread = threading.Thread(target=second)
    thread.start()
    with write_intent(), Session(engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        assert gate.locked()
        first_began.set()
        thread.join(0.3)
        assert thread.is_alive()  # queued on the gate, not running beside us
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"] and not gate.locked()


def test_concurrent_creates_all_succeed(app, token):
    from tests.conftest import ScimClient

    results = []

    def create(n):
        client = ScimClient(app.test_client(), token)
        for i in range(10):
            results.append(client.post("/scim/Users",
                                       {"userName": f"u{n}-{i}@contoso.com"}).status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [201] * 60
    assert not _gate(app).locked()


HOLDER = """
import sys, time
from sqlalchemy import text
from sqlalchemy.orm import Session
from scim_appliance import create_app
from scim_appliance.storage.database import write_intent
from scim_appliance.storage.extensions import db
app = create_app({"SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": sys.argv[1]})
with app.app_context():
    with write_intent(), Session(db.engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        print("held", flush=True)
        time.sleep(0.5)
    print(time.time(), flush=True)
"""


@sqlite_only("the write gate; PostgreSQL uses row locks, tests/postgres")
def test_another_process_waits_on_the_gate_file_not_the_busy_handler(app):
    """`serve` workers and the CLI share the gate through an flock on `<db>-gate`."""
    import subprocess
    import sys
    import time
    from pathlib import Path

    with app.app_context():
        engine, url = db.engine, db.engine.url
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(url)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    assert Path(f"{url.database}-gate").exists()
    with write_intent(), Session(engine) as session, session.begin():
        session.execute(text("SELECT 1"))
        began = time.time()
    released = float(holder.stdout.readline())
    holder.wait(10)
    assert began >= released - 0.01  # after the holder's commit, and promptly
    assert began - released < 0.05  # SQLite's busy handler sleeps in steps up to 100 ms


def test_the_gate_is_free_once_the_write_commits_and_searches_never_take_it(app, scim):
    """The response of a write (a user's `groups`, a group's `members`) is read after
    the commit without the gate; POST .search is a read. Both once held it (and
    SQLite's write lock) until the request ended."""
    gate = _gate(app)
    held = []

    @app.after_request
    def _record(response):
        held.append(gate.locked())
        return response

    user = make_user(scim, "a@contoso.com")
    group = scim.post("/scim/Groups", {"displayName": "G", "members": [{"value": user["id"]}]})
    assert group.status_code == 201
    patch = {"Operations": [{"op": "replace", "path": "displayName", "value": "A"}]}
    assert scim.patch(f"/scim/Users/{user['id']}", patch).status_code == 200
    assert scim.put(f"/scim/Users/{user['id']}", {"userName": "a@contoso.com"}).status_code == 200
    assert scim.post("/scim/Users/.search", {"filter": 'displayName pr'}).status_code == 200
    assert held == [False] * 5
