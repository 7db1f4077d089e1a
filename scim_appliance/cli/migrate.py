"""`scim-appliance migrate-userids`: legacy user IDs -> email-based ones (issue 6).

Also run as `scripts/convert_userids_to_email.py`. The plan is
domain/accounts/userid_migration.py, applying and reverting
domain/accounts/userid_apply.py, the backup storage/backup.py; this module only reads
options and prints.

Exit status: 0; 1 for a failure, or with `--strict` when the plan has conflicts or
unresolved users (nothing is changed then) or a rename failed during the run.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..domain.accounts.local_accounts import SOURCES
from ..domain.accounts.userid_apply import (
    BATCH_SIZE,
    CONVERTED,
    DONE,
    FAILED,
    PAUSE,
    SKIPPED,
    ApplyReport,
    Change,
    UndoFile,
    apply_changes,
    plan_revert,
    read_undo,
    restoring_rules,
)
from ..domain.accounts.userid_jobs import UNDO_NAME
from ..domain.accounts.userid_migration import (
    CONFLICT,
    CONVERT,
    EXCLUDED,
    UNRESOLVED,
    MigrationOptions,
    Plan,
    format_item,
    parse_rename,
    plan_csv,
    plan_from_database,
    plan_json,
)
from ..domain.clock import utcnow
from ..domain.display import safe_text
from ..domain.names.policy import rules_from_config
from ..storage.backup import BEFORE_USERID_MIGRATION, BEFORE_USERID_REVERT, BackupUnsupported
from ..storage.extensions import db
from ..storage.private_files import write_private
from .common import automatic_backup, one_line_errors, ready


class _Progress:
    """Progress on stderr, at most twice a second and at the end."""

    def __init__(self, label: str):
        self.label = label
        self.last = 0.0

    def __call__(self, done: int, total: int, seconds: float) -> None:
        now = time.monotonic()
        if done < total and now - self.last < 0.5:
            return
        self.last = now
        rate = done / seconds if seconds else 0.0
        click.echo(f"{self.label}: {done}/{total} users ({done * 100 // max(total, 1)}%), "
                   f"{seconds:.1f} s, {rate:.0f} users/s", err=True)


def _write_plan(plan: Plan, path: Path) -> None:
    text = plan_json(plan) if path.suffix.lower() == ".json" else plan_csv(plan.items)
    write_private(path, text)  # 0600: the plan lists every user
    click.echo(f"Plan written to {path}")


def _backup(no_backup: bool, reason: str = BEFORE_USERID_MIGRATION) -> None:
    if no_backup:
        click.echo("No backup taken (--no-backup).")
        return
    try:
        path = automatic_backup(current_app, reason)
    except BackupUnsupported as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup: {path}")


def _run_id(operation: str) -> str:
    return f"{operation}-{utcnow().strftime('%Y%m%dT%H%M%SZ')}"


def _report(report: ApplyReport, before: dict[str, int] | None = None,
            verb: str = "converted") -> dict[str, int]:
    """Print what did not convert and the figures; return the summary counts."""
    for outcome in report.outcomes:
        if outcome.status in (SKIPPED, FAILED):
            c = outcome.change
            click.echo(safe_text(f"[{outcome.status}] {c.old} -> {c.new}  {outcome.detail}"))
    counts = report.counts()
    before = before or {}
    summary = {verb: counts[CONVERTED],
               "already done": before.get(DONE, 0) + counts[DONE],
               "skipped": before.get(UNRESOLVED, 0) + counts[SKIPPED],
               "conflicts": before.get(CONFLICT, 0),
               "failed": counts[FAILED]}
    click.echo("Summary: " + ", ".join(f"{k} {v}" for k, v in summary.items()))
    if report.batches:
        click.echo(f"{report.batches} batches in {report.seconds:.1f} s "
                   f"({report.rate:.0f} users/s); longest write-lock hold "
                   f"{report.longest_hold * 1000:.0f} ms, longest wait for it "
                   f"{max(report.waits) * 1000:.0f} ms")
    return summary


@click.command("migrate-userids")
@click.option("--domain", metavar="DOMAIN",
              help="For users without a primary or work email: <local part>@DOMAIN.")
@click.option("--rename-domain", "renames", multiple=True, metavar="OLD=NEW",
              help="Rewrite the domain of the new IDs (and of email IDs); repeatable.")
@click.option("--include-emails", is_flag=True,
              help="Also map IDs that are already email addresses (to the user's email, "
                   "or --domain).")
@click.option("--source", type=click.Choice(SOURCES), default=None,
              help="Only users from SCIM Synchronization or local ones (default: all).")
@click.option("--allow-sanitized", is_flag=True,
              help="In sanitize mode, convert to IDs that break the name rules too (their "
                   "derived name downstream is kept).")
@click.option("--apply", "do_apply", is_flag=True, help="Make the changes (default: dry run).")
@click.option("--strict", is_flag=True,
              help="Refuse the whole run (exit 1) if any user has a conflict or no target.")
@click.option("--plan-out", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the plan to this file (.json, else CSV).")
@click.option("--undo-file", type=click.Path(dir_okay=False, path_type=Path),
              help=f"Append the undo rows here (default: the instance folder's {UNDO_NAME}).")
@click.option("--revert", "revert_file", metavar="UNDO_FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Undo the changes recorded in an undo file (with --apply).")
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=BATCH_SIZE,
              show_default=True, help="Users per transaction.")
@click.option("--pause", type=click.FloatRange(0), default=PAUSE, show_default=True,
              help="Seconds between batches, so waiting SCIM requests get the database.")
@click.option("--no-backup", is_flag=True,
              help="Do not copy the database first (required for non-SQLite databases, "
                   "after backing them up yourself).")
@with_appcontext
@one_line_errors
def migrate_userids(domain, renames, include_emails, source, allow_sanitized, do_apply,
                    strict, plan_out, undo_file, revert_file, batch_size, pause, no_backup):
    """Convert legacy user IDs (jdoe, CONTOSO\\jdoe) to email-based ones, so that Entra's
    match by userName finds the existing accounts.

    A dry run unless --apply: prints the plan (old -> new, reason, problems). With
    --apply: backs up the database, renames in short batches while SCIM requests are
    served, appends new -> old rows to the undo file, and records each rename in the
    provisioning log. Safe to run again: converted users show as done.
    """
    ready()
    rules = rules_from_config(current_app.config)
    if revert_file is not None:
        _revert(revert_file, rules, do_apply, batch_size, pause, no_backup, strict)
        return
    try:
        options = MigrationOptions(domain=domain, rename_domains=parse_rename(renames),
                                   include_emails=include_emails,
                                   allow_sanitized=allow_sanitized,
                                   sources=(source,) if source else SOURCES)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if allow_sanitized and rules.user.rejects:
        raise click.ClickException("--allow-sanitized needs NAME_RULES_MODE sanitize: in "
                                   "reject mode the appliance refuses such names itself")
    try:
        plan = plan_from_database(db.session, options, rules)
    finally:
        db.session.remove()  # no read transaction left open during the batches
    shown = plan.changes + plan.problems if not do_apply else plan.problems
    for item in shown:
        click.echo(format_item(item))
    if plan_out is not None:
        _write_plan(plan, plan_out)
    counts = plan.counts()
    excluded = f", {counts[EXCLUDED]} not selected (--source)" if counts[EXCLUDED] else ""
    click.echo(f"Plan: {counts[CONVERT]} to convert, {counts['done']} already done, "
               f"{counts[UNRESOLVED]} unresolved, {counts[CONFLICT]} conflicts{excluded}.")
    if strict and plan.problems:
        raise click.ClickException(f"refused (--strict): {counts[CONFLICT]} conflicts and "
                                   f"{counts[UNRESOLVED]} unresolved users; nothing was "
                                   "changed")
    if not do_apply:
        click.echo("Dry run: nothing was changed. Run again with --apply to convert.")
        return
    if not plan.changes:
        _report(ApplyReport(), counts)
        return
    _backup(no_backup)
    undo_path = undo_file or Path(current_app.instance_path) / UNDO_NAME
    undo = UndoFile(undo_path)
    try:
        report = apply_changes(
            db.engine, [Change(i.id, i.old, i.new) for i in plan.changes], rules=rules,
            run=_run_id("migrate-userids"), undo=undo, batch_size=batch_size, pause=pause,
            progress=_Progress("migrate-userids"))
    finally:
        undo.close()
    click.echo(f"Undo file: {undo_path} (scim-appliance migrate-userids --revert "
               f"{undo_path} --apply)")
    summary = _report(report, counts)
    if strict and summary["failed"]:
        raise click.ClickException(f"{summary['failed']} renames failed (--strict)")


def _revert(path: Path, rules, do_apply, batch_size, pause, no_backup, strict) -> None:
    try:
        rows = read_undo(path)
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        changes, left = plan_revert(db.session, rows)
    finally:
        db.session.remove()
    if not do_apply:
        for outcome in left:  # an applied run lists them once, in its report
            if outcome.status == SKIPPED:
                c = outcome.change
                click.echo(safe_text(f"[skipped] {c.old} -> {c.new}  {outcome.detail}"))
        for c in changes:
            click.echo(safe_text(f"[revert] {c.old} -> {c.new}"))
        click.echo(f"Revert plan: {len(changes)} to restore, "
                   f"{sum(o.status == DONE for o in left)} already restored, "
                   f"{sum(o.status == SKIPPED for o in left)} left alone.")
        click.echo("Dry run: nothing was changed. Run again with --apply to revert.")
        return
    if changes:
        _backup(no_backup, BEFORE_USERID_REVERT)
    report = apply_changes(db.engine, changes, rules=restoring_rules(rules),
                           run=_run_id("migrate-userids-revert"),
                           command="migrate-userids --revert",
                           batch_size=batch_size, pause=pause,
                           progress=_Progress("migrate-userids --revert"))
    report.outcomes.extend(left)
    summary = _report(report, verb="restored")
    if strict and summary["failed"]:
        raise click.ClickException(f"{summary['failed']} renames failed (--strict)")


def register(app: Flask) -> None:
    app.cli.add_command(migrate_userids)

