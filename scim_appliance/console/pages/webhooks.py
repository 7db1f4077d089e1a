"""Webhooks: the endpoints that hear of changes, their signing secrets, a test event and
the deliveries (with redelivery). The same domain functions as `scim-appliance webhooks`;
each change is in the audit trail, in the transaction that makes it."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from ...domain.admins import audit
from ...domain.clock import to_rfc3339
from ...domain.events import endpoints as hooks
from ...domain.events import worker
from ...domain.events.catalogue import CATALOGUE
from ...storage.extensions import db
from ..blueprint import actor, bp, paging, render_page
from ..forms import ConfirmForm, WebhookForm

PER_PAGE = 50
NAV = {"active_nav": "console.webhooks"}


def _failed_only() -> bool:
    return request.args.get("failed") == "1"


def _listing(form: WebhookForm | None = None, status: int = 200, error: str | None = None):
    failed = _failed_only()
    page = paging(PER_PAGE)
    return render_page(
        "webhooks.html", status, title="Webhooks", endpoints=hooks.list_endpoints(db.session),
        counts=worker.counts_by_endpoint(db.session), form=form or WebhookForm(),
        confirm=ConfirmForm(), error=error, catalogue=CATALOGUE, failed=failed, paging=page,
        deliveries=worker.list_deliveries(db.session, failed=failed, limit=page.per_page,
                                          offset=page.offset),
        total=worker.count_deliveries(db.session, failed=failed),
        failed_total=worker.count_deliveries(db.session, failed=True),
        pager_args={"failed": "1"} if failed else {}, **NAV)


@bp.get("/webhooks")
def webhooks():
    return _listing()


@bp.post("/webhooks")
def add_webhook():
    form = WebhookForm()
    if not form.validate():
        return _listing(form, 400, "Give the endpoint's URL (http:// or https://, at most "
                                   "2000 characters).")
    try:
        added = hooks.add_endpoint(db.session, form.url.data.strip(),
                                   # commas or spaces between types, as `--events`
                                   [",".join((form.event_types.data or "").split())])
    except ValueError as exc:  # EndpointError, UnknownEventType
        db.session.rollback()
        return _listing(form, 400, f"Not added: {exc}.")
    audit.record(db.session, actor(), audit.WEBHOOK_ADDED,
                 f"{added.id} {added.url} ({', '.join(added.event_types)})")
    db.session.commit()
    # Shown in this answer only (no redirect, no-store), as the SCIM key is.
    return render_page("webhook_secret.html", title="Webhook endpoint added", added=added,
                       secret=added.secret, endpoint_id=added.id, url=added.url,
                       until=None, **NAV)


def _endpoint_or_404(endpoint_id: str):
    try:
        return hooks.get_endpoint(db.session, endpoint_id), None
    except hooks.EndpointError:
        return None, render_page("error.html", 404, title="No such webhook endpoint",
                                 message="There is no webhook endpoint with this id; it may "
                                         "have been removed.")


@bp.route("/webhooks/<endpoint_id>/rotate", methods=["GET", "POST"])
def rotate_webhook_secret(endpoint_id: str):
    endpoint, missing = _endpoint_or_404(endpoint_id)
    if missing:
        return missing
    if request.method == "GET":
        return render_page("webhook_confirm.html", title="Rotate the signing secret?",
                           endpoint=endpoint, form=ConfirmForm(), action="rotate",
                           overlap_hours=hooks.DEFAULT_OVERLAP.total_seconds() / 3600, **NAV)
    secret, until = hooks.rotate_secret(db.session, endpoint.id)
    audit.record(db.session, actor(), audit.WEBHOOK_SECRET_ROTATED,
                 f"{endpoint.id}; the previous secret signs until {to_rfc3339(until)}")
    url = endpoint.url
    db.session.commit()
    return render_page("webhook_secret.html", title="New signing secret", added=None,
                       secret=secret, endpoint_id=endpoint_id, url=url, until=until, **NAV)


@bp.route("/webhooks/<endpoint_id>/remove", methods=["GET", "POST"])
def remove_webhook(endpoint_id: str):
    endpoint, missing = _endpoint_or_404(endpoint_id)
    if missing:
        return missing
    if request.method == "GET":
        return render_page("webhook_confirm.html", title="Remove this webhook endpoint?",
                           endpoint=endpoint, form=ConfirmForm(), action="remove",
                           pending=worker.counts_by_endpoint(db.session)
                           .get(endpoint.id, {}).get("pending", 0), **NAV)
    url = endpoint.url
    dropped = hooks.remove_endpoint(db.session, endpoint.id)
    audit.record(db.session, actor(), audit.WEBHOOK_REMOVED,
                 f"{endpoint_id} {url}; {dropped} deliveries dropped")
    db.session.commit()
    flash(f"Removed the endpoint {endpoint_id} and {dropped} "
          f"deliver{'y' if dropped == 1 else 'ies'}.")
    return redirect(url_for("console.webhooks"))


@bp.post("/webhooks/<endpoint_id>/test")
def test_webhook(endpoint_id: str):
    endpoint, missing = _endpoint_or_404(endpoint_id)
    if missing:
        return missing
    # The request is sent outside any transaction (seconds, maybe): SCIM writers must
    # not wait for a receiver. The endpoint keeps what it loaded.
    db.session.expunge(endpoint)
    db.session.commit()
    db.session.close()
    event_id, attempt = worker.send_test(endpoint, worker.attempt_timeout(current_app.config))
    if attempt.ok:
        text = f"Test {event_id} delivered: HTTP {attempt.status}."
        flash(text)
    else:
        text = f"Test {event_id} failed: {attempt.error}."
        flash(text, "error")
    audit.record(db.session, actor(), audit.WEBHOOK_TESTED, f"{endpoint_id}: {text}")
    db.session.commit()
    return redirect(url_for("console.webhooks"))


@bp.post("/webhooks/redeliver")
def redeliver_webhooks():
    """One event again (`redeliver EVENT_ID`: to every endpoint that had it; receivers
    deduplicate by its id), or every failed delivery (`redeliver --failed`)."""
    event_id = (request.form.get("event_id") or "").strip()
    every_failed = request.form.get("all_failed") == "1"
    if bool(event_id) == every_failed:
        return _listing(status=400, error="Name one event, or redeliver every failed "
                                          "delivery.")
    try:
        count = worker.redeliver(db.session, event_id or None, failed=every_failed)
    except LookupError as exc:
        db.session.rollback()
        return _listing(status=400, error=f"Not redelivered: {exc}.")
    audit.record(db.session, actor(), audit.WEBHOOK_REDELIVERED,
                 f"every failed delivery: {count}" if every_failed
                 else f"event {event_id}: {count}")
    db.session.commit()
    flash(f"{count} deliver{'y is' if count == 1 else 'ies are'} pending again; the "
          "appliance sends them within seconds.")
    return redirect(url_for("console.webhooks", failed="1" if _failed_only() else None))
