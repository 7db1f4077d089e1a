"""When most of a cycle's requests fail (Entra quarantines such a job), the next failure
digest opens with that and the advice for the kind that failed most
(domain/notify/digest.py)."""

from __future__ import annotations

import pytest

from scim_appliance.domain.log.failure_kinds import DUPLICATE, KINDS
from scim_appliance.domain.notify.digest import compose
from scim_appliance.domain.notify.notifier import load_snapshot
from scim_appliance.storage.extensions import db

from ..conftest import make_user

USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.fixture(autouse=True)
def mail_on(app):
    """Failures are pending email only while email is configured (log/store.py)."""
    app.config.update({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": 9, "SMTP_SECURITY": "none",
                       "NOTIFY_TO": "admin@contoso.com"})


def digest(app) -> str:
    with app.app_context():
        snapshot = load_snapshot(db.session)
    return compose(snapshot, "https://scim.contoso.com/scim")[1]


def test_a_mostly_failing_cycle_is_said_first_with_the_dominant_advice(app, scim):
    make_user(scim, "adele@contoso.com")
    for n in range(6):
        assert scim.post("/scim/Users", {"schemas": [USER], "userName": "adele@contoso.com"}
                         ).status_code == 409
        if n == 2:
            make_user(scim, "alex@contoso.com")  # a success inside the stretch counts
    assert scim.post("/scim/Users", {"schemas": [USER]}).status_code == 400
    body = digest(app)
    first = body.split("\n\n")[0]
    assert first.startswith("MOST REQUESTS FAILED: 7 of 8 requests")
    assert "quarantine" in first
    assert KINDS[DUPLICATE].title in first
    advice = body.split("What to do first:\n", 1)[1]
    assert " ".join(advice.split()).startswith(" ".join(KINDS[DUPLICATE].advice.split()[:8]))


def test_a_cycle_that_mostly_works_is_not_called_failing(app, scim):
    make_user(scim, "u0@contoso.com")
    for n in range(2):
        assert scim.post("/scim/Users", {"schemas": [USER], "userName": "u0@contoso.com"}
                         ).status_code == 409
        for m in range(3):
            make_user(scim, f"u{n}{m}@contoso.com")
    assert scim.post("/scim/Users", {"schemas": [USER], "userName": "u0@contoso.com"}
                     ).status_code == 409
    body = digest(app)
    assert "MOST REQUESTS FAILED" not in body
    assert body.startswith("The SCIM appliance at")
