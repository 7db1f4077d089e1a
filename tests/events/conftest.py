"""Fixtures for the events tests: an endpoint on the app's database, reading the outbox."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from scim_appliance.domain.events.endpoints import add_endpoint
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import Event, WebhookDelivery


def add(app, url="http://127.0.0.1:9/hooks", events=None):
    with app.app_context():
        added = add_endpoint(db.session, url, events)
        db.session.commit()
    return added


@pytest.fixture
def endpoint(app):
    return add(app)


def outbox(app) -> list[dict]:
    """Every recorded event's payload, in order."""
    with app.app_context():
        rows = db.session.execute(select(Event.payload).order_by(Event.seq)).scalars().all()
        db.session.remove()
    return [json.loads(r) for r in rows]


def deliveries(app) -> list[WebhookDelivery]:
    with app.app_context():
        rows = db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)
                                  ).scalars().all()
        db.session.expunge_all()
        db.session.remove()
    return rows
