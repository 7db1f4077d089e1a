"""Webhook endpoints: add, list, remove, rotate the signing secret.

Secrets are Standard Webhooks secrets: `whsec_` and 32 random bytes in base64, which
`standardwebhooks.Webhook` (and the other languages' libraries) accept as they are.
A rotation keeps the previous secret signing beside the new one for an overlap
period, so receivers can switch without losing a delivery.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ...storage.models import WebhookDelivery, WebhookEndpoint
from ..clock import utcnow
from .catalogue import parse_selection
from .outbox import forget_endpoints

DEFAULT_OVERLAP = timedelta(hours=24)
URL_MAX = 2000


class EndpointError(ValueError):
    """A URL or an endpoint id the appliance refuses; the message says why."""


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def check_url(url: str) -> str:
    """Only http(s) URLs with a host, no credentials in them, of a sane length."""
    if not isinstance(url, str) or not url or len(url) > URL_MAX:
        raise EndpointError(f"the URL must be 1 to {URL_MAX} characters")
    if any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise EndpointError("the URL holds spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise EndpointError("only http:// and https:// URLs are accepted")
    if not parts.hostname:
        raise EndpointError("the URL has no host")
    if parts.username or parts.password:
        raise EndpointError("the URL must not carry credentials; receivers verify the "
                            "signature instead")
    try:
        parts.port  # noqa: B018 - raises for a port out of range
    except ValueError:
        raise EndpointError("the URL's port is not a number from 1 to 65535") from None
    return url


@dataclass(frozen=True)
class Added:
    id: str
    url: str
    event_types: list[str]
    secret: str


def add_endpoint(session: Session, url: str, event_types=None) -> Added:
    """A new endpoint; it receives events recorded from now on."""
    selection = parse_selection(event_types)
    endpoint = WebhookEndpoint(id=f"ep_{uuid.uuid4().hex[:16]}", url=check_url(url),
                               event_types=selection, secret=new_secret(),
                               created_at=utcnow())
    session.add(endpoint)
    session.flush()
    forget_endpoints(session)
    return Added(endpoint.id, endpoint.url, selection, endpoint.secret)


def list_endpoints(session: Session) -> list[WebhookEndpoint]:
    return list(session.execute(select(WebhookEndpoint)
                                .order_by(WebhookEndpoint.created_at)).scalars())


def get_endpoint(session: Session, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise EndpointError(f"no webhook endpoint with id {endpoint_id!r} "
                            "('scim-appliance webhooks list' shows them)")
    return endpoint


def remove_endpoint(session: Session, endpoint_id: str) -> int:
    """Remove an endpoint and its deliveries (pending ones are dropped); returns how
    many deliveries went with it."""
    endpoint = get_endpoint(session, endpoint_id)
    dropped = session.execute(delete(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id)).rowcount
    session.delete(endpoint)
    session.flush()
    forget_endpoints(session)
    return dropped


def rotate_secret(session: Session, endpoint_id: str,
                  overlap: timedelta = DEFAULT_OVERLAP) -> tuple[str, datetime]:
    """A new secret; the current one keeps signing too until the returned time."""
    endpoint = get_endpoint(session, endpoint_id)
    until = utcnow() + overlap
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, until
    endpoint.secret = new_secret()
    session.flush()
    return endpoint.secret, until


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one
    during its overlap."""
    out = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_until and \
            now < endpoint.previous_secret_until:
        out.append(endpoint.previous_secret)
    return out
