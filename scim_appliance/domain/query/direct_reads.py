"""The hot reads, as precompiled SQL run straight on the DBAPI connection (issue 7).

Most of Entra's traffic is the token check, `filter=userName eq "..."`, GET by id
and the `groups` of what those return. Through the ORM session each such query
cost about 150 µs of SQLAlchemy bookkeeping (session begin and close, execution
context, result proxy) around 5 µs of SQLite work: measured in-process, the
session path of a filter GET took 490 µs against 16 µs for the same three queries
on the DBAPI cursor. The statements stay SQLAlchemy constructs, compiled once per
dialect, and every value passes through its column type's own result processor,
so PostgreSQL (and any other dialect) reads exactly what the ORM would have read.

A `Reads` is either checked out of the engine's pool for one HTTP request (the
routes' read path) or borrowed from a session's connection, inside its transaction
(writes, the CLI): the same domain functions serve both.
"""

from __future__ import annotations

from collections import namedtuple

from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session


class Prepared:
    """One SELECT, compiled lazily for each dialect it runs on.

    `binds` names the statement's own bind parameters; constants inside the
    statement (SQLAlchemy binds those too) keep the values they were built with.
    """

    def __init__(self, stmt, binds: tuple[str, ...] = ()):
        self.stmt = stmt
        self.binds = binds
        columns = list(stmt.selected_columns)
        self.row_type = namedtuple("Row", [c.key for c in columns])
        self._columns = columns
        self._forms: dict[tuple[str, str], _Compiled] = {}

    def form(self, dialect: Dialect) -> _Compiled:
        key = (dialect.name, dialect.driver)
        compiled = self._forms.get(key)
        if compiled is None:
            compiled = self._forms[key] = _Compiled(self, dialect)
        return compiled


class _Compiled:
    __slots__ = ("sql", "defaults", "order", "processors", "row_type")

    def __init__(self, prepared: Prepared, dialect: Dialect):
        compiled = prepared.stmt.compile(dialect=dialect)
        self.sql = str(compiled)
        self.defaults = compiled.construct_params({name: None for name in prepared.binds})
        self.order = tuple(compiled.positiontup) if compiled.positional else None
        processors = [c.type.dialect_impl(dialect).result_processor(dialect, None)
                      for c in prepared._columns]
        self.processors = tuple((i, proc) for i, proc in enumerate(processors) if proc)
        self.row_type = prepared.row_type

    def parameters(self, values: dict):
        if self.order is None:
            return {**self.defaults, **values}
        defaults = self.defaults
        return tuple(values[name] if name in values else defaults[name]
                     for name in self.order)

    def row(self, raw):
        if not self.processors:
            return self.row_type(*raw)
        values = list(raw)
        for index, proc in self.processors:
            values[index] = proc(values[index])
        return self.row_type(*values)


class Reads:
    """Prepared reads on one DBAPI connection; rows are named tuples."""

    def __init__(self, dbapi_connection, dialect: Dialect, release=None):
        self._connection = dbapi_connection
        self._dialect = dialect
        self._release = release

    @classmethod
    def checkout(cls, engine: Engine) -> Reads:
        """A pooled connection of its own; `close()` returns it to the pool."""
        proxied = engine.raw_connection()
        return cls(proxied, engine.dialect, proxied.close)

    @classmethod
    def within(cls, session: Session) -> Reads:
        """The session's own connection, so reads see its uncommitted writes; pending
        changes are flushed first, as `session.execute` would (autoflush)."""
        if session.autoflush:
            session.flush()
        connection = session.connection()
        return cls(connection.connection, connection.dialect)

    def all(self, prepared: Prepared, **values) -> list:
        compiled = prepared.form(self._dialect)
        cursor = self._connection.cursor()
        try:
            cursor.execute(compiled.sql, compiled.parameters(values))
            return [compiled.row(raw) for raw in cursor.fetchall()]
        finally:
            cursor.close()

    def first(self, prepared: Prepared, **values):
        rows = self.all(prepared, **values)
        return rows[0] if rows else None

    def close(self) -> None:
        if self._release is not None:
            release, self._release = self._release, None
            release()
