"""Notifications: is failure email on, to whom, through which server; the last digest
and what waits; a test email and a digest sent now (the `notify` commands' code)."""

from __future__ import annotations

from flask import current_app, flash, redirect, url_for
from sqlalchemy import func, select

from ...domain.access import endpoint
from ...domain.admins import audit
from ...domain.notify.mailer import MailError, SmtpSettings, new_message, send_message
from ...domain.notify.notifier import Notifier
from ...storage.extensions import db
from ...storage.models import NotificationDigest, ProvisioningLogEntry
from ..blueprint import actor, bp, render_page
from ..forms import ConfirmForm
from .directory_common import scim_base


def _settings() -> tuple[SmtpSettings | None, str | None]:
    try:
        return SmtpSettings.from_config(current_app.config), None
    except ValueError as exc:
        return None, str(exc)


@bp.get("/notifications")
def notifications():
    settings, problem = _settings()
    pending = db.session.scalar(select(func.count()).where(
        ProvisioningLogEntry.notify_pending.is_(True))) or 0
    last = db.session.scalars(select(NotificationDigest)
                              .order_by(NotificationDigest.id.desc()).limit(1)).first()
    return render_page("notifications.html", title="Notifications", settings=settings,
                       problem=problem, pending=pending, last=last, form=ConfirmForm(),
                       interval=current_app.config.get("NOTIFY_DIGEST_SECONDS"))


def _release_the_database() -> None:
    """End the request's transaction before talking SMTP (seconds, maybe): SCIM
    writers must not wait for a mail server."""
    db.session.commit()
    db.session.close()


def _record(action: str, detail: str) -> None:
    audit.record(db.session, actor(), action, detail)
    db.session.commit()


@bp.post("/notifications/test")
def send_test_email():
    settings, problem = _settings()
    if settings is None:
        flash(problem or "Failure email is off: set SMTP_HOST and NOTIFY_TO.", "error")
        return redirect(url_for("console.notifications"))
    _release_the_database()
    msg = new_message(settings, "[scim-appliance] test email",
                      f"This is a test email from the SCIM appliance at "
                      f"{endpoint.tenant_url(current_app.config.get('PUBLIC_URL'), scim_base())}"
                      ".\nFailure digests will arrive like this one.\n")
    try:
        accepted = send_message(settings, msg)
    except MailError as exc:
        _record(audit.TEST_EMAIL, f"failed: {exc}")
        flash(f"The test email was not sent: {exc}", "error")
    else:
        _record(audit.TEST_EMAIL, f"sent to {', '.join(accepted)}")
        flash(f"Sent a test email to {', '.join(accepted)} via {settings.describe()}.")
    return redirect(url_for("console.notifications"))


@bp.post("/notifications/send-now")
def send_pending_now():
    settings, problem = _settings()
    if settings is None:
        flash(problem or "Failure email is off: set SMTP_HOST and NOTIFY_TO.", "error")
        return redirect(url_for("console.notifications"))
    _release_the_database()
    notifier = Notifier(db.engine, settings, instance=scim_base(),
                        window_seconds=float(current_app.config["NOTIFY_DIGEST_SECONDS"]))
    outcome = notifier.run_once(force=True)
    if outcome.status == "sent":
        text = f"Sent a digest of {outcome.failures} failure{'s' * (outcome.failures != 1)}."
        flash(text)
    elif outcome.status == "nothing":
        text = "No failures are waiting to be mailed."
        flash(text)
    else:
        text = f"Not sent ({outcome.status}): {outcome.message}"
        flash(text, "error")
    _record(audit.DIGEST_SENT, text)
    return redirect(url_for("console.notifications"))
