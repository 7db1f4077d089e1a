"""What the Users and Groups pages share: the SCIM base URL for documents."""

from __future__ import annotations

from flask import current_app, request

from ...domain.access import endpoint
from ...storage.extensions import db


def scim_base() -> str:
    return endpoint.tenant_url(current_app.config.get("PUBLIC_URL"), request.host_url)


def dialect() -> str:
    return db.engine.dialect.name
