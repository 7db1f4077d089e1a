"""`backup` while Entra writes, `restore` with its refusals, and the retention of the
backups the appliance takes itself: real files, a real server."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from scim_appliance.storage import backup as backups
from scim_appliance.storage import migrations
from tests.appliance_server import RunningAppliance
from tests.conftest import OTHER_DATABASE
from tests.storage.test_migrations import RELEASES, counts, run

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


class Writer(threading.Thread):
    """Entra creating users as fast as it can; remembers which were acknowledged when."""

    def __init__(self, appliance: RunningAppliance):
        super().__init__(daemon=True)
        self.http = appliance.session()
        self.url = f"{appliance.base}/scim/Users"
        self.acknowledged: list[str] = []
        self.failures: list[str] = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            name = f"u-{uuid.uuid4().hex[:10]}@contoso.com"
            resp = self.http.post(self.url, json={"schemas": [CORE], "userName": name})
            if resp.status_code == 201:
                self.acknowledged.append(resp.json()["id"])
            else:
                self.failures.append(f"{resp.status_code} {resp.text[:200]}")


def test_backup_while_entra_writes_and_restore_serves_everything_acknowledged_before(
        tmp_path):
    instance = tmp_path / "instance"
    appliance = RunningAppliance(instance, database="sqlite").start()
    writer = Writer(appliance)
    try:
        writer.start()
        while len(writer.acknowledged) < 50:
            writer.stop.wait(0.05)
        before_backup = list(writer.acknowledged)
        out = appliance.cli("backup")
        after_backup = len(writer.acknowledged)
        while len(writer.acknowledged) < after_backup + 20:  # writes went on meanwhile
            writer.stop.wait(0.05)
        writer.stop.set()
        writer.join(timeout=30)
        assert writer.failures == []
        path = Path(out.strip().splitlines()[-1])
        assert path.parent == instance / "backups"
        assert path.name.startswith("scim-appliance-") and path.name.endswith("Z.db")
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert not Path(f"{path}-wal").exists()  # one self-contained file
        refused = run(instance, "restore", str(path), check=False)
        assert refused.returncode == 1
        assert "serving" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    finally:
        appliance.stop()
    live_users = counts(instance / "scim-appliance.db")["users"]
    assert live_users >= after_backup + 20
    out = run(instance, "restore", str(path)).stdout
    assert "Restored" in out and "kept at" in out
    aside = next((instance / "backups").glob("scim-appliance-before-restore-*.db"))
    assert counts(aside)["users"] == live_users  # nothing is thrown away
    restored = RunningAppliance(instance, database="sqlite")
    restored.token = appliance.token  # the same Secret Token
    restored.serve()
    try:
        http = restored.session()
        for user_id in before_backup:
            assert http.get(f"{restored.base}/scim/Users/{user_id}").status_code == 200
        assert http.get(f"{restored.base}/scim/Users/{writer.acknowledged[-1]}"
                        ).status_code == 404  # written after the backup
    finally:
        restored.stop()


def test_restore_upgrades_an_older_backup_and_refuses_what_it_cannot_use(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    database = instance / "scim-appliance.db"
    old = tmp_path / "from-0.1.0.db"
    shutil.copyfile(RELEASES / "release-0.1.0.db", old)
    out = run(instance, "restore", str(old)).stdout
    assert "5 users, 3 groups" in out and migrations.head() in out
    assert migrations.engine_status(sa.create_engine(f"sqlite:///{database}")).at_head
    assert counts(old) == counts(RELEASES / "release-0.1.0.db")  # the backup is untouched
    before = database.read_bytes()

    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    foreign = tmp_path / "foreign.db"
    con = sqlite3.connect(foreign)
    con.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    con.commit()
    con.close()
    future = tmp_path / "future.db"
    shutil.copyfile(database, future)
    con = sqlite3.connect(future)
    con.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    con.commit()
    con.close()
    for path, reason in ((garbage, "not a usable SQLite database"),
                         (foreign, "not a scim-appliance schema"),
                         (future, "0099_from_the_future"),
                         (tmp_path / "missing.db", "no such file")):
        proc = run(instance, "restore", str(path), check=False)
        assert proc.returncode == 1, path
        assert reason in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert database.read_bytes() == before
    assert not list(instance.glob(".*restoring*"))


def test_automatic_backups_are_pruned_to_backup_keep_and_manual_ones_never(tmp_path):
    database = tmp_path / "scim-appliance.db"
    engine = sa.create_engine(f"sqlite:///{database}")
    migrations.upgrade(engine)
    folder = tmp_path / "backups"
    manual = backups.copy_sqlite(database, folder / backups.backup_name(database))
    made = [backups.automatic_backup(engine, folder, reason, keep=2)
            for reason in (backups.BEFORE_UPGRADE, backups.BEFORE_USERID_MIGRATION,
                           backups.BEFORE_RESTORE)]
    assert sorted(folder.glob("*.db")) == sorted([manual, *made[1:]])
    backups.automatic_backup(engine, folder, backups.BEFORE_UPGRADE, keep=0)  # 0 keeps all
    assert len(list(folder.glob("*.db"))) == 4


def test_a_backup_never_overwrites_a_file(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    target = tmp_path / "mine.db"
    target.write_text("precious")
    proc = run(instance, "backup", str(target), check=False)
    assert proc.returncode == 1 and "already exists" in proc.stderr
    assert target.read_text() == "precious"


@pytest.mark.skipif(not (OTHER_DATABASE or "").startswith("postgresql"),
                    reason="SCIM_APPLIANCE_TEST_DATABASE_URL names no PostgreSQL database")
def test_on_postgresql_backup_runs_pg_dump_or_says_how(tmp_path):
    instance = tmp_path / "instance"
    env = {"SCIM_APPLIANCE_SQLALCHEMY_DATABASE_URI": OTHER_DATABASE}
    run(instance, "init", env=env)
    target = tmp_path / "appliance.dump"
    if shutil.which("pg_dump"):
        out = run(instance, "backup", str(target), env=env).stdout
        assert out.strip().splitlines()[-1] == str(target)
        assert target.stat().st_size > 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
    proc = run(instance, "backup", str(tmp_path / "other.dump"), check=False,
               env={**env, "PATH": "/nonexistent"})
    assert proc.returncode == 1 and "pg_dump -Fc" in proc.stderr
    assert "pg_restore" in run(instance, "restore", str(target), check=False, env=env).stderr
