"""Migration: legacy user IDs (jdoe, CONTOSO\\jdoe) to email-based ones, so that
Entra's match by userName finds the existing accounts. The dry run is a plain GET;
Apply and Revert (each confirmed) start a job on a thread of this process
(domain/accounts/userid_jobs.py: the migrate-userids code) and the job page polls its
progress from the database, so no request waits for the run."""

from __future__ import annotations

import threading
from pathlib import Path

from flask import Response, current_app, flash, redirect, request, url_for

from ...domain.accounts import userid_jobs
from ...domain.accounts.local_accounts import SOURCES
from ...domain.accounts.userid_migration import (
    CONFLICT,
    CONVERT,
    UNRESOLVED,
    MigrationOptions,
    parse_rename,
    plan_csv,
    plan_from_database,
)
from ...domain.admins.audit import Actor
from ...domain.clock import utcnow
from ...domain.names.policy import rules_from_config
from ...storage import backup as backups
from ...storage.extensions import db
from ...storage.models import ConsoleJob
from ..blueprint import actor, bp, paging, render_page
from ..forms import ConfirmForm

EXAMPLES_PER_PAGE = 50


def launch(work) -> None:
    """Run `work` on a thread of its own (tests replace this to run it inline)."""
    threading.Thread(target=work, name="console-migration", daemon=True).start()


def _form_values(source) -> dict:
    return {"domain": (source.get("domain") or "").strip()[:253],
            "rename": (source.get("rename") or "").strip()[:2000],
            "include_emails": bool(source.get("include_emails")),
            "source": source.get("source") or "",
            "no_backup": bool(source.get("no_backup"))}


def _options(values: dict) -> MigrationOptions:
    """Raises ValueError with the CLI's wording for a bad domain or rename."""
    renames = [line for line in values["rename"].replace(",", "\n").splitlines() if line.strip()]
    if values["source"] and values["source"] not in SOURCES:
        raise ValueError("the source is scim or local")
    return MigrationOptions(domain=values["domain"] or None,
                            rename_domains=parse_rename(renames),
                            include_emails=values["include_emails"],
                            sources=(values["source"],) if values["source"] else SOURCES)


def _undo_path() -> Path:
    return Path(current_app.instance_path) / userid_jobs.UNDO_NAME


def _query_args(values: dict) -> dict:
    return {k: ("1" if v is True else v) for k, v in values.items() if v}


@bp.get("/migration")
def migration():
    values = _form_values(request.args)
    plan = error = None
    page = paging(per_page=EXAMPLES_PER_PAGE)
    if request.args.get("dry_run"):
        try:
            plan = plan_from_database(db.session, _options(values),
                                      rules_from_config(current_app.config))
        except ValueError as exc:
            error = str(exc)
    examples = plan.changes[page.offset:page.offset + page.per_page] if plan else []
    return render_page("migration.html", 400 if error else 200, title="Migration",
                       values=values, plan=plan, error=error, examples=examples,
                       problems=plan.problems[:200] if plan else [],
                       counts=plan.counts() if plan else None, paging=page,
                       args=_query_args({**values, "dry_run": True}),
                       job=userid_jobs.latest_job(db.session),
                       undo_exists=_undo_path().exists(), CONVERT=CONVERT,
                       CONFLICT=CONFLICT, UNRESOLVED=UNRESOLVED)


