"""Write provisioning-log entries on a background thread, so no SCIM request waits.

A request hands its `RequestFacts` to `submit` (a queue put: microseconds) and gets on
with its response. One writer thread per app describes the facts (parses bodies) and
stores them in batches, one short BEGIN IMMEDIATE transaction per batch on its own
connection, after the request's own transaction has ended. Anything that goes wrong
here is logged to stderr and never reaches a request.

After the first entry of a batch the thread gathers for `gather_seconds`, so a busy
server commits a few times a second instead of once per request: each commit briefly
takes SQLite's single write lock and the thread shares the GIL with request threads.
When the database refuses a batch (an entry it cannot store), the batch is stored
again one entry per transaction, so only the bad entry is lost, and logged.

Requests that did not pass the token check are not entries: the writer adds them to
per-minute counts (domain/log/auth_failures.py), a few UPSERTs per batch however many
arrive.

The thread starts on the first entry and ends after `idle_seconds` without one, so apps
created and dropped (tests, CLI) leave no thread behind. It prunes entries older than
LOG_RETENTION_DAYS and beyond LOG_MAX_ROWS once an hour, and sooner whenever it has
added a hundredth of LOG_MAX_ROWS since its last pruning: the table never holds more
than LOG_MAX_ROWS plus that much per worker process. The hourly pruning runs only in
the process holding the database lease (storage/database.py `Lease`), so several
processes or nodes on one PostgreSQL database prune once an hour between them; the
pruning by count stays with each writer, since it bounds what that writer added.
Entries still queued when the process is killed are lost; `serve` flushes the queue
on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from datetime import timedelta

from flask import Flask
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..config import DEFAULTS
from ..domain.clock import utcnow
from ..domain.log import auth_failures
from ..domain.log import store as log_store
from ..domain.log.entries import RequestFacts, describe
from ..domain.notify.mailer import notifications_configured
from ..storage.database import Lease, write_intent
from ..storage.extensions import db

log = logging.getLogger(__name__)

BATCH = 200
QUEUE_LIMIT = 20_000
PRUNE_EVERY = timedelta(hours=1)
# However large LOG_MAX_ROWS, prune after this many new rows at the latest.
PRUNE_AFTER_ROWS = 1000
EXTENSION = "scim_provisioning_log"
PRUNE_LEASE = "scim_appliance.prune"
_create_lock = threading.Lock()


class LogWriter:
    def __init__(self, engine: Engine, *, notify: bool, retention_days: float,
                 max_rows: int = 0, idle_seconds: float = 5.0, gather_seconds: float = 0.25):
        self.engine = engine
        self.notify = notify
        self.retention_days = retention_days
        self.max_rows = max_rows
        self.prune_after = max(PRUNE_AFTER_ROWS, max_rows // 100)
        self._added_since_prune = 0
        self.idle_seconds = idle_seconds
        self.gather_seconds = gather_seconds
        # A deque, not a queue.Queue: append is atomic and wakes nobody. Profiling
        # (py-spy --gil, filter GETs under waitress) showed Queue.put's Condition.notify
        # holding the GIL for over a third of the request path.
        self._pending: deque[RequestFacts] = deque()
        self._submitted = itertools.count(1)
        self._last_submitted = 0
        self._done = 0
        self._lock = threading.Lock()
        # Set by `flush` only (never per request), so a waiting caller need not sit
        # out the gather interval.
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pruned_at = None
        self.prune_lease = Lease(engine, PRUNE_LEASE)

    def submit(self, facts: RequestFacts) -> None:
        """Queue one request's facts; never blocks, never raises."""
        if len(self._pending) >= QUEUE_LIMIT:
            log.error("provisioning log queue full (%d entries); request %s not logged",
                      QUEUE_LIMIT, facts.request_id)
            return
        self._pending.append(facts)
        self._last_submitted = next(self._submitted)
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, daemon=True,
                                                    name="scim-provisioning-log")
                    self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every entry submitted so far is stored (or failed); False on timeout."""
        target = self._last_submitted
        deadline = time.monotonic() + timeout
        self._wake.set()
        while self._done < target:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def _drain(self) -> list[RequestFacts]:
        batch = []
        while self._pending and len(batch) < BATCH:
            batch.append(self._pending.popleft())
        return batch

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            batch = self._drain()
            if not batch:
                if time.monotonic() - idle_since >= self.idle_seconds:
                    with self._lock:
                        if not self._pending:
                            self._thread = None
                            return
                    continue
                # Gather: a busy server commits a few times a second, not per request.
                self._wake.wait(max(self.gather_seconds, 0.05))
                self._wake.clear()
                continue
            idle_since = time.monotonic()
            try:
                self._write(batch)
            except Exception:  # noqa: BLE001 - logging must never take the server down
                log.exception("could not write %d provisioning log entr%s (request ids %s)",
                              len(batch), "y" if len(batch) == 1 else "ies",
                              ", ".join(f.request_id for f in batch[:5]))
            finally:
                self._done += len(batch)

    def _write(self, batch: list[RequestFacts]) -> None:
        try:
            new_counts = self._store(batch)
        except Exception:  # noqa: BLE001 - one bad entry must not cost the batch
            if len(batch) == 1:
                raise
            log.warning("a batch of %d provisioning log entries was refused by the database; "
                        "storing them one by one", len(batch))
            new_counts = 0
            for facts in batch:
                try:
                    new_counts += self._store([facts])
                except Exception:  # noqa: BLE001
                    log.exception("could not write the provisioning log entry of request %s",
                                  facts.request_id)
        self._added_since_prune += new_counts
        now = utcnow()
        if self._added_since_prune >= self.prune_after:
            self._prune(now)
        elif self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            if self.prune_lease.held():
                self._prune(now)
            else:  # another process prunes this hour; ask again in an hour
                self._pruned_at = now

    def _store(self, batch: list[RequestFacts]) -> int:
        """One transaction for the batch; returns the rows it added."""
        entries = [describe(facts) for facts in batch if facts.refusal is None]
        refused = [facts for facts in batch if facts.refusal is not None]
        with write_intent(), Session(self.engine) as session, session.begin():
            log_store.record_entries(session, entries, notify=self.notify)
            new_counts = auth_failures.count_refusals(session, refused)
        return len(entries) + new_counts

    def _prune(self, now) -> None:
        self._pruned_at, self._added_since_prune = now, 0
        while True:  # in chunks, each its own short transaction
            with write_intent(), Session(self.engine) as session, session.begin():
                done = log_store.prune(session, now, self.retention_days, self.max_rows)
            if done.entries:
                log.info("pruned %d provisioning log entries (%d older than %g days, %d "
                         "beyond LOG_MAX_ROWS=%d)", done.entries, done.old,
                         self.retention_days, done.beyond_bound, self.max_rows)
            if done.unmailed:
                log.warning("pruned %d failures before they were mailed: the log is at "
                            "LOG_MAX_ROWS=%d", done.unmailed, self.max_rows)
            if not done.more:
                return


def log_writer(app: Flask) -> LogWriter:
    """The app's log writer, created on first use."""
    writer = app.extensions.get(EXTENSION)
    if writer is None:
        with _create_lock:
            writer = app.extensions.get(EXTENSION)
            if writer is None:
                with app.app_context():
                    engine = db.engine
                writer = LogWriter(engine, notify=notifications_configured(app.config),
                                   retention_days=float(app.config.get("LOG_RETENTION_DAYS")
                                                        or 0),
                                   max_rows=int(app.config.get("LOG_MAX_ROWS")
                                                or DEFAULTS["LOG_MAX_ROWS"]),
                                   gather_seconds=0 if app.testing else 0.25)
                app.extensions[EXTENSION] = writer
    return writer
