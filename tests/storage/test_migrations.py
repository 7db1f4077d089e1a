"""Schema migrations on real files: every revision both ways, the models pinned to the
migrations, databases from before migrations recognised, and the operator commands."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

import scim_appliance.storage.database  # noqa: F401  (SQLite settings)
from scim_appliance.storage import migrations
from scim_appliance.storage.models import Base
from tests.conftest import FIXTURES, OTHER_DATABASE

RELEASES = FIXTURES / "releases"
TABLES = ("users", "groups", "memberships", "appliance_state", "provisioning_log",
          "notification_digests", "name_adjustments")


def sqlite_engine(path: Path) -> sa.Engine:
    return sa.create_engine(f"sqlite:///{path}")


def counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(path)
    try:
        present = {row[0] for row in con.execute("SELECT name FROM sqlite_master")}
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in TABLES if t in present}
    finally:
        con.close()


def run(instance: Path, *args, check=True, env=None):
    full = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    full.update({"SCIM_APPLIANCE_INSTANCE_PATH": str(instance), **(env or {})})
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", *args], env=full,
                          capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def release_instance(tmp_path: Path, name: str) -> tuple[Path, dict]:
    """An instance folder holding a database written by an old release's own code."""
    fixture = json.loads((RELEASES / f"{name}.json").read_text(encoding="utf-8"))
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(f"SECRET_KEY = {fixture['secret_key']!r}\n")
    shutil.copyfile(RELEASES / f"{name}.db", instance / "scim-appliance.db")
    return instance, fixture


def test_every_revision_upgrades_and_downgrades_on_a_real_sqlite_file(tmp_path):
    engine = sqlite_engine(tmp_path / "steps.db")
    previous = "base"
    for revision in migrations.revisions():
        migrations.upgrade(engine, revision)
        assert migrations.engine_status(engine).current == revision
        migrations.downgrade(engine, previous)
        migrations.upgrade(engine, revision)
        previous = revision
    assert migrations.engine_status(engine).at_head
    migrations.downgrade(engine, "base")
    assert migrations.engine_status(engine).shape == migrations.EMPTY


def test_the_migrated_schema_is_the_models(tmp_path):
    """No model change can land without the revision that makes it."""
    engine = sqlite_engine(tmp_path / "head.db")
    migrations.upgrade(engine)
    with engine.connect() as connection:
        assert migrations.model_differences(connection) == []
    with engine.begin() as connection:  # the comparison sees a difference when there is one
        connection.exec_driver_sql("DROP INDEX ix_users_external_id")
    with engine.connect() as connection:
        assert migrations.model_differences(connection) == ["missing index ix_users_external_id"]


def test_the_baseline_is_the_schema_create_all_made_at_0_1_0(tmp_path):
    """The release fixture's schema is what 0.1.0's `init` (create_all) made."""
    made = sqlite_engine(tmp_path / "release.db")
    shutil.copyfile(RELEASES / "release-0.1.0.db", tmp_path / "release.db")
    assert migrations.engine_status(made).shape == migrations.RELEASE_0_1_0
    migrated = sqlite_engine(tmp_path / "migrated.db")
    migrations.upgrade(migrated, migrations.BASELINE)

    def ddl(engine):
        with engine.connect() as connection:
            rows = connection.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master "
                "WHERE tbl_name != 'alembic_version' ORDER BY name").all()
        return [(t, n, tbl, " ".join((sql or "").replace('"', "").split()))
                for t, n, tbl, sql in rows]

    assert ddl(migrated) == ddl(made)


@pytest.mark.parametrize("name, shape", [("release-0.1.0", migrations.RELEASE_0_1_0),
                                         ("before-name-rules", migrations.PRE_NAME_RULES)])
def test_a_database_from_before_migrations_is_recognised_and_keeps_every_row(
        tmp_path, name, shape):
    path = tmp_path / "old.db"
    shutil.copyfile(RELEASES / f"{name}.db", path)
    before = counts(path)
    engine = sqlite_engine(path)
    assert migrations.engine_status(engine).shape == shape
    report = migrations.upgrade(engine)
    assert report.adopted == shape
    assert report.after.at_head
    after = counts(path)
    assert {t: after[t] for t in before} == before
    assert migrations.check(engine) == []


