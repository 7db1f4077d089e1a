"""Black-box SCIM conformance over HTTP: Discovery documents and ListResponse shape.

Sources: RFC 7643 §5-§7, RFC 7644 §3.4.2, §4, and the Entra notes cited per test.
Deviations this suite found were marked xfail(strict=True); all of them are fixed.
"""

from __future__ import annotations

import pytest

from tests.conftest import make_user

from .suite import LIST, SCIM_JSON, SPC, USER, assert_scim_error, list_users


# == Discovery: RFC 7643 §5-§7, RFC 7644 §4 ================================================
def test_service_provider_config_has_every_required_attribute(scim):
    """RFC 7643 §5: patch, bulk (+maxOperations, maxPayloadSize), filter (+maxResults),
    changePassword, sort, etag and authenticationSchemes (type, name, description)."""
    resp = scim.get("/scim/ServiceProviderConfig")
    assert resp.status_code == 200 and resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["schemas"] == [SPC]
    for feature in ("patch", "bulk", "filter", "changePassword", "sort", "etag"):
        assert isinstance(body[feature]["supported"], bool), feature
    assert isinstance(body["bulk"]["maxOperations"], int)
    assert isinstance(body["bulk"]["maxPayloadSize"], int)
    assert isinstance(body["filter"]["maxResults"], int)
    assert body["authenticationSchemes"]
    for scheme in body["authenticationSchemes"]:
        assert {"type", "name", "description"} <= scheme.keys()


def test_service_provider_config_advertises_what_is_implemented(scim):
    """RFC 7643 §5: the config tells clients which optional features work (Entra §8)."""
    body = scim.get("/scim/ServiceProviderConfig").get_json()
    assert body["patch"]["supported"] is True
    assert body["filter"]["supported"] is True
    assert body["etag"]["supported"] is True
    assert body["sort"]["supported"] is True
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types_have_required_attributes(scim):
    """RFC 7643 §6: name, endpoint, schema; schemaExtensions carry schema and required."""
    body = scim.get("/scim/ResourceTypes").get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == len(body["Resources"]) >= 2
    for rtype in body["Resources"]:
        assert rtype["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"]
        assert {"name", "endpoint", "schema"} <= rtype.keys()
        for ext in rtype.get("schemaExtensions", []):
            assert isinstance(ext["schema"], str) and isinstance(ext["required"], bool)
        assert rtype["meta"]["resourceType"] == "ResourceType"


def test_each_resource_type_is_readable_by_id_and_its_schemas_exist(scim):
    """RFC 7644 §4: /ResourceTypes/{id} returns one resource type, and every schema it
    names is served by /Schemas/{id}."""
    for rtype in scim.get("/scim/ResourceTypes").get_json()["Resources"]:
        one = scim.get(f"/scim/ResourceTypes/{rtype['id']}")
        assert one.status_code == 200 and one.get_json()["name"] == rtype["name"]
        urns = [rtype["schema"], *(e["schema"] for e in rtype.get("schemaExtensions", []))]
        for urn in urns:
            assert scim.get(f"/scim/Schemas/{urn}").status_code == 200, urn


