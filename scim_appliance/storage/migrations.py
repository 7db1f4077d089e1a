"""Schema migrations: where a database stands, and bringing it to this release's head.

The revisions are Alembic's (`storage/alembic/versions/`), run on a connection the
appliance opens itself: SQLite gets its pragmas and BEGIN IMMEDIATE behind the write
gate, and the whole upgrade is one transaction (SQLite and PostgreSQL both have
transactional DDL), so a revision that fails leaves the database exactly as it was.

Databases made before migrations existed have no version table. They are recognised by
their tables and columns, never guessed at: release 0.1.0's schema is stamped with the
baseline revision (it *is* that schema), the older one from before the name rules gets
the missing columns and tables first, and anything else is refused untouched.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

from .database import write_intent
from .models import Base

SCRIPT_LOCATION = "scim_appliance.storage:alembic"
VERSION_TABLE = "alembic_version"
BASELINE = "0001_baseline"
# Any number: PostgreSQL nodes that upgrade at once take turns on this advisory lock.
_PG_LOCK = 0x5C1A_0001

EMPTY = "empty"
VERSIONED = "versioned"
RELEASE_0_1_0 = "release 0.1.0 (no version table)"
PRE_NAME_RULES = "before the name rules (no version table)"
UNKNOWN = "not an appliance schema"

# The shapes of databases made before migrations, frozen here for ever: table ->
# columns. Release 0.1.0 is what `create_all` made at that release.
_FIRST_TABLES = {
    "users": {"id", "user_name", "user_name_ci", "external_id", "active", "data", "created",
              "last_modified", "version", "source"},
    "groups": {"id", "display_name", "display_name_ci", "external_id", "data", "created",
               "last_modified", "version", "source"},
    "memberships": {"group_id", "member_id", "member_type"},
    "appliance_state": {"id", "token_hash", "token_issued_at", "token_last_used_at",
                        "sync_enabled", "sync_changed_at"},
}
_NAME_RULE_COLUMNS = {"users": ("sanitized_user_name", "sanitized_user_name_key"),
                      "groups": ("sanitized_display_name", "sanitized_display_name_key")}
_RELEASE_0_1_0_TABLES = {
    **{table: columns | set(_NAME_RULE_COLUMNS.get(table, ()))
       | ({"name_adjusted"} if table in _NAME_RULE_COLUMNS else set())
       for table, columns in _FIRST_TABLES.items()},
    "provisioning_log": {"id", "at", "request_id", "client", "method", "path",
                         "resource_type", "resource_id", "resource_name", "operation",
                         "action", "changes", "status", "scim_type", "detail", "duration_us",
                         "failure_kind", "notify_pending", "digest_id"},
    "notification_digests": {"id", "created_at", "state", "failures", "message_id",
                             "sent_at", "error", "reported_in"},
    "name_adjustments": {"id", "at", "resource_type", "resource_id", "field", "original",
                         "derived", "reason", "preset"},
}
_SHAPES = ((RELEASE_0_1_0, _RELEASE_0_1_0_TABLES), (PRE_NAME_RULES, _FIRST_TABLES))


class SchemaError(Exception):
    """The database cannot be brought to this release's schema; `str()` is one line
    for the operator."""


@dataclass(frozen=True)
class SchemaStatus:
    shape: str
    current: str | None  # the recorded revision; None when unversioned or empty
    head: str
    known: bool = True  # whether this release knows the recorded revision
    mismatch: str | None = None  # for UNKNOWN: what differs from every known shape

    @property
    def at_head(self) -> bool:
        return self.shape == VERSIONED and self.current == self.head

    @property
    def ahead(self) -> bool:
        """Recorded by a newer release (the package was downgraded)."""
        return self.shape == VERSIONED and not self.known

    @property
    def upgradable(self) -> bool:
        return not self.at_head and not self.ahead and self.shape != UNKNOWN

    def describe(self) -> str:
        """One line for `db current` and for refusals."""
        if self.shape == EMPTY:
            return "empty (no tables): 'scim-appliance init' creates the schema"
        if self.shape == UNKNOWN:
            return f"not a scim-appliance schema ({self.mismatch})"
        if self.ahead:
            return (f"revision {self.current}, newer than this release knows (its head is "
                    f"{self.head}): run the release that upgraded it, or restore a backup "
                    "taken before that upgrade")
        if self.at_head:
            return f"revision {self.current} (head)"
        where = f"revision {self.current}" if self.current else self.shape
        return f"{where}; this release needs {self.head}: run 'scim-appliance db upgrade'"


@dataclass
class UpgradeReport:
    before: SchemaStatus
    after: SchemaStatus
    applied: list[str] = field(default_factory=list)  # revisions run, oldest first
    adopted: str | None = None  # the unversioned shape brought under version control


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def head() -> str:
    return script().get_current_head()


def revisions() -> list[str]:
    """This release's revisions, oldest first."""
    return [rev.revision for rev in reversed(list(script().walk_revisions()))]


