"""Dashboard: is provisioning healthy, and what needs attention?"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from ...domain.access import appliance
from ...domain.clock import utcnow
from ...domain.log.activity import activity_since, latest_failures
from ...domain.log.failure_kinds import KINDS, OTHER
from ...domain.notify.mailer import notifications_configured
from ...domain.query.seats import active_users, seat_level
from ...domain.resources.seats import describe_usage
from ...storage import migrations
from ...storage.extensions import db
from ..blueprint import bp, render_page

SEAT_ADVICE = ("Raise MAX_ACTIVE_USERS in instance/config.py and restart the appliance, or "
               "narrow the scope in Entra to assigned users and groups (README, \"Seat cap\").")


def attention(sync_on: bool, token, email_on: bool,
              seats: dict | None = None) -> list[tuple[str, str]]:
    """(what, what to do, as an endpoint) for each thing an administrator should fix."""
    items = []
    if seats and seats["level"] == "full":
        items.append((f"Seat cap reached: {seats['usage']} Entra's creates and enables "
                      f"are refused with 403. {SEAT_ADVICE}", "console.users"))
    elif seats and seats["level"] == "near":
        items.append((f"Seat cap nearly reached: {seats['usage']} {SEAT_ADVICE}",
                      "console.users"))
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
    cap = int(current_app.config.get("MAX_ACTIVE_USERS") or 0)
    count = active_users(db.session)
    seats = {"count": count, "cap": cap, "level": seat_level(count, cap),
             "usage": describe_usage(db.session, cap)}
    return render_page("dashboard.html", title="Dashboard", token=token, sync_on=sync_on,
                       activity=activity, failures=failures, schema=schema,
                       email_on=email_on, seats=seats,
                       attention=attention(sync_on, token, email_on, seats))
