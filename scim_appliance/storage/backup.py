"""A consistent copy of the database before a bulk change (the userid migration).

SQLite's online backup API (`sqlite3.Connection.backup`) copies a live database
page by page from one read transaction: in WAL mode that snapshot does not block the
SCIM writers, and the copy is exactly the database at one instant, which copying the
file (plus its -wal) while requests are served is not. Other databases have their
own tools, so for them the caller gets the instruction to give the operator.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import Engine


class BackupUnsupported(Exception):
    """No automatic backup for this database; `str()` says what to do instead."""


def sqlite_path(engine: Engine) -> Path | None:
    """The database file, or None when the engine is not a SQLite file."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def backup_database(engine: Engine, directory: str | Path, label: str,
                    now: datetime | None = None) -> Path:
    """Copy the database to `<directory>/<name>-<label>-<UTC time>.db`; return the path."""
    source = sqlite_path(engine)
    if source is None:
        raise BackupUnsupported(
            f"no automatic backup for a {engine.dialect.name} database: back it up with "
            "its own tool first (PostgreSQL: pg_dump -Fc -f scim-appliance.dump "
            "<database>), then run again with --no-backup")
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S.%fZ")  # two runs in a second
    target = Path(directory) / f"{source.stem}-{label}-{stamp}.db"
    target.parent.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
        finally:
            dst.close()
    finally:
        src.close()
    return target