@bp.get("/migration/plan.csv")
def migration_plan_csv():
    values = _form_values(request.args)
    try:
        plan = plan_from_database(db.session, _options(values),
                                  rules_from_config(current_app.config))
    except ValueError as exc:
        return render_page("error.html", 400, title="Migration", message=str(exc))
    return Response(plan_csv(plan.items), mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=userid-migration-plan.csv"})


@bp.get("/migration/undo.csv")
def migration_undo_file():
    path = _undo_path()
    if not path.exists():
        return render_page("error.html", 404, title="No undo file",
                           message="No migration has been applied from this instance yet.")
    return Response(path.read_bytes(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename={userid_jobs.UNDO_NAME}"})


def _backup_step(skip: bool, reason: str):
    engine = db.engine
    folder = Path(current_app.instance_path) / backups.BACKUP_DIR
    keep = int(current_app.config.get("BACKUP_KEEP") or 0)

    def step():
        if skip:
            return None
        return backups.automatic_backup(engine, folder, reason, keep)
    return step


def _confirm_page(kind: str, values: dict, counts=None, error=None, status=200):
    return render_page("migration_confirm.html", status, kind=kind, values=values,
                       counts=counts, error=error, form=ConfirmForm(),
                       sqlite=db.engine.dialect.name == "sqlite", undo_path=_undo_path(),
                       title="Apply the migration?" if kind == userid_jobs.APPLY
                       else "Revert the migration?", active_nav="console.migration")


@bp.get("/migration/apply")
def migration_apply_confirm():
    values = _form_values(request.args)
    try:
        plan = plan_from_database(db.session, _options(values),
                                  rules_from_config(current_app.config))
    except ValueError as exc:
        return _confirm_page(userid_jobs.APPLY, values, error=str(exc), status=400)
    return _confirm_page(userid_jobs.APPLY, values, plan.counts())


@bp.get("/migration/revert")
def migration_revert_confirm():
    return _confirm_page(userid_jobs.REVERT, _form_values(request.args))


def _start(kind: str, values: dict, work) -> Response:
    who = actor()
    try:
        job = userid_jobs.open_job(db.session, kind, who, _query_args(values))
    except userid_jobs.JobRunning as busy:
        db.session.rollback()
        flash(str(busy).capitalize() + ".", "error")
        return redirect(url_for("console.migration_job", job_id=busy.job_id))
    db.session.commit()
    job_id = job.id
    app = current_app._get_current_object()

    def run():
        with app.app_context():
            work(job_id, who)
    launch(run)
    return redirect(url_for("console.migration_job", job_id=job_id))


def _not_backed_up(values: dict) -> str | None:
    if db.engine.dialect.name != "sqlite" and not values["no_backup"]:
        return ("The appliance can copy only a SQLite database itself: back the database up "
                "(pg_dump), then tick 'I have backed up the database'.")
    return None


@bp.post("/migration/apply")
def migration_apply():
    values = _form_values(request.form)
    try:
        options = _options(values)
    except ValueError as exc:
        return _confirm_page(userid_jobs.APPLY, values, error=str(exc), status=400)
    problem = _not_backed_up(values)
    if problem:
        return _confirm_page(userid_jobs.APPLY, values, error=problem, status=400)
    rules = rules_from_config(current_app.config)
    backup = _backup_step(values["no_backup"], backups.BEFORE_USERID_MIGRATION)
    undo = _undo_path()
    run_id = f"migrate-userids-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    engine = db.engine

    def work(job_id: int, who: Actor):
        userid_jobs.run_apply(engine, job_id, options, rules, undo, backup, who, run_id)
    return _start(userid_jobs.APPLY, values, work)


@bp.post("/migration/revert")
def migration_revert():
    values = _form_values(request.form)
    undo = _undo_path()
    if not undo.exists():
        return _confirm_page(userid_jobs.REVERT, values, status=400,
                             error="There is no undo file: nothing was applied from here.")
    problem = _not_backed_up(values)
    if problem:
        return _confirm_page(userid_jobs.REVERT, values, error=problem, status=400)
    rules = rules_from_config(current_app.config)
    backup = _backup_step(values["no_backup"], backups.BEFORE_USERID_REVERT)
    run_id = f"migrate-userids-revert-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"
    engine = db.engine

    def work(job_id: int, who: Actor):
        userid_jobs.run_revert(engine, job_id, undo, rules, backup, who, run_id)
    return _start(userid_jobs.REVERT, values, work)


@bp.get("/migration/jobs/<int:job_id>")
def migration_job(job_id: int):
    job = db.session.get(ConsoleJob, job_id)
    if job is None:
        return render_page("error.html", 404, title="No such job",
                           message="There is no migration job with this id.")
    result = job.result or {}
    return render_page("migration_job.html", title=f"Migration job {job.id}", job=job,
                       result=result, running=job.state == userid_jobs.RUNNING,
                       percent=(job.done * 100 // job.total) if job.total else 0,
                       APPLY=userid_jobs.APPLY, active_nav="console.migration")
