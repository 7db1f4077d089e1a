"""Engine set-up: SQLite pragmas and transaction modes that make one file safe to share.

SQLite runs in WAL mode so readers never wait for the writer, with a busy timeout so
concurrent writers queue instead of failing. Write requests open their transaction
with BEGIN IMMEDIATE: a deferred transaction that reads and then writes can fail
with "database is locked" when another writer got there first, which under
Entra's parallel requests would turn into spurious 500s.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine

_write_intent: ContextVar[bool] = ContextVar("scim_write_intent", default=False)

BUSY_TIMEOUT_MS = 30_000


def _unicode_lower(value):
    # SQLite's built-in lower() folds ASCII only; caseExact=false must fold all of
    # Unicode the way Python's str.lower() does when it fills *_ci columns.
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_conn, _record):
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    # Take transaction control from the driver so BEGIN can be IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    # 8 MB page cache per connection (default 2 MB): membership changes on a
    # 10,000-member group touch pages all over the users table (bench_groups.py:
    # removing 1,000 members 57 -> 27 ms); a pool of 15 connections stays < 150 MB.
    cur.execute("PRAGMA cache_size=-8000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    # LIKE is then case-sensitive, as caseExact=true needs; caseExact=false
    # comparisons lower() both sides explicitly.
    cur.execute("PRAGMA case_sensitive_like=ON")
    cur.close()
    dbapi_conn.create_function("lower", 1, _unicode_lower, deterministic=True)


@event.listens_for(Engine, "begin")
def _on_begin(conn):
    if conn.dialect.name != "sqlite":
        return
    conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


@contextmanager
def write_intent():
    """Mark the transactions opened inside this block as writers (BEGIN IMMEDIATE)."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def set_write_intent(flag: bool):
    """Set the write intent for the rest of this context (one HTTP request)."""
    return _write_intent.set(flag)


def reset_write_intent(token) -> None:
    _write_intent.reset(token)
