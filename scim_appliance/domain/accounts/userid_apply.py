"""Apply (or revert) userid changes on a live appliance, in short batches (issue 6).

Why batches: SQLite has one writer at a time. One transaction over 50,000 renames
would hold the write lock for minutes and every SCIM write would wait (and time out);
a batch of ~200 holds it for a fraction of a second, then pauses so that waiting
requests get their turn (SQLite's busy handler re-polls at most every 100 ms, hence
the default pause of 0.1 s).

Why it is crash-safe: each batch is one BEGIN IMMEDIATE transaction in which each
user is renamed by `users.rename_user` (the same checks and bookkeeping as a PATCH of
userName) in its own savepoint, and the provisioning-log entries are written in the
same transaction. A crash loses at most the uncommitted batch: every user is fully
converted or untouched. The undo rows of a batch are written and fsynced *before* it
commits, so the undo file never misses a committed change; it may name changes that
never committed, which `--revert` recognises (the userName is not the converted one)
and leaves alone. Before each rename the user is re-read inside the lock: anything
changed since the plan (Entra renamed or deleted the user) is skipped, not overwritten.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...storage.database import write_intent
from ...storage.models import User
from ...storage.private_files import open_private
from ..clock import to_rfc3339, utcnow
from ..display import csv_cell, csv_value
from ..log import store as log_store
from ..log.entries import Entry
from ..names.policy import FieldPolicy, NameRules
from ..protocol.errors import ScimError
from ..resources.users import rename_user

CONVERTED = "converted"
DONE = "done"
SKIPPED = "skipped"
FAILED = "failed"
BATCH_SIZE = 200
PAUSE = 0.1
UNDO_FIELDS = ("at", "run", "id", "new", "old")


@dataclass(frozen=True)
class Change:
    id: str
    old: str
    new: str


@dataclass
class Outcome:
    change: Change
    status: str
    detail: str = ""


@dataclass
class ApplyReport:
    outcomes: list[Outcome] = field(default_factory=list)
    batches: int = 0
    seconds: float = 0.0
    # Per batch: how long it waited for the write lock and how long it held it.
    waits: list[float] = field(default_factory=list)
    holds: list[float] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = {CONVERTED: 0, DONE: 0, SKIPPED: 0, FAILED: 0}
        for o in self.outcomes:
            out[o.status] += 1
        return out

    @property
    def longest_hold(self) -> float:
        return max(self.holds, default=0.0)

    @property
    def rate(self) -> float:
        done = self.counts()[CONVERTED]
        return done / self.seconds if self.seconds else 0.0


# -- the undo file ---------------------------------------------------------------------
class UndoFile:
    """Append-only CSV of applied changes, new -> old, one row per rename.

    Appending (rather than one file per run) means an interrupted run and the run
    that finished it share one file, and `--revert` of that file undoes both. It is
    created 0600 (it lists every converted user), and its cells are `csv_cell`s: a
    spreadsheet opening it runs no formula a userName carried, and `read_undo` gets
    every name back exactly.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open_private(self.path, "a", newline="")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        if self._fh.tell() == 0:  # a new (or empty) file: O_APPEND starts at its end
            self._row(UNDO_FIELDS)
            self._sync()

    def _row(self, cells) -> None:
        self._csv.writerow([csv_cell(c) for c in cells])

    def write(self, run: str, changes: Sequence[Change]) -> None:
        at = to_rfc3339(utcnow())
        for change in changes:
            self._row([at, run, change.id, change.new, change.old])
        self._sync()

    def _sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


@dataclass(frozen=True)
class UndoRow:
    id: str
    new: str
    old: str