def test_schemas_attribute_definitions_are_complete(scim):
    """RFC 7643 §7: every attribute definition has name, type, multiValued, description,
    required, mutability and returned; complex ones list subAttributes; string ones
    caseExact; reference ones referenceTypes."""
    body = scim.get("/scim/Schemas").get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == len(body["Resources"])

    def check(attr, where):
        for key in ("name", "type", "multiValued", "description", "required", "mutability",
                    "returned"):
            assert key in attr, (where, attr.get("name"), key)
        if attr["type"] == "complex":
            assert attr.get("subAttributes"), (where, attr["name"])
            for sub in attr["subAttributes"]:
                check(sub, f"{where}.{attr['name']}")
        if attr["type"] == "string":
            assert isinstance(attr.get("caseExact"), bool), (where, attr["name"])
        if attr["type"] == "reference":
            assert attr.get("referenceTypes"), (where, attr["name"])

    for schema in body["Resources"]:
        assert schema["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        assert {"id", "attributes"} <= schema.keys()
        assert schema["meta"]["resourceType"] == "Schema"
        for attr in schema["attributes"]:
            check(attr, schema["id"])


def test_user_schema_characteristics_match_rfc7643(scim):
    """RFC 7643 §4.1, §8.7.1: userName required and unique, password writeOnly/never,
    groups readOnly."""
    user = scim.get(f"/scim/Schemas/{USER}").get_json()
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["required"] is True
    assert attrs["userName"]["uniqueness"] == "server"
    assert attrs["password"]["returned"] == "never"
    assert attrs["password"]["mutability"] == "writeOnly"
    assert attrs["groups"]["mutability"] == "readOnly"


@pytest.mark.parametrize("path", ["/scim/Schemas/urn:nope:schema", "/scim/ResourceTypes/Nope"])
def test_unknown_discovery_id_is_404_scim_error(scim, path):
    """RFC 7644 §3.12: a missing resource is a 404 Error message (scim2-tester checks it)."""
    assert_scim_error(scim.get(path), 404)


@pytest.mark.parametrize("path", ["/scim/ServiceProviderConfig", "/scim/Schemas",
                                  "/scim/ResourceTypes"])
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_discovery_endpoints_refuse_writes_with_405(scim, path, method):
    """RFC 7644 §4: discovery endpoints are GET-only; other methods get 405 (scim2-tester)."""
    resp = scim.request(method, path, body={"schemas": [SPC]})
    assert_scim_error(resp, 405)
    assert "GET" in resp.headers["Allow"]


def test_discovery_lists_ignore_paging_parameters(scim):
    """RFC 7644 §4: "Query parameters described in Section 3.4.2, such as filtering,
    sorting, and pagination, SHALL be ignored" on /Schemas and /ResourceTypes."""
    everything = scim.get("/scim/Schemas").get_json()
    paged = scim.get("/scim/Schemas?startIndex=2&count=1").get_json()
    assert paged["totalResults"] == everything["totalResults"]
    assert len(paged["Resources"]) == len(everything["Resources"])


@pytest.mark.parametrize("path", ["/scim/Schemas", "/scim/ResourceTypes"])
def test_discovery_list_with_filter_is_403(scim, path):
    """RFC 7644 §4: "If a "filter" is provided, the service provider SHOULD respond with
    HTTP status code 403 (Forbidden) to ensure that clients cannot incorrectly assume that
    any matching conditions specified in a filter are true.\""""
    resp = scim.get(path, query_string={"filter": 'name eq "User"'})
    assert_scim_error(resp, 403)


# == ListResponse: RFC 7644 §3.4.2, §3.4.2.4 ================================================
def test_list_response_shape_and_types(scim, three_users):
    """RFC 7644 §3.4.2: schemas ListResponse, integer totalResults, Resources, startIndex
    and itemsPerPage (integers) for a paged answer."""
    resp = scim.get("/scim/Users?startIndex=1&count=2")
    assert resp.status_code == 200 and resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["schemas"] == [LIST]
    for key in ("totalResults", "startIndex", "itemsPerPage"):
        assert type(body[key]) is int, key
    assert body["totalResults"] == 3
    assert body["itemsPerPage"] == len(body["Resources"]) == 2
    assert body["startIndex"] == 1
    assert all(r["id"] and r["schemas"][0] == USER for r in body["Resources"])


def test_filter_without_match_is_200_empty_list(scim):
    """Entra §1.1/§3 (Test Connection): no match is 200 with totalResults 0 and
    Resources [], never 404."""
    resp = scim.get('/scim/Users?filter=userName+eq+%2241e0c6a4-8c1e-4f9a-9b0e-3a7c1c2d9f10%22')
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == 0
    assert body.get("Resources", []) == []


def test_group_probe_without_match_is_200_empty_list(scim):
    """Entra §3: the group probe `excludedAttributes=members&filter=displayName eq <guid>`."""
    resp = scim.get("/scim/Groups?excludedAttributes=members"
                    "&filter=displayName+eq+%2241e0c6a4-8c1e-4f9a-9b0e-3a7c1c2d9f10%22")
    assert resp.status_code == 200
    assert resp.get_json()["totalResults"] == 0


def test_start_index_below_one_is_read_as_one(scim, three_users):
    """RFC 7644 §3.4.2.4: "A value less than 1 SHALL be interpreted as 1"."""
    body = list_users(scim, startIndex=0)
    assert body["startIndex"] == 1 and len(body["Resources"]) == 3
    assert list_users(scim, startIndex=-5)["startIndex"] == 1


def test_negative_count_is_read_as_zero(scim, three_users):
    """RFC 7644 §3.4.2.4: "A negative value SHALL be interpreted as "0"" and 0 returns only
    totalResults."""
    for count in (0, -3):
        body = list_users(scim, count=count)
        assert body["totalResults"] == 3
        assert body.get("Resources", []) == []


def test_start_index_past_the_end_gives_empty_page_with_total(scim, three_users):
    """RFC 7644 §3.4.2.4: paging past the end returns no resources and the real total."""
    body = list_users(scim, startIndex=10, count=5)
    assert body["totalResults"] == 3
    assert body.get("Resources", []) == []
    assert body["startIndex"] == 10


def test_paging_walks_every_user_exactly_once(scim):
    """Entra §10 SCIM_User_Pagination_Test: startIndex=N&count=5 over several pages, the
    response echoing startIndex, each user seen once."""
    for i in range(12):
        make_user(scim, f"user{i:02d}@contoso.com")
    seen, start = [], 1
    while True:
        body = list_users(scim, startIndex=start, count=5)
        assert body["startIndex"] == start and body["totalResults"] == 12
        if not body.get("Resources"):
            break
        assert body["itemsPerPage"] == len(body["Resources"]) <= 5
        seen += [r["id"] for r in body["Resources"]]
        start += len(body["Resources"])
    assert len(seen) == len(set(seen)) == 12
