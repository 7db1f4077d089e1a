"""The user ID migration as a job the console starts and then watches: the same plan
(`userid_migration.plan_from_database`) and the same batches (`userid_apply.
apply_changes`) as `scim-appliance migrate-userids`, with its progress written to
`console_jobs` after every batch, so that a page polled through any server process
shows it and no request waits for the run.

One job at a time: a second would rename the same users. The functions here run on
whatever thread the caller gives them (no Flask); each write is its own short
transaction behind the write gate.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...storage.database import write_intent
from ...storage.models import ConsoleJob
from ..admins import audit
from ..clock import utcnow
from ..names.policy import NameRules
from .userid_apply import (
    CONVERTED,
    DONE,
    FAILED,
    SKIPPED,
    Change,
    UndoFile,
    apply_changes,
    plan_revert,
    read_undo,
    restoring_rules,
)
from .userid_migration import CONFLICT, UNRESOLVED, MigrationOptions, plan_from_database

APPLY = "userid-apply"
REVERT = "userid-revert"
RUNNING, FINISHED, FAILED_JOB = "running", "finished", "failed"
# A job still `running` after this long died with its process (a restart): it no
# longer blocks a new one.
STALE_AFTER = timedelta(hours=12)
# The undo file's name in the instance folder (also the CLI's default).
UNDO_NAME = "userid-migration-undo.csv"


class JobRunning(Exception):
    """Another migration job is running; its id is `job_id`."""

    def __init__(self, job_id: int):
        super().__init__(f"migration job {job_id} is still running")
        self.job_id = job_id


def running_job(session: Session) -> ConsoleJob | None:
    return session.scalars(select(ConsoleJob).where(
        ConsoleJob.state == RUNNING, ConsoleJob.started_at > utcnow() - STALE_AFTER)
        .order_by(ConsoleJob.id.desc()).limit(1)).first()


def latest_job(session: Session) -> ConsoleJob | None:
    return session.scalars(select(ConsoleJob).order_by(ConsoleJob.id.desc()).limit(1)).first()


def open_job(session: Session, kind: str, actor: audit.Actor, options: dict) -> ConsoleJob:
    """Record a job about to start (the caller commits, then runs it)."""
    busy = running_job(session)
    if busy is not None:
        raise JobRunning(busy.id)
    job = ConsoleJob(kind=kind, state=RUNNING, actor=actor.name, started_at=utcnow(),
                     done=0, total=0, result={"options": options, "stage": "starting"})
    session.add(job)
    session.flush()
    return job


def _write(engine: Engine, job_id: int, **values) -> None:
    with write_intent(), Session(engine) as session, session.begin():
        session.execute(update(ConsoleJob).where(ConsoleJob.id == job_id).values(**values))


def _progress(engine: Engine, job_id: int) -> Callable[[int, int, float], None]:
    def report(done: int, total: int, _seconds: float) -> None:
        _write(engine, job_id, done=done, total=total)
    return report


def _finish(engine: Engine, job_id: int, actor: audit.Actor, action: str, result: dict,
            state: str = FINISHED) -> None:
    with write_intent(), Session(engine) as session, session.begin():
        job = session.get(ConsoleJob, job_id)
        job.state = state
        job.finished_at = utcnow()
        job.result = {**(job.result or {}), **result}
        summary = ", ".join(f"{k} {v}" for k, v in result.get("summary", {}).items())
        audit.record(session, actor, action,
                     f"job {job_id}: {summary or result.get('error', state)}")


def _summary(report, before: dict | None = None, verb: str = "converted") -> dict:
    counts = report.counts()
    before = before or {}
    return {verb: counts[CONVERTED], "already done": before.get(DONE, 0) + counts[DONE],
            "skipped": before.get(UNRESOLVED, 0) + counts[SKIPPED],
            "conflicts": before.get(CONFLICT, 0), "failed": counts[FAILED]}


def _problems(report) -> list[dict]:
    return [{"old": o.change.old, "new": o.change.new, "status": o.status, "detail": o.detail}
            for o in report.outcomes if o.status in (SKIPPED, FAILED)][:200]


def _backed_up(backup: Callable[[], Path | None], engine: Engine, job_id: int) -> str | None:
    _write(engine, job_id, result={"stage": "backing up"})
    path = backup()
    return str(path) if path else None


def run_apply(engine: Engine, job_id: int, options: MigrationOptions, rules: NameRules,
              undo_path: Path, backup: Callable[[], Path | None], actor: audit.Actor,
              run: str, *, batch_size: int | None = None, pause: float | None = None) -> None:
    """Back up, plan, apply in batches; never raises (a failure is the job's result)."""
    kept = {"options": options_dict(options), "undo_file": str(undo_path)}
    try:
        kept["backup"] = _backed_up(backup, engine, job_id)
        _write(engine, job_id, result={**kept, "stage": "planning"})
        with Session(engine) as session:
            plan = plan_from_database(session, options, rules)
        counts = plan.counts()
        changes = [Change(i.id, i.old, i.new) for i in plan.changes]
        _write(engine, job_id, total=len(changes), result={**kept, "stage": "renaming"})
        undo = UndoFile(undo_path)
        try:
            extra = {k: v for k, v in (("batch_size", batch_size), ("pause", pause))
                     if v is not None}
            report = apply_changes(engine, changes, rules=rules, run=run, undo=undo,
                                   progress=_progress(engine, job_id), **extra)
        finally:
            undo.close()
        _finish(engine, job_id, actor, audit.MIGRATION_APPLIED,
                {**kept, "stage": "done", "summary": _summary(report, counts),
                 "problems": _problems(report)})
    except Exception as exc:  # noqa: BLE001 - the job records why; nothing is left half-reported
        _finish(engine, job_id, actor, audit.MIGRATION_APPLIED,
                {**kept, "stage": "failed", "error": f"{type(exc).__name__}: {exc}"},
                FAILED_JOB)


def run_revert(engine: Engine, job_id: int, undo_path: Path, rules: NameRules,
               backup: Callable[[], Path | None], actor: audit.Actor, run: str, *,
               pause: float | None = None) -> None:
    """Undo what the undo file records, as `migrate-userids --revert FILE --apply`."""
    kept = {"undo_file": str(undo_path)}
    try:
        rows = read_undo(undo_path)
        with Session(engine) as session:
            changes, left = plan_revert(session, rows)
        if changes:
            kept["backup"] = _backed_up(backup, engine, job_id)
        _write(engine, job_id, total=len(changes), result={**kept, "stage": "renaming"})
        extra = {"pause": pause} if pause is not None else {}
        report = apply_changes(engine, changes, rules=restoring_rules(rules), run=run,
                               command="migrate-userids --revert",
                               progress=_progress(engine, job_id), **extra)
        report.outcomes.extend(left)
        _finish(engine, job_id, actor, audit.MIGRATION_REVERTED,
                {**kept, "stage": "done", "summary": _summary(report, verb="restored"),
                 "problems": _problems(report)})
    except Exception as exc:  # noqa: BLE001
        _finish(engine, job_id, actor, audit.MIGRATION_REVERTED,
                {**kept, "stage": "failed", "error": f"{type(exc).__name__}: {exc}"},
                FAILED_JOB)


def options_dict(options: MigrationOptions) -> dict:
    return {"domain": options.domain,
            "rename_domains": [f"{old}={new}" for old, new in options.rename_domains],
            "include_emails": options.include_emails, "sources": list(options.sources)}