def read_undo(path: str | Path) -> list[UndoRow]:
    """The rows of an undo file, in the order they were written."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "new", "old"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} is not an undo file (no {', '.join(sorted(missing))} "
                             "column)")
        return [UndoRow(csv_value(r["id"]), csv_value(r["new"]), csv_value(r["old"]))
                for r in reader]


def plan_revert(session: Session, rows: Sequence[UndoRow]) -> tuple[list[Change], list[Outcome]]:
    """The changes that undo `rows`, newest first, and the rows left alone.

    A user renamed twice (two runs) is walked back step by step. A row is applied only
    where the user still has the converted userName (exactly): Entra may have renamed
    it since, and a row whose batch never committed names a change that never happened.
    """
    ids = list({r.id for r in rows})
    current: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        current.update(session.execute(select(User.id, User.user_name)
                                       .where(User.id.in_(ids[start:start + 500]))).all())
    changes: list[Change] = []
    left: list[Outcome] = []
    for row in reversed(rows):
        change = Change(row.id, row.new, row.old)
        now = current.get(row.id)
        if now is None:
            left.append(Outcome(change, SKIPPED, "the user no longer exists"))
        elif now == row.new:
            changes.append(change)
            current[row.id] = row.old
        elif now == row.old:
            left.append(Outcome(change, DONE, "already reverted (or never converted)"))
        else:
            left.append(Outcome(change, SKIPPED, f"the userName is now {now!r}, not "
                                                 f"{row.new!r} as converted; left alone"))
    return changes, left


def restoring_rules(rules: NameRules) -> NameRules:
    """Rules for a revert: restore the old names exactly, even names the rules would
    refuse today (the derived name is kept either way, names/derived.py)."""
    return dataclasses.replace(rules, user=FieldPolicy(rules.user.rule, "sanitize"))


# -- applying --------------------------------------------------------------------------
def _apply_one(session: Session, user: User | None, change: Change,
               rules: NameRules) -> Outcome:
    if user is None:
        return Outcome(change, SKIPPED, "the user was deleted since the plan")
    if user.user_name == change.new:
        return Outcome(change, DONE, "already converted")
    if user.user_name != change.old:
        return Outcome(change, SKIPPED, f"the userName changed since the plan (now "
                                        f"{user.user_name!r}); left alone")
    try:
        with session.begin_nested():
            rename_user(session, user, change.new, rules=rules)
    except ScimError as exc:
        return Outcome(change, FAILED, exc.detail)
    return Outcome(change, CONVERTED)


def _log_entry(run: str, operation: str, change: Change, command: str) -> Entry:
    return Entry(request_id=run, at=utcnow(), client="cli", method="CLI",
                 path=f"scim-appliance {command}", resource_type="User",
                 resource_id=change.id, resource_name=change.new, operation=operation,
                 action="renamed", status=200, duration_us=0, authenticated=True,
                 changes={"attributes": ["userName"], "from": change.old,
                          "to": change.new})


def apply_changes(engine: Engine, changes: Sequence[Change], *, rules: NameRules, run: str,
                  operation: str = "migrate-userids", command: str | None = None,
                  undo: UndoFile | None = None,
                  batch_size: int = BATCH_SIZE, pause: float = PAUSE,
                  progress: Callable[[int, int, float], None] | None = None,
                  after_batch: Callable[[int], None] | None = None) -> ApplyReport:
    """Rename users in batches of `batch_size`, one short transaction each.

    `operation` is what the log records (16 characters at most), `command` the
    command line it shows (default: the operation). `after_batch(n)` runs after batch n
    committed (tests inject a crash there).
    """
    if batch_size < 1:
        raise ValueError("the batch size must be at least 1")
    report = ApplyReport()
    started = time.perf_counter()
    total = len(changes)
    for number, first in enumerate(range(0, total, batch_size), 1):
        if number > 1 and pause > 0:
            time.sleep(pause)
        batch = changes[first:first + batch_size]
        asked = time.perf_counter()
        with write_intent(), Session(engine, expire_on_commit=False) as session:
            with session.begin():
                session.connection()  # BEGIN IMMEDIATE: the write lock is ours from here
                locked = time.perf_counter()
                users = {u.id: u for u in session.execute(
                    select(User).where(User.id.in_([c.id for c in batch]))).scalars()}
                outcomes = [_apply_one(session, users.get(c.id), c, rules) for c in batch]
                applied = [o.change for o in outcomes if o.status == CONVERTED]
                log_store.record_entries(
                    session, [_log_entry(run, operation, c, command or operation)
                              for c in applied], notify=False)
                if undo is not None and applied:
                    undo.write(run, applied)  # on disk before the commit
        committed = time.perf_counter()
        report.waits.append(locked - asked)
        report.holds.append(committed - locked)
        report.outcomes.extend(outcomes)
        report.batches = number
        report.seconds = committed - started
        if progress is not None:
            progress(min(first + batch_size, total), total, report.seconds)
        if after_batch is not None:
            after_batch(number)
    report.seconds = time.perf_counter() - started
    return report
