"""Engine set-up: SQLite pragmas and transaction modes that make one file safe to share;
on PostgreSQL, which transaction failures a request may retry.

SQLite runs in WAL mode so readers never wait for the writer, with a busy timeout so
concurrent writers queue instead of failing. Write requests open their transaction
with BEGIN IMMEDIATE: a deferred transaction that reads and then writes can fail
with "database is locked" when another writer got there first, which under
Entra's parallel requests would turn into spurious 500s.

None of that applies to PostgreSQL (no pragmas, no gate, no BEGIN IMMEDIATE): its
writers run side by side under READ COMMITTED, and what the gate gives SQLite comes
from row locks instead. A write reads a resource's row FOR UPDATE before its
document, locks shared rows groups first and in id order
(domain/resources/versions.py), and a request whose transaction still meets a
deadlock or a serialization failure is rolled back and run again (`retryable`, used
by scim/blueprint.py) a bounded number of times. docs/architecture.md, "Concurrent
writes", has the whole argument.
"""

from __future__ import annotations

import hashlib
import os
import random
import sqlite3
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool, Pool

try:
    import fcntl
except ImportError:  # Windows: the gate orders this process's threads only
    fcntl = None

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


# Writers queue on a gate per database file instead of in SQLite's busy handler,
# which sleeps in growing steps (1, 2, 5, 10 ... 100 ms) whatever the holder does:
# PATCHes waited 100-550 ms (benchmark p99) behind transactions that hold the lock
# for a few. A writer takes the gate before BEGIN IMMEDIATE and gives it back when its
# connection returns to the pool, right after COMMIT or ROLLBACK.
_GATE = "scim_appliance.write_gate"
_POLL_SECONDS = 0.0005


class WriteGate:
    """One writer at a time on a database file: a lock for the threads of this
    process, then an flock on `<database>-gate` for the other processes (`serve`
    workers, the CLI). The kernel drops an flock when its process dies."""

    def __init__(self, database: str | None):
        self.threads = threading.Lock()
        self.path = f"{database}-gate" if database and fcntl is not None else None
        self._fd: int | None = None
        self._pid: int | None = None

    def acquire(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if not self.threads.acquire(timeout=timeout):
            return False
        try:
            fd = self._file()
            while fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        self.threads.release()
                        return False
                    time.sleep(_POLL_SECONDS)
        except BaseException:
            self.threads.release()
            raise
        return True

    def release(self) -> None:
        try:
            if self._fd is not None and self._pid == os.getpid():
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self.threads.release()

    def locked(self) -> bool:
        return self.threads.locked()

    def _file(self) -> int | None:
        if self.path is None:
            return None
        if self._pid != os.getpid():  # a descriptor inherited over fork() shares its lock
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            except OSError:
                self.path = None  # a read-only folder: threads still queue on the lock
                return None
            self._pid = os.getpid()
        return self._fd


_gates: dict[str, WriteGate] = {}
_gates_lock = threading.Lock()


def _gate_for(database: str | None) -> WriteGate:
    with _gates_lock:
        gate = _gates.get(database or "")
        if gate is None:
            gate = _gates[database or ""] = WriteGate(database)
        return gate


@event.listens_for(Engine, "begin")
def _on_begin(conn):
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL: row locks and `retryable` instead (module docstring)
    if not _write_intent.get():
        conn.exec_driver_sql("BEGIN")
        return
    gate = _gate_for(conn.engine.url.database)
    if not gate.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
        raise OperationalError("BEGIN IMMEDIATE", None,
                               sqlite3.OperationalError("database is locked"))
    conn.info[_GATE] = gate
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        conn.info.pop(_GATE, None)
        gate.release()
        raise


@event.listens_for(Pool, "checkin")
def _on_checkin(_dbapi_conn, record):
    gate = record.info.pop(_GATE, None) if record is not None else None
    if gate is not None:
        gate.release()


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


# PostgreSQL's SQLSTATEs for "run the transaction again" (Appendix A of its manual):
# deadlock_detected and serialization_failure. Both roll back the whole transaction.
RETRY_SQLSTATES = frozenset({"40P01", "40001"})
RETRY_ATTEMPTS = 5


def retryable(exc: BaseException, attempt: int) -> bool:
    """Whether a request whose transaction failed with `exc` on its `attempt`-th run may
    run again from the start: a deadlock, a serialization failure, or a connection the
    server dropped (a restart) before the transaction committed."""
    if attempt >= RETRY_ATTEMPTS or not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    return getattr(orig, "sqlstate", None) in RETRY_SQLSTATES or \
        getattr(orig, "pgcode", None) in RETRY_SQLSTATES


def retry_pause(attempt: int) -> None:
    """A short random wait (up to 20, 40, 80, 160 ms) so the transactions that collided
    do not collide again in step."""
    time.sleep(random.uniform(0, 0.01 * 2 ** attempt))


class Lease:
    """One holder among every process of every node sharing a database: the failure
    email and the hourly pruning run where it is held, not once per node.

    On PostgreSQL it is a session-level advisory lock (pg_try_advisory_lock) on a
    connection of its own, outside the pool: held for as long as that connection lives,
    so a node that stops, crashes or loses the server gives it up and the next
    `held()` elsewhere takes it over. `held()` checks its connection each call (every
    few seconds at most), so a restart of the server is noticed there too. SQLite
    serves one host, where `serve` already gives this work to worker process 0: always
    held.
    """

    def __init__(self, engine: Engine, name: str):
        self.url = engine.url
        self.name = name
        # A stable 64-bit key per name (Python's hash() differs per process).
        self.key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big",
                                  signed=True)
        self._engine: Engine | None = None
        self._conn = None
        self._lock = threading.Lock()

    def held(self) -> bool:
        if self.url.get_backend_name() == "sqlite":
            return True
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.exec_driver_sql("SELECT 1")
                    return True
                except Exception:  # noqa: BLE001 - the lock went with the connection
                    self._close()
            try:
                if self._engine is None:
                    self._engine = create_engine(self.url, poolclass=NullPool,
                                                 isolation_level="AUTOCOMMIT")
                conn = self._engine.connect()
            except Exception:  # noqa: BLE001 - no server: nobody holds it here
                return False
            try:
                got = conn.exec_driver_sql("SELECT pg_try_advisory_lock(%(key)s)",
                                           {"key": self.key}).scalar()
            except Exception:  # noqa: BLE001
                got = False
            if got:
                self._conn = conn
                return True
            conn.close()
            return False

    def release(self) -> None:
        with self._lock:
            self._close()
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()  # the session ends, and its advisory lock with it
            except Exception:  # noqa: BLE001
                pass