def _tables(connection: Connection) -> dict[str, set[str]]:
    inspector = sa.inspect(connection)
    return {name: {column["name"] for column in inspector.get_columns(name)}
            for name in inspector.get_table_names() if not name.startswith("sqlite_")}


def _mismatch(found: dict[str, set[str]], shape: dict[str, set[str]]) -> str:
    problems = []
    missing = sorted(set(shape) - set(found))
    extra = sorted(set(found) - set(shape))
    if missing:
        problems.append("missing tables " + ", ".join(missing))
    if extra:
        problems.append("unexpected tables " + ", ".join(extra))
    for table in sorted(set(shape) & set(found)):
        if found[table] != shape[table]:
            gone = sorted(shape[table] - found[table])
            more = sorted(found[table] - shape[table])
            detail = "; ".join(part for part in (
                f"missing {', '.join(gone)}" if gone else "",
                f"unexpected {', '.join(more)}" if more else "") if part)
            problems.append(f"table {table}: {detail}")
    return "; ".join(problems)


def status(connection: Connection) -> SchemaStatus:
    """Where the database stands against this release's revisions."""
    found = _tables(connection)
    top = head()
    if not found:
        return SchemaStatus(EMPTY, None, top)
    if VERSION_TABLE in found:
        current = MigrationContext.configure(connection).get_current_revision()
        if current is not None:
            return SchemaStatus(VERSIONED, current, top, known=current in revisions())
        del found[VERSION_TABLE]  # downgraded to base: judge the tables alone
        if not found:
            return SchemaStatus(EMPTY, None, top)
    for shape, tables in _SHAPES:
        if found == tables:
            return SchemaStatus(shape, None, top)
    return SchemaStatus(UNKNOWN, None, top,
                        mismatch=_mismatch(found, _RELEASE_0_1_0_TABLES) or "unrecognised")


def engine_status(engine: Engine) -> SchemaStatus:
    with engine.connect() as connection:
        return status(connection)


def _add_name_rule_columns(connection: Connection) -> None:
    """Give a database from before the name rules the columns and tables 0.1.0 added.

    Derived names are left empty; `domain/names/derived.backfill` fills them, since only
    the domain knows the rules. SQLite cannot add a UNIQUE column, so it goes through
    Alembic's batch mode (copy the table, move the rows, swap).
    """
    sqlite = connection.dialect.name == "sqlite"
    context = MigrationContext.configure(connection, opts={"render_as_batch": sqlite})
    with Operations.context(context):
        from alembic import op

        for table, (name, key) in _NAME_RULE_COLUMNS.items():
            # The unnamed UNIQUE goes into the recreated table's definition: batch mode
            # cannot add a constraint without a name.
            extra = (sa.UniqueConstraint(key),) if sqlite else ()
            with op.batch_alter_table(table, table_args=extra) as batch:
                batch.add_column(sa.Column(name, sa.Text(), nullable=True))
                batch.add_column(sa.Column(key, sa.Text(), nullable=True))
                batch.add_column(sa.Column("name_adjusted", sa.Boolean(), nullable=False,
                                           server_default=sa.false()))
            if not sqlite:  # unnamed, as create_all made it (PostgreSQL names it)
                op.execute(sa.text(f"ALTER TABLE {table} ADD UNIQUE ({key})"))
            with op.batch_alter_table(table) as batch:
                batch.alter_column("name_adjusted", existing_type=sa.Boolean(),
                                   existing_nullable=False, server_default=None)
        script().get_revision(BASELINE).module.create_later_tables()


