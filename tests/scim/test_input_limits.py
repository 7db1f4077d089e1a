"""Over HTTP: values beyond the documented maxima and NUL characters are refused with a SCIM
400 before any expensive work, whatever the method, and a refused request changes nothing.
(Run with SCIM_APPLIANCE_TEST_DATABASE_URL=postgresql+psycopg://... for PostgreSQL, whose
text type cannot hold a NUL at all.)"""

from __future__ import annotations

import pytest

from scim_appliance.domain.resources import groups as groups_service
from scim_appliance.domain.resources import users as users_service
from tests.conftest import load_fixture, make_user

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
HUGE = "x" * 3_900_000  # the review's 3.9 MB userName


def patch(scim, path, *ops):
    return scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(ops)})


def assert_400(resp, scim_type="invalidValue"):
    assert resp.status_code == 400, resp.get_data(as_text=True)[:300]
    assert resp.mimetype == "application/scim+json"
    body = resp.get_json()
    assert body["status"] == "400" and body.get("scimType") == scim_type, body
    assert len(resp.get_data()) < 2000  # the value is not echoed back
    return body


@pytest.fixture
def no_name_rules(monkeypatch):
    """Fail loudly if the (costly) name rules run for a request that must be refused."""
    def boom(*args, **kwargs):
        raise AssertionError("the name rules ran before the limits were checked")
    monkeypatch.setattr(users_service, "assign_user_name", boom)
    monkeypatch.setattr(groups_service, "assign_group_name", boom)


def test_a_huge_user_name_is_refused_before_the_name_rules(scim, no_name_rules):
    resp = scim.post("/scim/Users", {"userName": HUGE})
    body = assert_400(resp)
    assert "userName" in body["detail"] and "512" in body["detail"]


def test_huge_values_are_refused_on_put_and_patch_and_nothing_changes(scim):
    user = make_user(scim, "adele@contoso.com")
    url = f"/scim/Users/{user['id']}"
    assert_400(scim.put(url, {"userName": "adele@contoso.com", "displayName": HUGE}))
    assert_400(patch(scim, url, {"op": "replace", "path": "displayName", "value": HUGE}))
    assert_400(patch(scim, url, {"op": "replace", "value": {"userName": HUGE}}))
    assert scim.get(url).get_json() == user


def test_a_huge_group_name_is_refused(scim, no_name_rules):
    body = assert_400(scim.post("/scim/Groups", {"displayName": HUGE}))
    assert "displayName" in body["detail"]


# -- NUL: PostgreSQL text cannot hold it, so it is refused on every backend -----------------
# In a body it is refused as the JSON is read (domain/protocol/json_input.py), so the answer
# is invalidSyntax; the domain refuses it again (invalidValue) for the CLI's callers.
NUL_BODIES = [
    {"userName": "nul\u0000@contoso.com"},
    {"userName": "ok@contoso.com", "displayName": "a\u0000"},
    {"userName": "ok@contoso.com", "name": {"givenName": "\u0000"}},
    {"userName": "ok@contoso.com", "emails": [{"value": "a@x", "type": "w\u0000"}]},
    {"userName": "ok@contoso.com",
     "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "\u0000"}},
    {"userName": "ok@contoso.com", "externalId": "\u0000"},
    {"userName": "ok@contoso.com", "password": "pw\u0000"},
]


@pytest.mark.parametrize("body", NUL_BODIES)
def test_a_nul_in_any_attribute_of_a_post_is_400(scim, body):
    assert "NUL" in assert_400(scim.post("/scim/Users", body), "invalidSyntax")["detail"]
    assert scim.get("/scim/Users").get_json()["totalResults"] == 0


@pytest.mark.parametrize("body", NUL_BODIES)
def test_a_nul_in_any_attribute_of_a_put_is_400(scim, body):
    user = make_user(scim, "adele@contoso.com")
    url = f"/scim/Users/{user['id']}"
    assert_400(scim.put(url, body), "invalidSyntax")
    assert scim.get(url).get_json() == user


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": "displayName", "value": "a\u0000"},
    {"op": "add", "path": 'emails[type eq "work"].value', "value": "\u0000"},
    {"op": "replace", "value": {"nickName": "\u0000"}},
    {"op": "add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
     "value": "m\u0000"},
])
def test_a_nul_in_a_patch_value_is_400(scim, operation):
    user = make_user(scim, "adele@contoso.com")
    url = f"/scim/Users/{user['id']}"
    assert_400(patch(scim, url, operation), "invalidSyntax")
    assert scim.get(url).get_json() == user


