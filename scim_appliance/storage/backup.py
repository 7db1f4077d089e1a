"""Consistent copies of the database, and putting one back.

SQLite's online backup API (`sqlite3.Connection.backup`) copies a live database from one
read transaction: in WAL mode a reader never blocks the SCIM writers, and the copy is
the database at one instant, which copying the file (plus its -wal) while requests are
served is not. All pages go in one step, so a write in the middle cannot restart it.
Copies are created owner-only (0600) before the first byte is written: they hold the
token hash and people's data.

Backups taken by the appliance itself (before an upgrade, a user ID migration or a
restore) carry their reason in the name and are pruned to the newest few; the ones an
operator asks for are never deleted here. Other databases have their own tools; for
them the caller gets the instruction to give the operator.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

BACKUP_DIR = "backups"
# Reasons of automatic backups: <database stem>-<reason>-<UTC time>.db
BEFORE_UPGRADE = "before-upgrade"
BEFORE_USERID_MIGRATION = "before-userid-migration"
BEFORE_USERID_REVERT = "before-userid-revert"
BEFORE_RESTORE = "before-restore"
AUTOMATIC = (BEFORE_UPGRADE, BEFORE_USERID_MIGRATION, BEFORE_USERID_REVERT, BEFORE_RESTORE)


class BackupUnsupported(Exception):
    """No automatic backup for this database; `str()` says what to do instead."""


class BackupError(Exception):
    """A copy could not be made or used; `str()` is one line for the operator."""


def sqlite_path(engine: Engine) -> Path | None:
    """The database file, or None when the engine is not a SQLite file."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _stamp(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")  # two in a second


def backup_name(source: Path, reason: str | None = None, now: datetime | None = None) -> str:
    parts = [source.stem, *([reason] if reason else []), _stamp(now)]
    return "-".join(parts) + ".db"


def _create_private(path: Path) -> None:
    """Create `path` empty and owner-only; refuse to overwrite anything."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} already exists; choose another file name") from None


def copy_sqlite(source: Path, target: Path) -> Path:
    """An online, consistent copy of the SQLite file `source` at `target` (0600),
    checked with `PRAGMA quick_check` before it is reported good."""
    _create_private(target)
    try:
        src = sqlite3.connect(source, timeout=30)
        try:
            dst = sqlite3.connect(target)
            try:
                src.backup(dst)  # all pages in one step: one consistent snapshot
                # One self-contained file (no -wal beside it) for the operator to move.
                dst.execute("PRAGMA journal_mode=DELETE")
                result = dst.execute("PRAGMA quick_check").fetchone()[0]
            finally:
                dst.close()
        finally:
            src.close()
        if result != "ok":
            raise BackupError(f"the copy at {target} failed its check: {result}")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def backup_database(engine: Engine, directory: str | Path, reason: str,
                    now: datetime | None = None) -> Path:
    """An automatic backup `<directory>/<stem>-<reason>-<UTC time>.db`; return its path."""
    source = sqlite_path(engine)
    if source is None:
        raise BackupUnsupported(
            f"no automatic backup for a {engine.dialect.name} database: back it up with "
            "its own tool first (PostgreSQL: pg_dump -Fc -f scim-appliance.dump "
            "<database>), then run again with --no-backup")
    return copy_sqlite(source, Path(directory) / backup_name(source, reason, now))


def automatic_backup(engine: Engine, directory: str | Path, reason: str, keep: int) -> Path:
    """A backup before the appliance changes the database itself, then retention."""
    path = backup_database(engine, directory, reason)
    prune_automatic(directory, sqlite_path(engine).stem, keep)
    return path


def prune_automatic(directory: str | Path, stem: str, keep: int) -> list[Path]:
    """Delete all but the newest `keep` automatic backups of `stem`; return the deleted.

    `keep` <= 0 keeps every one. Backups the operator asked for are never touched.
    """
    if keep <= 0:
        return []
    folder = Path(directory)
    found = sorted((path for reason in AUTOMATIC
                    for path in folder.glob(f"{stem}-{reason}-*.db")),
                   key=lambda path: path.name.rsplit("-", 1)[-1], reverse=True)
    doomed = found[keep:]
    for path in doomed:
        path.unlink(missing_ok=True)
    return doomed


@dataclass
class PgDump:
    """What `backup` does on PostgreSQL: pg_dump when it is installed, else advice."""
    command: list[str] | None
    advice: str


def pg_dump_plan(engine: Engine, target: Path) -> PgDump:
    url = engine.url
    advice = ("PostgreSQL is backed up with its own tool: pg_dump -Fc -f "
              f"{target} '{url.render_as_string(hide_password=True)}' (restore with "
              "pg_restore); install the PostgreSQL client to let 'scim-appliance backup' "
              "run it")
    binary = shutil.which("pg_dump")
    if binary is None:
        return PgDump(None, advice)
    plain = make_url(url).set(drivername="postgresql")
    return PgDump([binary, "-Fc", "-f", str(target),
                   f"--dbname={plain.render_as_string(hide_password=False)}"], advice)


def run_pg_dump(plan: PgDump, target: Path) -> None:
    _create_private(target)
    result = subprocess.run(plan.command, capture_output=True, text=True)
    if result.returncode != 0:
        target.unlink(missing_ok=True)
        last = (result.stderr.strip().splitlines() or ["pg_dump failed"])[-1]
        raise BackupError(f"pg_dump: {last}")


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a sound SQLite database."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        con = sqlite3.connect(path)
        try:
            problems = [row[0] for row in con.execute("PRAGMA integrity_check")]
            dangling = con.execute("PRAGMA foreign_key_check").fetchall()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a usable SQLite database ({exc})") from None
    if problems != ["ok"]:
        raise BackupError(f"{path} failed its integrity check: {problems[0]}")
    if dangling:
        raise BackupError(f"{path} has {len(dangling)} rows whose foreign key points "
                          "nowhere (PRAGMA foreign_key_check)")


def replace_database(database: Path, replacement: Path) -> None:
    """Put `replacement` (a checked copy beside `database`) in the database's place.

    Nothing may have the database open (the caller holds the serve lock and has
    disposed of its engine). The old file's write-ahead log is folded in and removed
    first: a WAL left beside the new file would be replayed into it.
    """
    if database.exists():
        con = sqlite3.connect(database)
        try:
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            con.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    with open(replacement, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(replacement, database)
    directory = os.open(database.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
