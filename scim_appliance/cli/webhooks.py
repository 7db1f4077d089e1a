"""`scim-appliance webhooks …`: the applications that hear of changes (issue 16).

* `webhooks add URL [--events TYPE ...]` — a new endpoint; prints its id and signing
  secret (`whsec_…`, alone on the last line of stdout, for scripts).
* `webhooks list` / `remove ID` / `rotate-secret ID` / `test ID`.
* `webhooks deliveries [--failed]` — what was sent where, and how it went.
* `webhooks redeliver EVENT_ID | --failed` — send again, with a fresh retry period.
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..domain.clock import to_rfc3339
from ..domain.display import safe_text
from ..domain.events import endpoints as hooks
from ..domain.events import worker
from ..domain.events.catalogue import CATALOGUE
from ..storage.extensions import db
from .common import one_line_errors, ready


@click.group("webhooks")
def webhooks_group():
    """Signed webhooks to the applications that use the directory."""


@webhooks_group.command("add")
@click.argument("url")
@click.option("--events", "event_types", multiple=True, metavar="TYPE",
              help="Event types to send (repeat or comma-separate; 'user.*' for a family); "
                   "default: every type. Types: " + ", ".join(CATALOGUE))
@with_appcontext
@one_line_errors
def webhooks_add(url, event_types):
    """Add an endpoint; it gets the events recorded from now on."""
    ready()
    try:
        added = hooks.add_endpoint(db.session, url, event_types)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Webhook endpoint {added.id} added: {safe_text(added.url)}")
    click.echo(f"Events: {', '.join(added.event_types)}")
    click.echo("Signing secret (shown once here; the receiver verifies with it):")
    click.echo(added.secret)


@webhooks_group.command("list")
@with_appcontext
@one_line_errors
def webhooks_list():
    """The endpoints, their event types and deliveries waiting."""
    ready()
    rows = hooks.list_endpoints(db.session)
    if not rows:
        click.echo("No webhook endpoints; add one with 'scim-appliance webhooks add URL'.")
        return
    for row in rows:
        line = (f"{row.id}  {safe_text(row.url)}  events: {', '.join(row.event_types)}  "
                f"added {to_rfc3339(row.created_at)}")
        if row.previous_secret_until:
            line += f"  previous secret signs until {to_rfc3339(row.previous_secret_until)}"
        click.echo(line)


@webhooks_group.command("remove")
@click.argument("endpoint_id")
@with_appcontext
@one_line_errors
def webhooks_remove(endpoint_id):
    """Remove an endpoint; its pending deliveries are dropped."""
    ready()
    try:
        dropped = hooks.remove_endpoint(db.session, endpoint_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"Removed {safe_text(endpoint_id)} and {dropped} deliver"
               f"{'y' if dropped == 1 else 'ies'}.")


@webhooks_group.command("rotate-secret")
@click.argument("endpoint_id")
@click.option("--overlap-hours", type=float, default=24.0, show_default=True,
              help="How long the current secret keeps signing beside the new one.")
@with_appcontext
@one_line_errors
def webhooks_rotate(endpoint_id, overlap_hours):
    """A new signing secret; both sign until the overlap ends."""
    from datetime import timedelta

    ready()
    if overlap_hours < 0:
        raise click.ClickException("--overlap-hours must not be negative")
    try:
        secret, until = hooks.rotate_secret(db.session, endpoint_id,
                                            timedelta(hours=overlap_hours))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"New secret for {safe_text(endpoint_id)}; the previous one signs too until "
               f"{to_rfc3339(until)}. Give the receiver the new one:")
    click.echo(secret)


@webhooks_group.command("test")
@click.argument("endpoint_id")
@with_appcontext
@one_line_errors
def webhooks_test(endpoint_id):
    """Send a signed `webhook.test` now and say how it went (exit 1 if it failed)."""
    ready()
    try:
        endpoint = hooks.get_endpoint(db.session, endpoint_id)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    event_id, attempt = worker.send_test(endpoint, worker.attempt_timeout(current_app.config))
    if not attempt.ok:
        raise click.ClickException(f"test {event_id} to {safe_text(endpoint.url)} failed: "
                                   f"{attempt.error}")
    click.echo(f"Test {event_id} delivered to {safe_text(endpoint.url)}: HTTP {attempt.status}")


@webhooks_group.command("deliveries")
@click.option("--failed", is_flag=True, help="Only deliveries that failed for good.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@with_appcontext
@one_line_errors
def webhooks_deliveries(failed, limit):
    """The newest deliveries: event, endpoint, status, attempts, last error."""
    ready()
    rows = worker.list_deliveries(db.session, failed=failed, limit=limit)
    if not rows:
        click.echo("No failed deliveries." if failed else "No deliveries.")
        return
    for row in rows:
        line = (f"{row.event_id}  {row.event_type}  {to_rfc3339(row.event_at)}  "
                f"{row.endpoint_id}  {row.status}  attempts {row.attempts}")
        if row.next_attempt_at is not None:
            line += f"  next {to_rfc3339(row.next_attempt_at)}"
        if row.last_status is not None:
            line += f"  HTTP {row.last_status}"
        if row.last_error:
            line += f"  {row.last_error}"
        click.echo(safe_text(line))


@webhooks_group.command("redeliver")
@click.argument("event_id", required=False)
@click.option("--failed", is_flag=True, help="Every delivery that failed for good.")
@with_appcontext
@one_line_errors
def webhooks_redeliver(event_id, failed):
    """Send EVENT_ID again (to every endpoint that had it), or every failed delivery."""
    ready()
    if bool(event_id) == bool(failed):
        raise click.ClickException("name one EVENT_ID, or --failed")
    try:
        count = worker.redeliver(db.session, event_id, failed=failed)
    except LookupError as exc:
        raise click.ClickException(str(exc)) from None
    db.session.commit()
    click.echo(f"{count} deliver{'y' if count == 1 else 'ies'} pending again.")


def register(app) -> None:
    app.cli.add_command(webhooks_group)
