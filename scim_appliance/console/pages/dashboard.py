"""Dashboard: is provisioning healthy, and what needs attention?"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from ...domain.access import appliance
from ...domain.clock import utcnow
from ...domain.log.activity import activity_since, latest_failures
from ...domain.log.failure_kinds import KINDS, OTHER
from ...domain.notify.mailer import notifications_configured
from ...storage import migrations
from ...storage.extensions import db
from ..blueprint import bp, render_page


def attention(sync_on: bool, token, email_on: bool) -> list[tuple[str, str]]:
    """(what, what to do, as an endpoint) for each thing an administrator should fix."""
    items = []
    if not sync_on:
        items.append(("SCIM synchronization is off: Entra's requests are refused with 403.",
                      "console.scim_settings"))
    if not token.active:
        items.append(("No Secret Token has been issued: create one and paste it into Entra.",
                      "console.scim_settings"))
    elif token.last_used_at is None:
        items.append(("The Secret Token has never been used: paste it into Entra's Admin "
                      "Credentials and choose Test Connection.", "console.scim_settings"))
    if not email_on:
        items.append(("Failure email is off: nobody hears of failed provisioning until they "
                      "look here (set SMTP_HOST and NOTIFY_TO).", "console.notifications"))
    return items


@bp.get("/")
def dashboard():
    now = utcnow()
    token = appliance.token_status(db.session)
    sync_on = appliance.sync_enabled(db.session)
    activity = activity_since(db.session, now - timedelta(hours=24))
    failures = [(entry, KINDS.get(entry.failure_kind or OTHER, KINDS[OTHER]))
                for entry in latest_failures(db.session)]
    schema = migrations.engine_status(db.engine)
    email_on = notifications_configured(current_app.config)
    return render_page("dashboard.html", title="Dashboard", token=token, sync_on=sync_on,
                       activity=activity, failures=failures, schema=schema,
                       email_on=email_on,
                       attention=attention(sync_on, token, email_on))
