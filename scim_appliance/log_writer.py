"""Write provisioning-log entries on a background thread, so no SCIM request waits.

A request hands its `RequestFacts` to `submit` (a queue put: microseconds) and gets on
with its response. One writer thread per app describes the facts (parses bodies) and
stores them in batches, one short BEGIN IMMEDIATE transaction per batch on its own
connection, after the request's own transaction has ended. Anything that goes wrong
here is logged to stderr and never reaches a request.

After the first entry of a batch the thread gathers for `gather_seconds`, so a busy
server commits a few times a second instead of once per request: each commit briefly
takes SQLite's single write lock and the thread shares the GIL with request threads.

The thread starts on the first entry and ends after `idle_seconds` without one, so apps
created and dropped (tests, CLI) leave no thread behind. It also prunes entries older
than LOG_RETENTION_DAYS, at most once an hour. Entries still queued when the process is
killed are lost; `serve` flushes the queue on SIGTERM/Ctrl-C.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from .database import write_intent
from .domain import log_store
from .domain.clock import utcnow
from .domain.provisioning_log import RequestFacts, describe

log = logging.getLogger(__name__)

BATCH = 200
QUEUE_LIMIT = 20_000
PRUNE_EVERY = timedelta(hours=1)


class LogWriter:
    def __init__(self, engine: Engine, *, notify: bool, retention_days: float,
                 idle_seconds: float = 5.0, gather_seconds: float = 0.25):
        self.engine = engine
        self.notify = notify
        self.retention_days = retention_days
        self.idle_seconds = idle_seconds
        self.gather_seconds = gather_seconds
        self._queue: queue.Queue[RequestFacts] = queue.Queue(QUEUE_LIMIT)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._tables_checked = False
        self._pruned_at = None

    def submit(self, facts: RequestFacts) -> None:
        """Queue one request's facts; never blocks, never raises."""
        try:
            self._queue.put_nowait(facts)
        except queue.Full:
            log.error("provisioning log queue full (%d entries); request %s not logged",
                      QUEUE_LIMIT, facts.request_id)
            return
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="scim-provisioning-log")
                self._thread.start()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued entry is stored (or failed); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._queue.all_tasks_done.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                continue
            batch = [first]
            deadline = time.monotonic() + self.gather_seconds
            while len(batch) < BATCH:
                remaining = deadline - time.monotonic()
                try:
                    batch.append(self._queue.get(timeout=remaining) if remaining > 0
                                 else self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._write(batch)
            except Exception:  # noqa: BLE001 - logging must never take the server down
                log.exception("could not write %d provisioning log entr%s (request ids %s)",
                              len(batch), "y" if len(batch) == 1 else "ies",
                              ", ".join(f.request_id for f in batch[:5]))
            finally:
                for _ in batch:
                    self._queue.task_done()

    def _write(self, batch: list[RequestFacts]) -> None:
        if not self._tables_checked:
            log_store.ensure_tables(self.engine)
            self._tables_checked = True
        entries = [describe(facts) for facts in batch]
        with write_intent(), Session(self.engine) as session, session.begin():
            log_store.record_entries(session, entries, notify=self.notify)
        now = utcnow()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            with write_intent(), Session(self.engine) as session, session.begin():
                removed = log_store.prune(session, now, self.retention_days)
            if removed:
                log.info("pruned %d provisioning log entries older than %g days", removed,
                         self.retention_days)
