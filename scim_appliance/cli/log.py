"""`scim-appliance log` and `scim-appliance notify`: the provisioning log and failure email.

Same contract as cli.py: errors are one line on stderr and a non-zero exit.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, inspect, select

from ..domain.clock import to_rfc3339, utcnow
from ..domain.display import safe_json, safe_text
from ..domain.log import auth_failures
from ..domain.log import store as log_store
from ..domain.notify.mailer import MailError, SmtpSettings, new_message, send_message
from ..domain.notify.notifier import Notifier
from ..storage.extensions import db
from ..storage.models import AuthFailureCount, NotificationDigest, ProvisioningLogEntry
from .common import one_line_errors, ready, tenant_url

# Without --since, the summary of refused requests under `log` covers this much.
REFUSED_SUMMARY = timedelta(hours=24)


@click.command("log")
@click.option("--failures", is_flag=True, help="Only refused requests (status 400 and up).")
@click.option("--since", metavar="WHEN",
              help="ISO date/time (UTC unless it says otherwise) or an age: 30m, 2h, 7d.")
@click.option("--user", "users", multiple=True, metavar="NAME|ID",
              help="Entries about this user (userName or id); repeatable.")
@click.option("--group", "groups", multiple=True, metavar="NAME|ID",
              help="Entries about this group (displayName or id); repeatable.")
@click.option("--unauthenticated", is_flag=True,
              help="The counts of requests refused before the token check, per minute, "
                   "client address and reason, instead of entries.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array.")
@with_appcontext
@one_line_errors
def log_command(failures, since, users, groups, unauthenticated, limit, as_json):
    """The provisioning log, newest first.

    Requests refused before the token check are counted, not logged one by one: a
    line at the end sums them up, --unauthenticated lists the counts.
    """
    ready()
    now = utcnow()
    since_at = None
    if since:
        try:
            since_at = log_store.parse_since(since, now)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    if unauthenticated:
        if failures or users or groups:
            raise click.ClickException("--unauthenticated lists counts of refused requests; "
                                       "they are about no user or group")
        _refused_counts(since_at, limit, as_json)
        return
    rows = []
    if inspect(db.engine).has_table(ProvisioningLogEntry.__tablename__):
        rows = log_store.list_entries(db.session, failures_only=failures, since=since_at,
                                      users=users, groups=groups, limit=limit)
    if as_json:
        click.echo(safe_json([entry_as_dict(r) for r in rows], indent=1))
        return
    if not rows:
        click.echo("No matching entries.")
    for row in rows:
        click.echo(entry_as_line(row))
    if not (users or groups):
        summary = _refused_summary(since_at or now - REFUSED_SUMMARY, since_at is None)
        if summary:
            click.echo(summary)


def _has_counts() -> bool:
    # On the session's connection: a second one would wait for its write intent.
    return inspect(db.session.connection()).has_table(AuthFailureCount.__tablename__)


def _refused_summary(start, default_period: bool) -> str | None:
    """One line on the requests refused before the token check since `start`."""
    if not _has_counts():
        return None
    summary = auth_failures.summarize(db.session, auth_failures.since(start))
    if not summary.requests:
        return None
    period = "in the last 24 h" if default_period else f"since {to_rfc3339(start)}"
    reasons = ", ".join(f"{n} with {auth_failures.REASONS.get(r, r)}"
                        for r, n in summary.by_reason.items())
    return safe_text(f"+ {summary.requests} requests refused before the token check "
                     f"{period}, from {summary.addresses} address"
                     f"{'es' * (summary.addresses != 1)} ({reasons}); counted, not "
                     "listed: scim-appliance log --unauthenticated")


def refusal_as_dict(row: AuthFailureCount) -> dict:
    return {"minute": to_rfc3339(row.minute), "client": row.client, "reason": row.reason,
            "requests": row.requests, "first": to_rfc3339(row.first_at),
            "last": to_rfc3339(row.last_at), "examples": row.examples or [],
            "email": "mailed" if row.digest_id else None}


def refusal_as_line(row: AuthFailureCount) -> str:
    """One line per minute, client and reason; every value neutralised."""
    client = "other addresses" if row.client == auth_failures.OTHERS else row.client
    examples = ", ".join(f"{e.get('method')} {e.get('path')} (id {e.get('request_id')})"
                         for e in row.examples or [])
    return safe_text(f"{to_rfc3339(row.minute)}  {row.requests:>6}  {row.reason:<14}  "
                     f"{client}  e.g. {examples}")


def _refused_counts(since_at, limit: int, as_json: bool) -> None:
    rows = auth_failures.list_counts(db.session, since_at=since_at, limit=limit) \
        if _has_counts() else []
    if as_json:
        click.echo(safe_json([refusal_as_dict(r) for r in rows], indent=1))
        return
    if not rows:
        click.echo("No requests were refused before the token check.")
    for row in rows:
        click.echo(refusal_as_line(row))


def entry_as_dict(row: ProvisioningLogEntry) -> dict:
    notified = None
    if row.failure_kind:
        notified = "pending" if row.notify_pending else ("mailed" if row.digest_id else None)
    return {
        "time": to_rfc3339(row.at), "request_id": row.request_id, "client": row.client,
        "method": row.method, "path": row.path, "resource_type": row.resource_type,
        "resource_id": row.resource_id, "resource_name": row.resource_name,
        "operation": row.operation, "action": row.action, "changes": row.changes,
        "status": row.status, "scim_type": row.scim_type, "detail": row.detail,
        "failure_kind": row.failure_kind, "email": notified,
        "duration_ms": round(row.duration_us / 1000, 3),
    }


def entry_as_line(row: ProvisioningLogEntry) -> str:
    """One line per entry; every value in it neutralised (domain/display.py)."""
    obj = row.resource_type or "-"
    if row.resource_name:
        obj += f" {row.resource_name}"
    elif row.resource_id:
        obj += f" {row.resource_id}"
    parts = [to_rfc3339(row.at), str(row.status), f"{row.action:<15}", obj,
             f"({row.method} {row.path})"]
    what = _changes_text(row.changes or {})
    if what:
        parts.append(what)
    if row.status >= 400:
        error = row.scim_type + ": " if row.scim_type else ""
        parts.append(f"[{row.failure_kind}] {error}{row.detail or ''}".rstrip())
    parts.append(f"{row.duration_us / 1000:.1f} ms  id {row.request_id}")
    return safe_text("  ".join(parts))


def _changes_text(changes: dict) -> str:
    out = []
    if changes.get("attributes"):
        out.append(", ".join(changes["attributes"]))
    if "active" in changes:
        out.append(f"active={str(changes['active']).lower()}")
    members = []
    if changes.get("members_added"):
        members.append(f"+{changes['members_added']}")
    if changes.get("members_removed"):
        members.append(f"-{changes['members_removed']}")
    if changes.get("members_removed_all"):
        members.append("all removed")
    if "members_replaced" in changes:
        members.append(f"replaced by {changes['members_replaced']}")
    if members:
        out.append("members " + " ".join(members))
    if changes.get("filter"):
        results = changes.get("results")
        out.append(changes["filter"] + (f" -> {results}" if results is not None else ""))
    elif "results" in changes:
        out.append(f"{changes['results']} results")
    return "; ".join(out)


@click.group("notify")
def notify_group():
    """Failure email to the administrator (SMTP_* and NOTIFY_* settings)."""


def _settings() -> SmtpSettings:
    try:
        settings = SmtpSettings.from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if settings is None:
        raise click.ClickException("failure email is off: set SMTP_HOST and NOTIFY_TO")
    return settings


@notify_group.command("test")
@with_appcontext
@one_line_errors
def notify_test():
    """Send a test email now; prints success or the SMTP error in one line."""
    settings = _settings()
    msg = new_message(settings, "[scim-appliance] test email",
                      f"This is a test email from the SCIM appliance at "
                      f"{tenant_url(current_app)}.\nFailure digests will arrive like this "
                      "one.\n")
    try:
        accepted = send_message(settings, msg)
    except MailError as exc:
        raise click.ClickException(str(exc)) from None
    refused = [r for r in settings.recipients if r not in accepted]
    note = f" ({', '.join(refused)} refused)" if refused else ""
    click.echo(f"Sent a test email to {', '.join(accepted)} via {settings.describe()}{note}.")


@notify_group.command("flush")
@with_appcontext
@one_line_errors
def notify_flush():
    """Mail the failures waiting for the next digest now."""
    settings = _settings()
    ready()
    notifier = Notifier(db.engine, settings, instance=tenant_url(current_app),
                        window_seconds=float(current_app.config["NOTIFY_DIGEST_SECONDS"]))
    outcome = notifier.run_once(force=True)
    if outcome.status == "sent":
        click.echo(f"Sent a digest of {outcome.failures} failure"
                   f"{'s' * (outcome.failures != 1)} to {', '.join(settings.recipients)}.")
    elif outcome.status == "nothing":
        click.echo("No failures are waiting to be mailed.")
    elif outcome.status == "conflict":
        raise click.ClickException("another process was mailing these failures at the same "
                                   "time; run 'scim-appliance notify status'")
    elif outcome.status == "unconfirmed":
        raise click.ClickException(f"the mail server's answer never came back "
                                   f"({outcome.message}); these failures will not be mailed "
                                   "again, the next digest says so")
    else:
        raise click.ClickException(outcome.message or outcome.status)


@notify_group.command("status")
@with_appcontext
@one_line_errors
def notify_status():
    """Whether failure email is on, failures waiting, and the last digest."""
    ready()
    try:
        settings = SmtpSettings.from_config(current_app.config)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("failure email: " + (f"on, to {', '.join(settings.recipients)} via "
                                    f"{settings.describe()}" if settings else "off"))
    if not inspect(db.engine).has_table(NotificationDigest.__tablename__):
        return
    pending = db.session.execute(select(func.count()).where(
        ProvisioningLogEntry.notify_pending.is_(True))).scalar_one()
    click.echo(f"failures waiting: {pending}")
    if _has_counts():
        day = auth_failures.summarize(db.session,
                                      auth_failures.since(utcnow() - REFUSED_SUMMARY))
        replaced = day.by_reason.get(auth_failures.REPLACED_TOKEN, 0)
        click.echo(f"refused before the token check (last 24 h): {day.requests} requests "
                   f"from {day.addresses} address{'es' * (day.addresses != 1)}, {replaced} "
                   "with a replaced Secret Token")
    last = db.session.execute(select(NotificationDigest)
                              .order_by(NotificationDigest.id.desc()).limit(1)).scalar()
    if last is not None:
        error = f" ({last.error})" if last.error else ""  # the mail server's words
        click.echo(safe_text(f"last digest: {last.state}, {last.failures} failures, "
                             f"{to_rfc3339(last.created_at)}{error}"))


def register(app) -> None:
    app.cli.add_command(log_command)
    app.cli.add_command(notify_group)
