"""Black-box SCIM conformance over HTTP: whole schema extensions in PATCH and projection,
read-only attributes, and malformed operations.

Sources: RFC 7643 §2.2 (mutability), §3 (`schemas`); RFC 7644 §3.4.2.5 and §3.9
(`attributes`, `excludedAttributes`), §3.5.2 (PATCH: "op", mutability), §3.10 (attribute
notation), §3.12 (errors).
"""

from __future__ import annotations

import pytest

from tests.conftest import make_user

from .suite import ENTERPRISE, GROUP, USER, assert_scim_error, make_group, patch

APPLIANCE_USER = "urn:scim-appliance:schemas:extension:appliance:2.0:User"
APPLIANCE_GROUP = "urn:scim-appliance:schemas:extension:appliance:2.0:Group"


# == PATCH with a whole extension as path (RFC 7644 §3.5.2, §3.10) ===========================
def test_patch_whole_extension_with_schemas_in_the_value(scim):
    """The `schemas` key of an extension object is not one of its attributes (RFC 7643 §3)."""
    user = make_user(scim, "ext@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": ENTERPRISE,
                  "value": {"schemas": [ENTERPRISE], "department": "Sales",
                            "employeeNumber": "42"}})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body[ENTERPRISE] == {"department": "Sales", "employeeNumber": "42"}
    assert ENTERPRISE in body["schemas"]
    assert scim.get(f"/scim/Users/{user['id']}").get_json()[ENTERPRISE] == body[ENTERPRISE]


def test_patch_whole_extension_with_unknown_schemas_in_the_value_is_400(scim):
    user = make_user(scim, "ext2@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "add", "path": ENTERPRISE,
                  "value": {"schemas": ["urn:example:nope:2.0:User"], "department": "S"}})
    assert_scim_error(resp, 400, "invalidValue")


# == attributes / excludedAttributes naming a schema URN (RFC 7644 §3.10) ===================
def test_attributes_naming_the_enterprise_extension_return_all_of_it(scim):
    user = make_user(scim, "proj@contoso.com", displayName="P",
                     **{ENTERPRISE: {"department": "Retail", "employeeNumber": "7"}})
    body = scim.get(f"/scim/Users/{user['id']}",
                    query_string={"attributes": ENTERPRISE}).get_json()
    assert body[ENTERPRISE] == {"department": "Retail", "employeeNumber": "7"}
    assert "displayName" not in body and "userName" not in body
    assert body["id"] == user["id"] and body["schemas"] == [USER, ENTERPRISE]


def test_excluded_attributes_naming_an_extension_drop_it_from_lists_too(scim):
    make_user(scim, "excl@contoso.com")
    body = scim.get("/scim/Users", query_string={"excludedAttributes": APPLIANCE_USER}).get_json()
    resource = body["Resources"][0]
    assert APPLIANCE_USER not in resource and APPLIANCE_USER not in resource["schemas"]
    assert resource["userName"] == "excl@contoso.com"


def test_excluded_attributes_naming_the_group_extension(scim):
    group = make_group(scim, "Projected")
    body = scim.get(f"/scim/Groups/{group['id']}",
                    query_string={"excludedAttributes": APPLIANCE_GROUP}).get_json()
    assert APPLIANCE_GROUP not in body and body["schemas"] == [GROUP]
    assert body["displayName"] == "Projected"


def test_search_attributes_naming_an_extension(scim):
    make_user(scim, "srch@contoso.com", **{ENTERPRISE: {"department": "D"}})
    resp = scim.post("/scim/Users/.search", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": [ENTERPRISE], "filter": 'userName eq "srch@contoso.com"'})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["Resources"][0][ENTERPRISE] == {"department": "D"}


# == read-only attributes (RFC 7643 §2.2; RFC 7644 §3.5.2, §3.5.2.2, §3.12) =================
@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": APPLIANCE_USER},
    {"op": "replace", "path": APPLIANCE_USER, "value": None},
    {"op": "add", "path": APPLIANCE_USER, "value": {}},
    {"op": "replace", "path": APPLIANCE_USER, "value": {"source": "local"}},
    {"op": "replace", "path": f"{APPLIANCE_USER}:sanitizedUserName", "value": "x"},
    {"op": "remove", "path": f"{APPLIANCE_USER}:source"},
    {"op": "add", "value": {APPLIANCE_USER: {"nameAdjusted": True}}},
    {"op": "replace", "value": {APPLIANCE_USER: None}},
])
def test_patch_of_the_read_only_user_extension_is_400_mutability_and_changes_nothing(
        scim, operation):
    user = make_user(scim, "ro@contoso.com")
    url = f"/scim/Users/{user['id']}"
    body = assert_scim_error(patch(scim, url, operation), 400, "mutability")
    assert "read-only" in body["detail"]
    assert scim.get(url).get_json() == user


@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": APPLIANCE_GROUP},
    {"op": "replace", "path": f"{APPLIANCE_GROUP}:sanitizedDisplayName", "value": "x"},
])
def test_patch_of_the_read_only_group_extension_is_400_mutability(scim, operation):
    group = make_group(scim, "ReadOnly")
    url = f"/scim/Groups/{group['id']}"
    assert_scim_error(patch(scim, url, operation), 400, "mutability")
    assert scim.get(url).get_json() == group


def test_read_only_extension_values_in_a_put_are_ignored(scim):
    """RFC 7644 §3.5.1: readOnly values in a PUT "SHALL be ignored"."""
    user = make_user(scim, "put@contoso.com")
    resp = scim.put(f"/scim/Users/{user['id']}", {
        "schemas": [USER, APPLIANCE_USER], "userName": "put@contoso.com",
        APPLIANCE_USER: {"source": "local", "sanitizedUserName": "zz"}})
    assert resp.status_code == 200
    assert resp.get_json()[APPLIANCE_USER] == user[APPLIANCE_USER]


# == operations without a usable "op" (RFC 7644 §3.5.2) =====================================
@pytest.mark.parametrize("operation", [{"path": "title", "value": "x"},
                                       {"op": None, "path": "title", "value": "x"}])
def test_patch_operation_without_op_says_op_is_missing(scim, operation):
    user = make_user(scim, "noop@contoso.com")
    body = assert_scim_error(patch(scim, f"/scim/Users/{user['id']}", operation), 400,
                             "invalidSyntax")
    assert "no 'op'" in body["detail"] and "None" not in body["detail"]