def test_a_nul_in_a_group_post_or_member_id_is_400(scim):
    assert_400(scim.post("/scim/Groups", {"displayName": "Sales\u0000"}), "invalidSyntax")
    group = scim.post("/scim/Groups", {"displayName": "Sales"}).get_json()
    url = f"/scim/Groups/{group['id']}"
    assert_400(patch(scim, url, {"op": "add", "path": "members", "value": [{"value": "\u0000"}]}),
               "invalidSyntax")
    assert_400(patch(scim, url, {"op": "remove", "path": 'members[value eq "\u0000"]'}),
               "invalidSyntax")
    # The same id written as a JSON escape inside the path's string literal.
    assert_400(patch(scim, url, {"op": "remove", "path": 'members[value eq "\\u0000"]'}),
               "invalidPath")
    assert_400(scim.put(url, {"displayName": "Sales", "members": [{"value": "a\u0000"}]}),
               "invalidSyntax")


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_a_nul_in_the_resource_id_of_the_url_is_400(scim, method, kind):
    resp = scim.request(method, f"/scim/{kind}/a%00b",
                        {"schemas": [PATCH_OP], "Operations": []} if method == "PATCH"
                        else ({"userName": "u"} if method == "PUT" else None))
    assert_400(resp)


@pytest.mark.parametrize("params", [
    {"filter": 'userName eq "a\u0000"'},
    {"filter": 'externalId eq "\u0000"'},
    {"attributes": "userName\u0000"},
    {"sortBy": "userName\u0000"},
    {"filter\u0000": "x"},
])
def test_a_nul_in_the_query_string_is_400(scim, params):
    make_user(scim, "adele@contoso.com")
    assert_400(scim.get("/scim/Users", query_string=params))
    assert_400(scim.get("/scim/Groups", query_string=params))


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_a_nul_written_as_an_escape_inside_a_filter_string_is_invalid_filter(scim, kind):
    """`displayName eq "\\u0000"`: the filter's string literal is JSON (RFC 7644 §3.4.2.2)."""
    params = {"filter": 'displayName eq "a\\u0000"'}
    assert_400(scim.get(f"/scim/{kind}", query_string=params), "invalidFilter")
    assert_400(scim.post(f"/scim/{kind}/.search", {"schemas": [SEARCH], **params}),
               "invalidFilter")


@pytest.mark.parametrize("kind", ["Users", "Groups"])
def test_a_nul_in_a_search_body_is_400(scim, kind):
    resp = scim.post(f"/scim/{kind}/.search",
                     {"schemas": [SEARCH], "filter": 'displayName eq "\u0000"'})
    assert_400(resp, "invalidSyntax")


def test_a_nul_that_is_only_an_escaped_backslash_is_an_ordinary_value(scim):
    """`"\\\\u0000"` in JSON is the six characters backslash-u-0-0-0-0, not a NUL."""
    resp = scim.post("/scim/Users", raw=b'{"userName": "a\\\\u0000@contoso.com"}')
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["userName"] == "a\\u0000@contoso.com"


def test_without_a_token_a_nul_still_gets_401(app):
    resp = app.test_client().get("/scim/Users/a%00b")
    assert resp.status_code == 401


def test_a_rename_outside_scim_is_held_to_the_same_limits(app, scim):
    """The userid migration renames through users.rename_user (domain/accounts)."""
    from scim_appliance.domain.protocol.errors import InvalidValue
    from scim_appliance.storage.extensions import db

    user = make_user(scim, "adele@contoso.com")
    with app.app_context():
        row = users_service.get_user(db.session, user["id"])
        for name in ("x" * 513, "a\u0000@contoso.com"):
            with pytest.raises(InvalidValue):
                users_service.rename_user(db.session, row, name)
        assert users_service.rename_user(db.session, row, "x" * 512).user_name == "x" * 512


# -- Entra's payloads are inside every limit -------------------------------------------------
def test_entra_create_user_and_group_payloads_are_accepted(scim):
    assert scim.post("/scim/Users", load_fixture("entra-create-user.json")).status_code == 201
    assert scim.post("/scim/Groups", load_fixture("entra-create-group.json")).status_code == 201
