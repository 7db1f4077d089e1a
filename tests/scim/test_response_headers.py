"""Headers on every answer: no MIME sniffing, no caching of personal data (issue 13, 14).

A SCIM answer carries names, email addresses and managers. `Cache-Control: no-store`
keeps a shared cache or a browser from keeping a copy (RFC 9111 §5.2.2.5);
`X-Content-Type-Options: nosniff` keeps a browser from reading a JSON body as HTML.
"""

from __future__ import annotations

import pytest

from tests.conftest import ScimClient, make_user


def _assert_safe(resp):
    assert resp.headers.get("X-Content-Type-Options") == "nosniff", resp.status
    assert resp.headers.get("Cache-Control") == "no-store", resp.status


def test_every_kind_of_scim_answer_carries_both_headers(app, scim):
    app.config["MAX_CONTENT_LENGTH"] = 4096
    user = make_user(scim, "headers@contoso.com")
    url = f"/scim/Users/{user['id']}"
    group = scim.post("/scim/Groups", {"displayName": "Headers"})
    answers = [
        scim.get("/scim/Users"),
        scim.get(url),
        scim.get(url, headers={"If-None-Match": user["meta"]["version"]}),
        scim.post("/scim/Users/.search", {"filter": 'userName eq "headers@contoso.com"'}),
        scim.patch(f"/scim/Groups/{group.get_json()['id']}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": user["id"]}]}]}),
        scim.get("/scim/ServiceProviderConfig"),
        scim.get("/scim/Users", query_string={"filter": "userName zz 1"}),
        scim.get("/scim/NoSuchThing"),
        scim.request("PATCH", "/scim/Users"),
        ScimClient(app.test_client(), None).get("/scim/Users"),
        scim.post("/scim/Users", raw=b" " * 5000),
        scim.delete(url),
    ]
    assert [r.status_code for r in answers] == [200, 200, 304, 200, 204, 200, 400, 404, 405,
                                                401, 413, 204]
    for resp in [group, *answers]:
        _assert_safe(resp)


def test_an_unexpected_error_carries_them_too(app, scim, monkeypatch):
    from scim_appliance.domain.resources import users

    def broken(*_args, **_kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(users, "create_user", broken)
    resp = scim.post("/scim/Users", {"userName": "x@contoso.com"})
    assert resp.status_code == 500
    _assert_safe(resp)


@pytest.mark.parametrize("path", ["/healthz", "/"])
def test_outside_the_tenant_url_too(app, path):
    _assert_safe(app.test_client().get(path))
