"""`scim-appliance db upgrade|current|check`, `backup` and `restore`: the database's life.

Upgrades are Alembic revisions run by `storage/migrations.py` in one transaction, after
an online backup of a SQLite file; a restore puts a checked (and, if older, upgraded)
copy in place and keeps the replaced database aside. Neither runs while `serve` holds
the instance's lock.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from ..domain.names.derived import backfill
from ..domain.names.policy import rules_from_config
from ..server.serve_lock import ServeLock
from ..storage import backup as backups
from ..storage import migrations
from ..storage.extensions import db
from ..storage.models import Group, User
from .common import automatic_backup, backup_folder, one_line_errors


def refuse_while_serving(app: Flask, what: str) -> ServeLock:
    """The instance's serve lock, held by the caller until it is done."""
    lock = ServeLock(app.instance_path)
    if not lock.try_acquire():
        raise click.ClickException(
            f"the appliance is serving from {app.instance_path}: stop it before {what} "
            "(systemctl stop scim-appliance, or Ctrl-C on 'serve')")
    return lock


def upgrade_database(app: Flask, engine, *, take_backup: bool, echo=click.echo) -> bool:
    """Bring `engine`'s database to head; False when it already was."""
    state = migrations.engine_status(engine)
    if state.at_head:
        return False
    if not state.upgradable:
        raise click.ClickException(f"the database is {state.describe()}; nothing was changed")
    if take_backup and state.shape != migrations.EMPTY:
        if backups.sqlite_path(engine) is not None:
            echo(f"Backup: {automatic_backup(app, backups.BEFORE_UPGRADE)}")
        else:
            echo(f"No automatic backup of a {engine.dialect.name} database: take one with "
                 "pg_dump before upgrading (the upgrade itself is one transaction).")
    report = migrations.upgrade(engine)
    if report.adopted:
        echo(f"Recognised a database made {report.adopted}; it is now under version "
             "control.")
    if report.adopted == migrations.PRE_NAME_RULES:
        with Session(engine) as session:
            count = backfill(session, rules_from_config(app.config))
            session.commit()
        echo(f"Derived the downstream names of {count} users and groups.")
    applied = ", ".join(report.applied) or "none to run"
    echo(f"Schema upgraded to {report.after.current} (revisions: {applied}).")
    return True


@click.group("db")
def db_group():
    """The database schema: upgrade, current revision, checks."""


@db_group.command("upgrade")
@with_appcontext
@one_line_errors
def db_upgrade():
    """Bring the schema to this release (a backup of a SQLite file is taken first).

    Idempotent: when the schema is already current it says so and changes nothing.
    """
    app = current_app
    state = migrations.engine_status(db.engine)
    if state.at_head:
        click.echo(f"The database schema is already at {state.head}; nothing to do.")
        return
    with refuse_while_serving(app, "upgrading"):
        upgrade_database(app, db.engine, take_backup=True)


@db_group.command("current")
@with_appcontext
@one_line_errors
def db_current():
    """The schema revision and whether it is this release's head."""
    click.echo(migrations.engine_status(db.engine).describe())


@db_group.command("check")
@with_appcontext
@one_line_errors
def db_check():
    """Schema at head and matching the models, SQLite integrity and foreign keys.

    Exit status 1 with one line per problem; 0 and one line when all is well.
    """
    problems = migrations.check(db.engine)
    if problems:
        for line in problems:
            click.echo(line, err=True)
        raise SystemExit(1)
    click.echo(f"ok: schema at {migrations.head()}, integrity and foreign keys checked")


@click.command("backup")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@one_line_errors
def backup_command(file):
    """A consistent copy of the database, taken while the appliance serves.

    Default: instance/backups/<name>-<UTC time>.db, owner-only. The path is the last line
    of the output. On PostgreSQL it runs pg_dump when installed, else says how.
    """
    app = current_app
    engine = db.engine
    source = backups.sqlite_path(engine)
    if source is not None:
        if not source.exists():
            raise click.ClickException(f"{source} does not exist; run 'scim-appliance init'")
        target = file or backup_folder(app) / backups.backup_name(source)
        backups.copy_sqlite(source, target)
    else:
        target = file or backup_folder(app) / backups.backup_name(Path("scim-appliance"))
        target = target.with_suffix(".dump") if file is None else target
        plan = backups.pg_dump_plan(engine, target)
        if plan.command is None:
            raise click.ClickException(plan.advice)
        backups.run_pg_dump(plan, target)
    click.echo(str(target))


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@one_line_errors
def restore_command(file):
    """Replace the database with a backup (stop the appliance first).

    The backup is checked (integrity, foreign keys, schema) and upgraded if older; the
    replaced database is kept in instance/backups/.
    """
    app = current_app
    database = backups.sqlite_path(db.engine)
    if database is None:
        raise click.ClickException(
            f"restore works on SQLite files; restore a {db.engine.dialect.name} database "
            "with its own tool (PostgreSQL: pg_restore --clean -d <database> FILE)")
    with refuse_while_serving(app, "restoring"):
        backups.check_sqlite_file(file)
        staged = database.parent / f".{database.name}.restoring"
        staged.unlink(missing_ok=True)
        backups.copy_sqlite(file, staged)
        try:
            users, groups, revision = _prepare(app, staged, file)
        except BaseException:
            staged.unlink(missing_ok=True)
            raise
        db.session.remove()
        db.engine.dispose()
        aside = (automatic_backup(app, backups.BEFORE_RESTORE)
                 if database.exists() else None)
        db.engine.dispose()
        backups.replace_database(database, staged)
    click.echo(f"Restored {file}: {users} users, {groups} groups, schema {revision}.")
    if aside is not None:
        click.echo(f"The replaced database is kept at {aside}.")
    click.echo("Start the appliance again; Entra's Secret Token is the one active when the "
               "backup was taken (the same SECRET_KEY must be configured).")


def _prepare(app: Flask, staged: Path, original: Path) -> tuple[int, int, str]:
    """Bring the staged copy to head; its user and group counts and revision."""
    engine = create_engine(f"sqlite:///{staged}")
    try:
        state = migrations.engine_status(engine)
        if state.shape == migrations.EMPTY:
            raise click.ClickException(f"{original} holds no appliance data; not restored")
        if not state.at_head:
            if not state.upgradable:
                raise click.ClickException(f"{original} is {state.describe()}; not restored")
            upgrade_database(app, engine, take_backup=False,
                             echo=lambda line: click.echo(f"Backup file: {line}"))
        with engine.connect() as connection:
            users = connection.execute(select(func.count()).select_from(User)).scalar_one()
            groups = connection.execute(select(func.count()).select_from(Group)).scalar_one()
        return users, groups, migrations.engine_status(engine).current
    finally:
        engine.dispose()
        Path(f"{staged}-gate").unlink(missing_ok=True)  # the write gate's, for the copy


COMMANDS = (db_group, backup_command, restore_command)