def test_an_unrecognised_database_is_refused_untouched(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE users (id TEXT PRIMARY KEY, login TEXT)")
    con.commit()
    con.close()
    engine = sqlite_engine(path)
    state = migrations.engine_status(engine)
    assert state.shape == migrations.UNKNOWN
    with pytest.raises(migrations.SchemaError, match="not a scim-appliance schema"):
        migrations.upgrade(engine)
    with engine.connect() as connection:
        assert sa.inspect(connection).get_table_names() == ["users"]


def test_a_failing_revision_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    shutil.copyfile(RELEASES / "before-name-rules.db", path)
    before = counts(path)

    def explode():
        raise RuntimeError("revision failed halfway")

    baseline = migrations.script().get_revision(migrations.BASELINE).module
    monkeypatch.setattr(baseline, "create_later_tables", explode)
    with pytest.raises(RuntimeError):
        migrations.upgrade(sqlite_engine(path))
    assert counts(path) == before
    assert migrations.engine_status(sqlite_engine(path)).shape == migrations.PRE_NAME_RULES


def test_db_upgrade_backs_up_first_and_a_second_run_is_a_no_op(tmp_path):
    instance, _ = release_instance(tmp_path, "release-0.1.0")
    assert "release 0.1.0" in run(instance, "db", "current").stdout
    first = run(instance, "db", "upgrade").stdout
    backup_line = next(line for line in first.splitlines() if line.startswith("Backup: "))
    backup = Path(backup_line.removeprefix("Backup: "))
    assert backup.parent == instance / "backups"
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert counts(backup) == counts(RELEASES / "release-0.1.0.db")
    assert migrations.engine_status(sqlite_engine(backup)).shape == migrations.RELEASE_0_1_0
    assert f"Schema upgraded to {migrations.head()}" in first
    second = run(instance, "db", "upgrade").stdout
    assert "nothing to do" in second
    assert list((instance / "backups").glob("*.db")) == [backup]
    assert run(instance, "db", "current").stdout.strip() == f"revision {migrations.head()} (head)"


def test_db_upgrade_derives_the_names_of_a_database_from_before_the_name_rules(tmp_path):
    instance, fixture = release_instance(tmp_path, "before-name-rules")
    out = run(instance, "db", "upgrade").stdout
    assert "before the name rules" in out
    assert "Derived the downstream names of 8 users and groups" in out
    con = sqlite3.connect(instance / "scim-appliance.db")
    rows = dict(con.execute("SELECT user_name, sanitized_user_name FROM users").fetchall())
    assert rows["Seán.Ó'Brien@contoso.com"] == "Sean.OBrien@contoso.com"
    # the older of two names that sanitise alike keeps the plain one
    assert rows["jose@contoso.com"] == "jose@contoso.com"
    assert rows["josé@contoso.com"].startswith("jose-")
    assert None not in rows.values()
    assert run(instance, "db", "check").stdout.startswith("ok")


def test_commands_refuse_a_schema_behind_or_ahead_of_the_code_in_one_line(tmp_path):
    instance, _ = release_instance(tmp_path, "release-0.1.0")
    # serve: 78 (EX_CONFIG), which the systemd unit does not restart into (deploy/)
    for args, status in ((("serve", "--port", "1"), 78), (("token", "status"), 1)):
        proc = run(instance, *args, check=False)
        assert proc.returncode == status
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "scim-appliance db upgrade" in lines[0], proc.stderr
    run(instance, "db", "upgrade")
    con = sqlite3.connect(instance / "scim-appliance.db")
    con.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    con.commit()
    con.close()
    proc = run(instance, "serve", "--port", "1", check=False)
    assert proc.returncode == 78
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "0099_from_the_future" in lines[0]
    assert "newer than this release" in lines[0]
    upgrade = run(instance, "db", "upgrade", check=False)
    assert upgrade.returncode == 1 and "0099_from_the_future" in upgrade.stderr


def test_db_check_names_each_problem_on_its_own_line(tmp_path):
    instance = tmp_path / "instance"
    run(instance, "init")
    assert run(instance, "db", "check").returncode == 0
    con = sqlite3.connect(instance / "scim-appliance.db")
    con.execute("PRAGMA foreign_keys=OFF")
    con.execute("INSERT INTO memberships (group_id, member_id, member_type) "
                "VALUES ('gone', 'u1', 'User')")
    con.execute("DROP INDEX ix_groups_external_id")
    con.commit()
    con.close()
    proc = run(instance, "db", "check", check=False)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert lines == ["schema differs from this release's models: missing index "
                     "ix_groups_external_id",
                     "foreign key: memberships row 1 points at a missing groups row"]


def test_init_builds_a_new_database_by_migrations_and_leaves_an_old_one_alone(tmp_path):
    instance = tmp_path / "instance"
    out = run(instance, "init").stdout
    assert f"Created the database schema at revision {migrations.head()}" in out
    database = instance / "scim-appliance.db"
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert migrations.engine_status(sqlite_engine(database)).at_head
    (tmp_path / "old").mkdir()
    old, _ = release_instance(tmp_path / "old", "release-0.1.0")
    before = counts(old / "scim-appliance.db")
    out = run(old, "init").stdout
    assert "run 'scim-appliance db upgrade'" in out
    assert counts(old / "scim-appliance.db") == before
    assert migrations.engine_status(
        sqlite_engine(old / "scim-appliance.db")).shape == migrations.RELEASE_0_1_0


def test_version_is_the_package_version():
    import scim_appliance

    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "--version"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == f"scim-appliance {scim_appliance.__version__}"
    changelog = (Path(__file__).parents[2] / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"## {scim_appliance.__version__}" in changelog and "## 0.1.0" in changelog


@pytest.mark.skipif(not (OTHER_DATABASE or "").startswith("postgresql"),
                    reason="SCIM_APPLIANCE_TEST_DATABASE_URL names no PostgreSQL database")
def test_every_revision_both_ways_and_0_1_0_adoption_on_postgresql():
    engine = sa.create_engine(OTHER_DATABASE)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}")
    try:
        previous = "base"
        for revision in migrations.revisions():
            migrations.upgrade(engine, revision)
            migrations.downgrade(engine, previous)
            migrations.upgrade(engine, revision)
            previous = revision
        with engine.connect() as connection:
            assert migrations.model_differences(connection) == []
        migrations.downgrade(engine, migrations.BASELINE)
        with engine.begin() as connection:  # what 0.1.0's init made: no version table
            connection.exec_driver_sql(f"DROP TABLE {migrations.VERSION_TABLE}")
        assert migrations.engine_status(engine).shape == migrations.RELEASE_0_1_0
        assert migrations.upgrade(engine).after.at_head
        assert migrations.check(engine) == []
    finally:
        with engine.begin() as connection:
            Base.metadata.drop_all(connection)
            connection.exec_driver_sql(f"DROP TABLE IF EXISTS {migrations.VERSION_TABLE}")
        engine.dispose()
