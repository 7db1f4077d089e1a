"""A newcomer who opens the Tenant URL in a browser lands on the console; a SCIM client
at the same URL still gets SCIM errors (RFC 7644 §3.12)."""

from __future__ import annotations

import pytest

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize("path", ["/scim", "/scim/", "/scim/v2"])
def test_a_browser_at_the_tenant_url_is_sent_to_the_console(app, path):
    resp = app.test_client().get(path, headers={"Accept": BROWSER})
    assert resp.status_code == 303 and resp.headers["Location"] == "/"


@pytest.mark.parametrize("headers", [
    {"Accept": "application/scim+json"},
    {"Accept": "*/*"},
    {"Accept": BROWSER, "Authorization": "Bearer whatever"},
])
def test_scim_clients_and_token_holders_still_get_scim_errors(app, headers):
    resp = app.test_client().get("/scim", headers=headers)
    assert resp.status_code in (401, 404)
    assert resp.mimetype == "application/scim+json"


def test_other_paths_under_the_tenant_url_are_never_redirected(app):
    resp = app.test_client().get("/scim/Nope", headers={"Accept": BROWSER})
    assert resp.status_code == 404 and resp.mimetype == "application/scim+json"
    resp = app.test_client().post("/scim", headers={"Accept": BROWSER})
    assert resp.status_code in (404, 405) and resp.mimetype == "application/scim+json"