def upgrade(engine: Engine, target: str = "heads") -> UpgradeReport:
    """Bring the database to `target` (this release's head) in one transaction."""
    with _migrating(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": _PG_LOCK})
        before = status(connection)
        if before.shape == UNKNOWN or before.ahead:
            raise SchemaError(f"the database is {before.describe()}; nothing was changed")
        report = UpgradeReport(before=before, after=before)
        if before.shape in (RELEASE_0_1_0, PRE_NAME_RULES):
            if before.shape == PRE_NAME_RULES:
                _add_name_rule_columns(connection)
            command.stamp(_config(connection), BASELINE)
            report.adopted = before.shape
        start = MigrationContext.configure(connection).get_current_revision()
        command.upgrade(_config(connection), target)
        report.after = status(connection)
        report.applied = _between(start, report.after.current)
        return report


@contextmanager
def _migrating(engine: Engine):
    """One write transaction for a whole upgrade or downgrade.

    On SQLite, batch mode rebuilds a table by dropping the old one, and with foreign
    keys enforced that drop would cascade into `memberships`. So enforcement is off on
    this connection for the transaction (it can only be switched outside one), every
    key is checked before the commit instead, and the connection is not pooled again.
    """
    with write_intent(), engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise SchemaError(f"the migration would leave {len(broken)} rows "
                                          "whose foreign key points nowhere; nothing was "
                                          "changed")
        finally:
            if sqlite:
                connection.invalidate()


def downgrade(engine: Engine, target: str) -> None:
    """Undo revisions down to `target` ("base" removes every table)."""
    with _migrating(engine) as connection:
        command.downgrade(_config(connection), target)


def stamp_head(connection: Connection) -> None:
    """Record head on a database made by `create_all` from the current models (the test
    suite's fast path; tests pin that this schema is what the migrations make)."""
    command.stamp(_config(connection), "heads")


def _between(start: str | None, end: str | None) -> list[str]:
    order = revisions()
    first = order.index(start) + 1 if start in order else 0
    last = order.index(end) + 1 if end in order else 0
    return order[first:last]


def model_differences(connection: Connection) -> list[str]:
    """How the database differs from the models (empty when a migration matches them)."""
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    diffs = compare_metadata(context, Base.metadata)
    return [_describe_diff(diff) for diff in diffs]


def _describe_diff(diff) -> str:
    """Alembic's diff tuple as the operator reads it: what the database lacks or has."""
    if isinstance(diff, list):  # column modifications come grouped
        return "; ".join(_describe_diff(item) for item in diff)
    kind, *rest = diff
    verb, _, thing = kind.partition("_")
    subject = next((getattr(item, "name", None) for item in rest
                    if getattr(item, "name", None)), None)
    table = next((item for item in rest if isinstance(item, str) and item), None)
    names = ".".join(str(part) for part in (table, subject) if part)
    said = {"add": "missing", "remove": "unexpected", "modify": "different"}.get(verb, verb)
    return f"{said} {thing.replace('_', ' ')} {names}".strip()


def check(engine: Engine) -> list[str]:
    """Every problem with the database, one line each (empty when all is well)."""
    problems = []
    with engine.connect() as connection:
        state = status(connection)
        if not state.at_head:
            problems.append(f"schema: {state.describe()}")
        elif differences := model_differences(connection):
            problems.extend(f"schema differs from this release's models: {d}"
                            for d in differences)
        if connection.dialect.name == "sqlite":
            for (line,) in connection.exec_driver_sql("PRAGMA integrity_check"):
                if line != "ok":
                    problems.append(f"integrity: {line}")
            for table, rowid, parent, _fk in connection.exec_driver_sql(
                    "PRAGMA foreign_key_check"):
                problems.append(f"foreign key: {table} row {rowid} points at a missing "
                                f"{parent} row")
    return problems
