"""The userid migration (issue 6): legacy AD usernames -> email-based user IDs.

Over a directory of thousands of legacy users (tests/legacy_directory.py: prefixes,
missing emails, mixed case, already converted, old domains, conflicts): the plan, the
batched apply, an interrupted run resumed, revert, and a live appliance that keeps
serving SCIM requests while the script runs, after which Entra's match by userName
finds the converted accounts (entra-provisioning.md §6.1).
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

from scim_appliance.domain.accounts import userid_apply
from scim_appliance.domain.accounts.userid_apply import Change, apply_changes
from scim_appliance.domain.accounts.userid_migration import (
    CONFLICT,
    CONVERT,
    DONE,
    UNRESOLVED,
    MigrationOptions,
    build_plan,
    propose,
)
from scim_appliance.domain.names.policy import DEFAULT_RULES
from scim_appliance.storage.backup import BackupUnsupported, backup_database
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import NameAdjustment, ProvisioningLogEntry, User
from tests.appliance_server import RunningAppliance
from tests.conftest import OTHER_DATABASE

from .legacy_directory import insert_users, legacy_users

N = 2000
SCRIPT = Path(__file__).parents[2] / "scripts" / "convert_userids_to_email.py"
APP_USER = "urn:scim-appliance:schemas:extension:appliance:2.0:User"
ARGS = ("--domain", "contoso.com", "--rename-domain", "contoso.local=contoso.com")
OPTIONS = MigrationOptions(domain="contoso.com",
                           rename_domains=(("contoso.local", "contoso.com"),))


def _work(email, primary=None):
    out = {"value": email, "type": "work"}
    if primary is not None:
        out["primary"] = primary
    return out


# -- the mapping -----------------------------------------------------------------------
@pytest.mark.parametrize("user_name, emails, options, expected", [
    ("jdoe", [_work("john.doe@contoso.com")], MigrationOptions(), "john.doe@contoso.com"),
    ("jdoe", [{"value": "home@x.com", "type": "home"}, {"value": "p@contoso.com",
                                                        "primary": True}],
     MigrationOptions(), "p@contoso.com"),
    ("jdoe", [{"value": "home@x.com", "type": "home"}], MigrationOptions(), None),
    ("CONTOSO\\JDoe", [], MigrationOptions(domain="contoso.com"), "JDoe@contoso.com"),
    ("jdoe", [_work("n/a")], MigrationOptions(domain="contoso.com"), "jdoe@contoso.com"),
    ("jdoe", [_work("n/a")], MigrationOptions(), None),
    ("jdoe", [_work("jdoe@contoso.local")], OPTIONS, "jdoe@contoso.com"),
    ("jdoe@CONTOSO.LOCAL", [], OPTIONS, "jdoe@contoso.com"),
    ("jdoe@contoso.com", [_work("other@contoso.com")], OPTIONS, "jdoe@contoso.com"),
    ("jdoe@contoso.com", [_work("other@contoso.com")],
     MigrationOptions(include_emails=True), "other@contoso.com"),
    ("old@legacy.example", [], MigrationOptions(domain="contoso.com", include_emails=True),
     "old@contoso.com"),
    ("CONTOSO\\jdoe@contoso.com", [], MigrationOptions(), "jdoe@contoso.com"),
    ("jdoe@contoso", [], MigrationOptions(domain="contoso.com"), "jdoe@contoso.com"),
])
def test_propose(user_name, emails, options, expected):
    new, reason = propose(user_name, emails, options)
    assert new == expected, reason
    assert reason


def test_options_refuse_chained_domain_renames_and_bad_domains():
    with pytest.raises(ValueError, match="both a new and an old"):
        MigrationOptions(rename_domains=(("a.example", "b.example"), ("b.example", "c.example")))
    with pytest.raises(ValueError, match="not a domain"):
        MigrationOptions(domain="contoso")


def test_plan_statuses_and_conflicts():
    accounts = [
        ("1", "jdoe", [_work("j@contoso.com")], "local"),
        ("2", "JDOE2", [_work("J@contoso.com")], "local"),  # same target, other case
        ("3", "taken@contoso.com", [], "scim"),
        ("4", "t", [_work("TAKEN@contoso.com")], "local"),
        ("5", "ok", [], "local"),
        ("6", "Done@Contoso.com", [_work("done@contoso.com")], "local"),
        ("7", "bad", [_work("o'brien@contoso.com")], "local"),
        ("8", "noemail", [], "local"),
    ]
    plan = build_plan(accounts, MigrationOptions(domain="contoso.com", include_emails=True),
                      DEFAULT_RULES)
    by_id = {i.id: i for i in plan.items}
    assert by_id["1"].status == by_id["2"].status == CONFLICT
    assert "2 users would become" in by_id["1"].problem
    assert by_id["3"].status == DONE
    assert by_id["4"].status == CONFLICT and "already the userName of user 3" in by_id["4"].problem
    assert (by_id["5"].status, by_id["5"].new) == (CONVERT, "ok@contoso.com")
    assert by_id["6"].status == DONE  # differs only in case: Entra's match finds it
    assert by_id["7"].status == CONFLICT and "breaks the 'cloudsso'" in by_id["7"].problem
    sanitizing = build_plan(accounts, MigrationOptions(domain="contoso.com",
                                                       allow_sanitized=True), DEFAULT_RULES)
    assert {i.id: i.status for i in sanitizing.items}["7"] == CONVERT
    unresolved = build_plan(accounts[-1:], MigrationOptions(), DEFAULT_RULES)
    assert unresolved.items[0].status == UNRESOLVED
    only_scim = build_plan(accounts, MigrationOptions(domain="contoso.com",
                                                      sources=("scim",)), DEFAULT_RULES)
    assert only_scim.counts()["excluded"] == 7


# -- against a database of thousands ---------------------------------------------------
@pytest.fixture
def directory(app):
    users = legacy_users(N)
    with app.app_context():
        insert_users(db.engine, users)
    return users


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=["migrate-userids", *args])
    return invoke


def _snapshot(app) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(select(User.id, User.user_name, User.user_name_ci,
                                         User.data, User.sanitized_user_name,
                                         User.sanitized_user_name_key, User.source))
        return {r[0]: tuple(r[1:]) for r in rows}


def _assert_consistent(snapshot: dict[str, tuple], users) -> int:
    """Every user is either untouched or fully converted; returns how many converted."""
    converted = 0
    for user in users:
        name, name_ci, data, derived, *_ = snapshot[user.id]
        assert data["userName"] == name and name_ci == name.lower()
        if name != user.user_name:
            assert name == user.expect, (user.user_name, name)
            converted += 1
    return converted


def test_dry_run_prints_the_plan_and_changes_nothing(app, directory, cli, tmp_path):
    before = _snapshot(app)
    result = cli(*ARGS, "--plan-out", str(tmp_path / "plan.csv"))
    assert result.exit_code == 0, result.output
    convert = sum(1 for u in directory if u.kind not in ("done", "conflict"))
    assert f"Plan: {convert} to convert, {N // 10 + 1} already done, 0 unresolved, " \
           "4 conflicts." in result.output
    assert "[convert] CONTOSO\\user0 -> user0@contoso.com" in result.output
    assert "[conflict] obrien -> o'brien@contoso.com" in result.output
    with open(tmp_path / "plan.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(directory)
    assert {r["status"] for r in rows} == {"convert", "done", "conflict"}
    assert _snapshot(app) == before
    as_json = cli(*ARGS, "--plan-out", str(tmp_path / "plan.json"))
    assert as_json.exit_code == 0
    assert json.loads((tmp_path / "plan.json").read_text())["summary"]["conflict"] == 4
    strict = cli(*ARGS, "--strict", "--apply")
    assert strict.exit_code == 1 and "refused (--strict): 4 conflicts" in strict.output
    assert _snapshot(app) == before
    assert not list(Path(app.instance_path).glob("*.db"))  # not even a backup


# PostgreSQL has no automatic backup (pg_dump is the operator's): the run says so and
# needs --no-backup there; on SQLite the backup is checked below.
NO_BACKUP = ("--no-backup",) if OTHER_DATABASE else ()


def test_apply_then_revert_restores_the_original_ids_exactly(app, directory, cli):
    before = _snapshot(app)
    result = cli(*ARGS, "--apply", "--pause", "0", *NO_BACKUP)
    assert result.exit_code == 0, result.output
    convert = sum(1 for u in directory if u.kind not in ("done", "conflict"))
    assert f"Summary: converted {convert}, already done {N // 10 + 1}, skipped 0, " \
           "conflicts 4, failed 0" in result.output
    after = _snapshot(app)
    assert _assert_consistent(after, directory) == convert
    for user in directory:
        old, new = before[user.id], after[user.id]
        if user.kind == "conflict":
            assert new == old
        assert new[3:] == old[3:]  # the derived name and the source never change
    with app.app_context():
        versions = dict(db.session.execute(select(User.id, User.version)).all())
        logged = db.session.execute(select(func.count()).where(
            ProvisioningLogEntry.action == "renamed")).scalar_one()
    assert sum(v == 2 for v in versions.values()) == convert
    assert logged == convert
    if not OTHER_DATABASE:  # the backup is the database as it was
        backup, = (Path(app.instance_path) / "backups").glob("*-before-userid-migration-*.db")
        with sqlite3.connect(backup) as conn:
            names = dict(conn.execute("SELECT id, user_name FROM users"))
        assert names == {i: v[0] for i, v in before.items()}
    undo = Path(app.instance_path) / "userid-migration-undo.csv"
    assert len(undo.read_text().splitlines()) == convert + 1
    # idempotent: a second run finds nothing to do
    again = cli(*ARGS, "--apply", *NO_BACKUP)
    assert "Plan: 0 to convert" in again.output and again.exit_code == 0
    # revert is a dry run first, then exact
    dry = cli("--revert", str(undo))
    assert f"Revert plan: {convert} to restore" in dry.output and _snapshot(app) == after
    reverted = cli("--revert", str(undo), "--apply", "--pause", "0", *NO_BACKUP)
    assert reverted.exit_code == 0, reverted.output
    assert f"restored {convert}," in reverted.output
    restored = _snapshot(app)
    assert {i: v[:3] for i, v in restored.items()} == {i: v[:3] for i, v in before.items()}
    assert {i: v[4:] for i, v in restored.items()} == {i: v[4:] for i, v in before.items()}


def test_an_interrupted_run_leaves_whole_users_and_the_next_run_finishes(app, directory, cli):
    before = _snapshot(app)

    class Crash(Exception):
        pass

    def crash_after_four(batch):
        if batch == 4:
            raise Crash

    with app.app_context():
        from scim_appliance.domain.accounts.userid_migration import plan_from_database

        plan = plan_from_database(db.session, OPTIONS, DEFAULT_RULES)
        db.session.remove()
        undo = userid_apply.UndoFile(Path(app.instance_path) / "userid-migration-undo.csv")
        with pytest.raises(Crash):
            apply_changes(db.engine, [Change(i.id, i.old, i.new) for i in plan.changes],
                          rules=DEFAULT_RULES, run="crashing", undo=undo, batch_size=200,
                          pause=0, after_batch=crash_after_four)
        undo.close()
    assert _assert_consistent(_snapshot(app), directory) == 800
    resumed = cli(*ARGS, "--apply", "--pause", "0", *NO_BACKUP)
    assert resumed.exit_code == 0, resumed.output
    remaining = len(plan.changes) - 800
    assert f"Plan: {remaining} to convert, {N // 10 + 1 + 800} already done" in resumed.output
    assert _assert_consistent(_snapshot(app), directory) == len(plan.changes)
    # one undo file for both runs; reverting it undoes both
    undo_path = Path(app.instance_path) / "userid-migration-undo.csv"
    assert cli("--revert", str(undo_path), "--apply", "--pause", "0",
               *NO_BACKUP).exit_code == 0
    assert {i: v[:3] for i, v in _snapshot(app).items()} == \
        {i: v[:3] for i, v in before.items()}


def test_changes_made_by_entra_after_the_plan_win(app, scim):
    """The plan is a snapshot; inside each batch the user is re-read under the lock."""
    with app.app_context():
        insert_users(db.engine, legacy_users(20))
        from scim_appliance.domain.accounts.userid_migration import plan_from_database

        plan = plan_from_database(db.session, OPTIONS, DEFAULT_RULES)
        db.session.remove()
    changes = {i.old: i for i in plan.changes}
    # Entra creates a user with one planned ID and renames another planned user
    make = scim.post("/scim/Users", {"userName": changes["u1"].new})
    assert make.status_code == 201
    renamed = scim.patch(f"/scim/Users/{changes['user4'].id}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": "x@contoso.com"}]})
    assert renamed.status_code == 200
    with app.app_context():
        report = apply_changes(db.engine, [Change(i.id, i.old, i.new) for i in plan.changes],
                               rules=DEFAULT_RULES, run="late", batch_size=7, pause=0)
    by_old = {o.change.old: o for o in report.outcomes}
    assert by_old["u1"].status == "failed" and "already taken" in by_old["u1"].detail
    assert by_old["user4"].status == "skipped" and "changed since the plan" in \
        by_old["user4"].detail
    assert report.counts()["converted"] == len(plan.changes) - 2
    assert report.batches == 3 and len(report.holds) == 3


def test_revert_leaves_alone_users_changed_since(app, scim, cli):
    with app.app_context():
        insert_users(db.engine, legacy_users(20))
    assert cli(*ARGS, "--apply", "--no-backup").exit_code == 0
    moved = scim.get("/scim/Users", query_string={
        "filter": 'userName eq "first.last1@contoso.com"'}).get_json()["Resources"][0]
    renamed = scim.patch(f"/scim/Users/{moved['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": "f.l@contoso.com"}]})
    assert renamed.status_code == 200
    undo = Path(app.instance_path) / "userid-migration-undo.csv"
    result = cli("--revert", str(undo), "--apply", "--no-backup")
    assert result.exit_code == 0
    assert "[skipped] first.last1@contoso.com -> u1  the userName is now 'f.l@contoso.com'" \
        in result.output
    assert scim.get(f"/scim/Users/{moved['id']}").get_json()["userName"] == "f.l@contoso.com"


def test_name_rules_in_reject_mode(app, cli):
    app.config["NAME_RULES_MODE"] = "reject"
    with app.app_context():
        insert_users(db.engine, legacy_users(10))
    refused = cli(*ARGS, "--allow-sanitized")
    assert refused.exit_code == 1 and "needs NAME_RULES_MODE sanitize" in refused.output
    result = cli(*ARGS, "--apply", "--no-backup")
    assert result.exit_code == 0
    assert "[conflict] obrien -> o'brien@contoso.com" in result.output
    assert "breaks the 'cloudsso' name rule" in result.output


def test_sanitize_mode_may_convert_names_the_rules_would_adjust(app, cli):
    with app.app_context():
        insert_users(db.engine, legacy_users(10))
    result = cli(*ARGS, "--allow-sanitized", "--apply", "--no-backup")
    assert result.exit_code == 0, result.output
    with app.app_context():
        obrien = db.session.execute(select(User).where(
            User.user_name == "o'brien@contoso.com")).scalar_one()
        kept = db.session.execute(select(NameAdjustment).where(
            NameAdjustment.resource_id == obrien.id)).scalars().all()
    assert obrien.sanitized_user_name == "obrien"  # derived once, never changed
    assert [a.reason for a in kept] == ["kept"]


def test_backup_needs_a_sqlite_file(tmp_path):
    with pytest.raises(BackupUnsupported, match="--no-backup"):
        backup_database(create_engine("sqlite://"), tmp_path, "x")


# -- a live appliance ------------------------------------------------------------------
def _env(instance):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    env["SCIM_APPLIANCE_INSTANCE_PATH"] = str(instance)
    return env


class Traffic(threading.Thread):
    """Entra-like requests in a loop: match by userName, create, update."""

    def __init__(self, server, names):
        super().__init__(daemon=True)
        self.server, self.names = server, names
        self.stop = threading.Event()
        self.results: list[tuple[str, int, float]] = []

    def _timed(self, method, call, *args, **kwargs):
        started = time.perf_counter()
        resp = call(*args, timeout=30, **kwargs)
        self.results.append((method, resp.status_code, time.perf_counter() - started))
        return resp

    def run(self):
        http, scim = self.server.session(), f"{self.server.base}/scim"
        n = 0
        while not self.stop.is_set():
            n += 1
            name = self.names[n % len(self.names)]
            self._timed("GET", http.get, f"{scim}/Users",
                        params={"filter": f'userName eq "{name}"'})
            created = self._timed("POST", http.post, f"{scim}/Users", json={
                "userName": f"new{uuid.uuid4().hex[:12]}@contoso.com"})
            if created.status_code == 201:
                self._timed("PATCH", http.patch, f"{scim}/Users/{created.json()['id']}", json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})


def _migrate(instance, *args):
    return subprocess.Popen([sys.executable, str(SCRIPT), *ARGS, *args], env=_env(instance),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_live_appliance_serves_requests_while_the_script_runs_and_survives_a_kill(tmp_path):
    instance = tmp_path / "instance"
    server = RunningAppliance(instance, database="sqlite").start()
    try:
        users = legacy_users(1500)
        engine = create_engine(f"sqlite:///{instance / 'scim-appliance.db'}")
        insert_users(engine, users)
        engine.dispose()
        traffic = Traffic(server, [u.expect or u.user_name for u in users[:50]])
        traffic.start()
        # first run (default batch size and pause): killed (SIGKILL, no clean-up) once
        # a batch has committed, most likely in the middle of the next one
        first = _migrate(instance, "--apply")
        for line in first.stderr:
            if line.startswith("migrate-userids:"):
                break
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        snapshot = sqlite3.connect(instance / "scim-appliance.db")
        rows = {i: (n, ci, json.loads(d)["userName"]) for i, n, ci, d in
                snapshot.execute("SELECT id, user_name, user_name_ci, data FROM users")}
        snapshot.close()
        partial = 0
        for user in users:
            name, name_ci, doc_name = rows[user.id]
            assert doc_name == name and name_ci == name.lower()
            assert name in (user.user_name, user.expect)
            partial += name != user.user_name
        assert 0 < partial < 1300
        # second run: finishes the job while requests keep coming
        second = _migrate(instance, "--apply")
        out, err = second.communicate(timeout=120)
        traffic.stop.set()
        traffic.join(timeout=30)
        assert second.returncode == 0, err
        assert "already done" in out and "failed 0" in out
        print(out.splitlines()[-1])  # batches, users/s, longest write-lock hold
        statuses = {(m, s) for m, s, _ in traffic.results}
        assert statuses <= {("GET", 200), ("POST", 201), ("PATCH", 200)}, statuses
        assert len(traffic.results) >= 30
        # How long a request waited is a figure, not an assertion (it follows the
        # machine's load; scripts/ measure speed): every request above was answered.
        slowest = max(t for _, _, t in traffic.results)
        print(f"{len(traffic.results)} requests during the runs, slowest {slowest:.3f} s")

        http, scim = server.session(), f"{server.base}/scim"
        # Entra's match by userName now finds the converted accounts
        for user in users[:30]:
            if user.kind == "conflict":
                continue
            found = http.get(f"{scim}/Users", params={
                "filter": f'userName eq "{user.expect.lower()}"'}).json()
            assert [r["id"] for r in found["Resources"]] == [user.id], user.expect
        # and its POST adopts a converted local account (same id, no duplicate)
        adopted = http.post(f"{scim}/Users", json={
            "userName": "first.last1@contoso.com", "externalId": "entra-1",
            "emails": [{"value": "first.last1@contoso.com", "type": "work"}]})
        assert adopted.status_code == 201
        assert adopted.json()["id"] == users[1].id
        assert adopted.json()[APP_USER]["source"] == "scim"
        again = http.post(f"{scim}/Users", json={"userName": "First.Last1@contoso.com"})
        assert again.status_code == 409 and again.json()["scimType"] == "uniqueness"
    finally:
        server.stop()
