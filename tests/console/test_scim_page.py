"""The Dashboard and SCIM pages: Tenant URL, a new key shown once, the sync switch with
its confirmation, and the audit entries (Flask test client, real SQLite file)."""

from __future__ import annotations

import re

from sqlalchemy import select

from scim_appliance.domain.access import appliance
from scim_appliance.domain.admins import audit
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import AuditEntry
from tests.conftest import ScimClient


def audit_actions(app):
    with app.app_context():
        return [(r.action, r.actor, r.origin, r.detail)
                for r in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_the_dashboard_shows_health_sync_and_what_needs_attention(console, scim):
    scim.get("/scim/Users/nope")  # a failure in the log
    page = console.get("/").get_data(as_text=True)
    assert "SCIM synchronization" in page and "On" in page
    assert "Failure email is off" in page
    assert "Latest failures" in page and "/scim/Users/nope" in page
    assert "Objects Entra expects are gone" in page  # the advice of a 404


def test_the_tenant_url_with_and_without_the_flag_and_the_https_warning(console):
    page = console.get("/settings/scim").get_data(as_text=True)
    assert 'value="http://localhost/scim"' in page
    assert 'value="http://localhost/scim?aadOptscim062020"' in page
    assert "Not HTTPS." in page and "Entra needs a public HTTPS Tenant URL" in page


def test_public_url_is_the_tenant_url(app, console):
    app.config["PUBLIC_URL"] = "https://scim.example.com/"
    page = console.get("/settings/scim").get_data(as_text=True)
    assert 'value="https://scim.example.com/scim"' in page and "Not HTTPS." not in page


def test_a_new_key_after_confirmation_is_shown_once_and_replaces_the_old(app, console, token):
    confirm = console.get("/settings/scim/new-key").get_data(as_text=True)
    assert "The current key stops working at once." in confirm
    resp = console.post_form("/settings/scim/new-key", "/settings/scim/new-key")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    new = re.search(r'id="secret-token" type="text" readonly value="([^"]+)"', page).group(1)
    assert new.startswith("scimapp_") and new != token
    assert '<label for="secret-token">Secret Token</label>' in page
    client = app.test_client()
    assert ScimClient(client, token).get("/scim/Users").status_code == 401
    assert ScimClient(client, new).get("/scim/Users").status_code == 200
    again = console.get("/settings/scim").get_data(as_text=True)
    assert new not in again
    assert audit_actions(app)[-1][:3] == (audit.TOKEN_ISSUED, "alex", "127.0.0.1")


def test_turning_sync_off_asks_first_then_scim_gets_403(app, console, scim):
    ask = console.post_form("/settings/scim", "/settings/scim/sync", {})
    assert ask.status_code == 200
    assert "refuses every request from Entra with 403" in ask.get_data(as_text=True)
    with app.app_context():
        assert appliance.sync_enabled(db.session)  # nothing changed yet
    done = console.post_form("/settings/scim", "/settings/scim/sync", {"confirmed": "yes"})
    assert done.status_code == 302
    assert scim.get("/scim/Users").status_code == 403
    page = console.get("/settings/scim").get_data(as_text=True)
    assert "SCIM synchronization is now off." in page
    assert 'role="switch" name="enabled" value="y">' in page  # unchecked
    on = console.post_form("/settings/scim", "/settings/scim/sync", {"enabled": "y"})
    assert on.status_code == 302
    assert scim.get("/scim/Users").status_code == 200
    assert [a[3] for a in audit_actions(app) if a[0] == audit.SYNC_SWITCHED] == ["off", "on"]


def test_setting_sync_to_what_it_is_changes_nothing(app, console):
    resp = console.post_form("/settings/scim", "/settings/scim/sync", {"enabled": "y"},
                             follow_redirects=True)
    assert "already on" in resp.get_data(as_text=True)
    assert not [a for a in audit_actions(app) if a[0] == audit.SYNC_SWITCHED]
