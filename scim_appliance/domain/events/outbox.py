"""The transactional outbox: an event is a row written in the change's own transaction.

The resource and access services call `record` right after their write, on the same
session, so the event commits with the change or not at all (a request that fails
rolls both back), and a crash can lose neither without the other. One delivery row
per endpoint that wants the type is written in the same transaction; the delivery
worker (worker.py) sends them later, so no SCIM request waits for a receiver. With no
endpoint wanting the type, nothing is written and the resource is not even rendered:
the cost of events is one indexed read of the endpoints per transaction.

Who caused a change (the request id) and the URLs the resource is rendered with come
from the session's `EventContext`, bound by the SCIM edge per request (`bind`), or
the process default (`configure`, set by create_app from PUBLIC_URL) for the CLI.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session, scoped_session

from ...storage.models import Event, WebhookDelivery, WebhookEndpoint
from ..clock import to_rfc3339, utcnow
from ..query.direct_reads import Prepared, Reads
from .catalogue import wants


@dataclass(frozen=True)
class EventContext:
    """What an event says about where its change came from."""

    request_id: str | None = None
    base_url: str = "http://127.0.0.1:8080/scim"


_CONTEXT = "scim_appliance.events.context"
_ENDPOINTS = "scim_appliance.events.endpoints"
_default = EventContext()


def configure(base_url: str) -> None:
    """The SCIM base URL resources are rendered with when no request bound one."""
    global _default
    _default = EventContext(None, base_url.rstrip("/"))


def bind(session: Session, request_id: str | None, base_url: str | None = None) -> None:
    """Events recorded on this session carry `request_id` and render with `base_url`."""
    session.info[_CONTEXT] = EventContext(request_id, (base_url or _default.base_url))


def context_of(session: Session) -> EventContext:
    return session.info.get(_CONTEXT) or _default


_ENDPOINT_QUERY = Prepared(select(WebhookEndpoint.id, WebhookEndpoint.event_types))


def _endpoints(session: Session) -> list:
    """The endpoints, read once per transaction (an endpoint added by the CLI in another
    process counts from the next transaction on)."""
    if isinstance(session, scoped_session):  # Flask-SQLAlchemy's db.session
        session = session()
    transaction = session.get_transaction()
    cached = session.info.get(_ENDPOINTS)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1]
    rows = Reads.within(session).all(_ENDPOINT_QUERY)
    session.info[_ENDPOINTS] = (transaction, rows)
    return rows


def forget_endpoints(session: Session) -> None:
    """Drop the cached endpoint list (after the endpoints changed in this transaction)."""
    session.info.pop(_ENDPOINTS, None)


def new_event_id() -> str:
    return f"evt_{uuid.uuid4().hex}"


def record(session: Session, event_type: str, *, resource_type: str | None = None,
           resource_id: str | None = None, render: Callable[[str], dict] | None = None,
           data: dict | None = None) -> str | None:
    """Write one event and its deliveries into the session's transaction.

    `render(base_url)` gives the resource as the SCIM API shows it, called only when
    some endpoint wants the event. Returns the event id, or None when nobody wants it.
    """
    targets = [row.id for row in _endpoints(session) if wants(row.event_types, event_type)]
    if not targets:
        return None
    context = context_of(session)
    now = utcnow()
    event_id = new_event_id()
    body: dict = {}
    if resource_type is not None:
        body = {"resourceType": resource_type, "id": resource_id}
    body.update(data or {})
    if render is not None:
        body["resource"] = render(context.base_url)
    payload = orjson.dumps({"id": event_id, "type": event_type, "timestamp": to_rfc3339(now),
                            "requestId": context.request_id, "data": body}).decode()
    connection = session.connection()
    seq = connection.execute(insert(Event.__table__), {
        "id": event_id, "type": event_type, "at": now, "request_id": context.request_id,
        "resource_type": resource_type, "resource_id": resource_id,
        "payload": payload}).inserted_primary_key[0]
    key = f"{resource_type}:{resource_id}" if resource_type else "appliance"
    connection.execute(insert(WebhookDelivery.__table__), [
        {"event_seq": seq, "endpoint_id": endpoint, "resource_key": key[:220],
         "status": "pending", "attempts": 0, "next_attempt_at": now, "retry_from": now}
        for endpoint in targets])
    return event_id


_MISSING = object()


def changed_paths(before: dict, after: dict) -> list[str]:
    """The attribute paths whose value differs, one level into complex attributes and
    extensions (`name.givenName`; RFC 7644 §3.10 `urn:...:User:manager`)."""
    out = []
    for key in dict.fromkeys([*(before or {}), *(after or {})]):
        if key == "schemas":
            continue
        old, new = (before or {}).get(key, _MISSING), (after or {}).get(key, _MISSING)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            sep = ":" if key.lower().startswith("urn:") else "."
            out += [f"{key}{sep}{sub}" for sub in dict.fromkeys([*old, *new])
                    if old.get(sub, _MISSING) != new.get(sub, _MISSING)]
        else:
            out.append(key)
    return out
