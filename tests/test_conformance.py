"""Black-box SCIM conformance: RFC 7643/7644 and what Entra ID expects, over HTTP only.

Each test checks one behaviour and cites where it comes from: an RFC section, or a note in
docs/entra-provisioning.md ("Entra §n"). A test the appliance fails today is marked
`xfail(strict=True)` with a one-line summary of the deviation, so
`pytest -rx tests/test_conformance.py` lists what still deviates, and a fix turns the
mark into an error that asks for it to be removed.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from scim_appliance.domain import appliance
from scim_appliance.extensions import db

from .conftest import load_fixture, make_user

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
MS_GROUP_MARKER = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
SCIM_JSON = "application/scim+json"
# RFC 7644 §3.12, Table 9.
SCIM_TYPES = {"invalidFilter", "tooMany", "uniqueness", "mutability", "invalidSyntax",
              "invalidPath", "noTarget", "invalidValue", "invalidVers", "sensitive"}
# RFC 3339 §5.6 date-time (with a mandatory offset, as RFC 7643 §2.3.5 asks).
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


# -- helpers -------------------------------------------------------------------------------
def patch(scim, path, *ops, headers=None):
    return scim.patch(path, {"schemas": [PATCH_OP], "Operations": list(ops)}, headers=headers)


def make_group(scim, display_name="Sales", **extra):
    resp = scim.post("/scim/Groups", {"schemas": [GROUP], "displayName": display_name, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def list_users(scim, **params):
    resp = scim.get("/scim/Users", query_string=params)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def user_names(scim, filter_text):
    body = list_users(scim, filter=filter_text, attributes="userName")
    return sorted(r["userName"] for r in body["Resources"])


def sorted_names(scim, **params):
    body = list_users(scim, attributes="userName", **params)
    return [r["userName"] for r in body["Resources"]]


def assert_scim_error(resp, status, scim_type=None):
    """RFC 7644 §3.12: an Error message whose `status` is the HTTP status as a string."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert isinstance(body["status"], str)
    if "scimType" in body:
        assert body["scimType"] in SCIM_TYPES
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


@pytest.fixture
def three_users(scim):
    """Users with and without a title, for filter and sort tests."""
    return {
        "a": make_user(scim, "alice@contoso.com", title="Zookeeper",
                       emails=[{"type": "work", "value": "alice@contoso.com"}]),
        "b": make_user(scim, "bob@contoso.com"),
        "c": make_user(scim, "carol@contoso.com", title="analyst"),
    }


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


# == Filters: RFC 7644 §3.4.2.2 ============================================================
def test_filter_attribute_names_are_case_insensitive(scim, three_users):
    """RFC 7644 §3.4.2.2: "Attribute names and attribute operators used in filters are case
    insensitive" (`USERNAME eq`, `NAME.FAMILYNAME`)."""
    assert user_names(scim, 'USERNAME eq "bob@contoso.com"') == ["bob@contoso.com"]
    assert user_names(scim, 'Emails.Value eq "alice@contoso.com"') == ["alice@contoso.com"]


def test_filter_operators_are_case_insensitive(scim, three_users):
    """RFC 7644 §3.4.2.2: operators, including logical ones and `pr`, in any case."""
    assert user_names(scim, 'userName EQ "bob@contoso.com"') == ["bob@contoso.com"]
    assert user_names(scim, 'title PR AND NOT (title Eq "analyst")') == ["alice@contoso.com"]
    assert user_names(scim, 'title eq "analyst" OR userName sW "bob"') == [
        "bob@contoso.com", "carol@contoso.com"]


def test_filter_values_of_case_insensitive_attributes_ignore_case(scim, three_users):
    """RFC 7643 §2.2/§4.1.1: userName and title are caseExact=false, so `eq` ignores case."""
    assert user_names(scim, 'userName eq "BOB@CONTOSO.COM"') == ["bob@contoso.com"]
    assert user_names(scim, 'title eq "ANALYST"') == ["carol@contoso.com"]


def test_filter_values_of_case_exact_attributes_respect_case(scim):
    """RFC 7643 §3.1: id and externalId are caseExact, so a different case does not match."""
    user = make_user(scim, "dan@contoso.com", externalId="DanExt")
    assert user_names(scim, 'externalId eq "DanExt"') == ["dan@contoso.com"]
    assert user_names(scim, 'externalId eq "danext"') == []
    assert user_names(scim, f'id eq "{user["id"].upper()}"') == []


def test_filter_string_literal_escapes(scim):
    """RFC 7644 §3.4.2.2: comparison values are JSON strings (RFC 7159 escapes: \\" \\\\ \\u)."""
    make_user(scim, 'o"neil\\x@contoso.com', displayName='Say "hi" é')
    assert user_names(scim, r'userName eq "o\"neil\\x@contoso.com"') == ['o"neil\\x@contoso.com']
    assert user_names(scim, r'displayName eq "Say \"hi\" \u00e9"') == ['o"neil\\x@contoso.com']


def test_filter_like_wildcards_in_literals_are_plain_characters(scim):
    """RFC 7644 §3.4.2.2: `sw`/`co` compare substrings; `_` and `%` are not wildcards."""
    make_user(scim, "a_1@contoso.com")
    make_user(scim, "ab1@contoso.com")
    assert user_names(scim, 'userName sw "a_"') == ["a_1@contoso.com"]
    assert user_names(scim, 'userName co "%"') == []


def test_filter_present(scim, three_users):
    """RFC 7644 §3.4.2.2 `pr`: the attribute has a non-empty value."""
    assert user_names(scim, "title pr") == ["alice@contoso.com", "carol@contoso.com"]
    assert user_names(scim, "emails pr") == ["alice@contoso.com"]


def test_filter_not(scim, three_users):
    """RFC 7644 §3.4.2.2 `not`: users without a title match `not (title pr)`."""
    assert user_names(scim, "not (title pr)") == ["bob@contoso.com"]
    assert user_names(scim, 'not (title eq "analyst")') == ["alice@contoso.com",
                                                             "bob@contoso.com"]


def test_filter_and_binds_tighter_than_or(scim, three_users):
    """RFC 7644 §3.4.2.2, Table 3/4: precedence is `not`, then `and`, then `or`."""
    assert user_names(scim, 'userName eq "alice@contoso.com" or userName eq "bob@contoso.com" '
                            'and title eq "none"') == ["alice@contoso.com"]


def test_filter_parentheses_override_precedence(scim, three_users):
    """RFC 7644 §3.4.2.2: grouping with parentheses."""
    assert user_names(scim, '(userName eq "alice@contoso.com" or userName eq "bob@contoso.com")'
                            ' and title eq "none"') == []


def test_filter_ordering_on_strings_is_lexicographic_and_case_insensitive(scim, three_users):
    """RFC 7644 §3.4.2.2 `gt`/`le`: lexicographic for strings, honouring caseExact=false."""
    assert user_names(scim, 'title gt "B"') == ["alice@contoso.com"]
    assert user_names(scim, 'title le "ANALYST"') == ["carol@contoso.com"]


def test_filter_value_path_on_multi_valued_attribute(scim, three_users):
    """RFC 7644 §3.4.2.2: `emails[type eq "work" and value co "@contoso"]`."""
    assert user_names(scim, 'emails[type eq "work" and value co "@CONTOSO"]') == [
        "alice@contoso.com"]
    assert user_names(scim, 'emails[type eq "home"]') == []


def test_filter_on_extension_attribute_by_urn(scim):
    """RFC 7644 §3.10: extension attributes are filtered with their URN-qualified name."""
    make_user(scim, "erin@contoso.com", **{ENTERPRISE: {"department": "Retail"}})
    make_user(scim, "finn@contoso.com")
    assert user_names(scim, f'{ENTERPRISE}:department eq "retail"') == ["erin@contoso.com"]


def test_filter_on_core_urn_qualified_name(scim, three_users):
    """RFC 7644 §3.10: the core URN may qualify a core attribute."""
    assert user_names(scim, f'{USER}:userName eq "bob@contoso.com"') == ["bob@contoso.com"]


def test_filter_on_meta_last_modified(scim):
    """RFC 7644 §3.4.2.2: dateTime comparisons are chronological; `meta.lastModified` is
    filterable (the classic incremental-sync query)."""
    old = make_user(scim, "old@contoso.com")
    stamp = old["meta"]["lastModified"]
    assert user_names(scim, f'meta.lastModified eq "{stamp}"') == ["old@contoso.com"]
    assert user_names(scim, f'meta.lastModified ge "{stamp}"') == ["old@contoso.com"]
    assert user_names(scim, f'meta.lastModified gt "{stamp}"') == []
    assert user_names(scim, 'meta.lastModified lt "2000-01-01T00:00:00Z"') == []


def test_filter_date_comparison_honours_utc_offsets(scim):
    """RFC 7644 §3.4.2.2 + RFC 3339: a time with an offset names the same instant in UTC."""
    user = make_user(scim, "tz@contoso.com")
    created = datetime.fromisoformat(user["meta"]["created"].replace("Z", "+00:00"))
    # One hour before creation, written in UTC+02:00.
    before = (created - timedelta(hours=1)).astimezone(
        UTC).replace(tzinfo=None) + timedelta(hours=2)
    literal = before.strftime("%Y-%m-%dT%H:%M:%S") + "+02:00"
    assert user_names(scim, f'meta.created gt "{literal}"') == ["tz@contoso.com"]
    assert user_names(scim, f'meta.created lt "{literal}"') == []


def test_filter_with_malformed_date_is_invalid_filter(scim):
    """RFC 7644 §3.12: a filter that cannot be evaluated is 400 invalidFilter."""
    resp = scim.get("/scim/Users", query_string={"filter": 'meta.created gt "yesterday"'})
    assert_scim_error(resp, 400, "invalidFilter")


@pytest.mark.parametrize("text", ['userName eq', 'userName eq "x" and', '(userName pr',
                                  "userName eq 'single'", 'userName zz "x"', 'nosuch eq "x"'])
def test_malformed_filter_is_400_invalid_filter(scim, text):
    """RFC 7644 §3.4.2.2/§3.12: an unparsable filter is 400 with scimType invalidFilter."""
    assert_scim_error(scim.get("/scim/Users", query_string={"filter": text}), 400,
                      "invalidFilter")


def test_ordering_operator_on_boolean_is_invalid_filter(scim):
    """RFC 7644 §3.4.2.2 (gt/ge/lt/le): "Boolean and Binary attributes SHALL cause a failed
    response (HTTP status code 400) with "scimType" of "invalidFilter"\"."""
    assert_scim_error(scim.get("/scim/Users", query_string={"filter": "active gt true"}),
                      400, "invalidFilter")


def test_ordering_operator_on_binary_is_invalid_filter(scim):
    """RFC 7644 §3.4.2.2 (gt/ge/lt/le): "Boolean and Binary attributes SHALL cause a failed
    response (HTTP status code 400) with "scimType" of "invalidFilter"\"."""
    make_user(scim, "cert@contoso.com", x509Certificates=[{"value": "TUlJRA=="}])
    resp = scim.get("/scim/Users", query_string={"filter": 'x509Certificates.value gt "A"'})
    assert_scim_error(resp, 400, "invalidFilter")


def test_filter_in_entra_encodings(scim):
    """Entra §2: `+` for spaces with `%22` quotes, and the validator's raw quotes."""
    make_user(scim, "dale.mohr@romaguera.uk")
    for query in ("filter=userName+eq+%22dale.mohr%40romaguera.uk%22",
                  'filter=userName+eq+"dale.mohr%40romaguera.uk"'):
        body = scim.get(f"/scim/Users?{query}").get_json()
        assert body["totalResults"] == 1, query
        assert body["Resources"][0]["userName"] == "dale.mohr@romaguera.uk"


def test_disabled_user_is_still_found_by_filter_and_id(scim):
    """Entra §1.7: a user with active=false is returned by GET and by filters."""
    user = make_user(scim, "gone@contoso.com", active=False)
    assert user_names(scim, 'userName eq "gone@contoso.com"') == ["gone@contoso.com"]
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert body["active"] is False


# == Sorting: RFC 7644 §3.4.2.3 ============================================================
def test_sort_is_ascending_by_default_and_case_insensitive(scim, three_users):
    """RFC 7644 §3.4.2.3: sortOrder defaults to ascending; caseExact=false strings sort
    case-insensitively ("analyst" before "Zookeeper")."""
    names = sorted_names(scim, sortBy="title", filter="title pr")
    assert names == ["carol@contoso.com", "alice@contoso.com"]


def test_sort_descending(scim, three_users):
    """RFC 7644 §3.4.2.3: sortOrder=descending reverses the order."""
    names = sorted_names(scim, sortBy="userName", sortOrder="descending")
    assert names == ["carol@contoso.com", "bob@contoso.com", "alice@contoso.com"]


def test_sort_ascending_puts_missing_values_last(scim, three_users):
    """RFC 7644 §3.4.2.3: "if there is no data for the specified "sortBy" value, they are
    sorted via the "sortOrder" parameter, i.e., they are ordered last if ascending"."""
    names = sorted_names(scim, sortBy="title")
    assert names == ["carol@contoso.com", "alice@contoso.com", "bob@contoso.com"]


def test_sort_descending_puts_missing_values_first(scim, three_users):
    """RFC 7644 §3.4.2.3: missing values are "ordered ... first if descending"."""
    names = sorted_names(scim, sortBy="title", sortOrder="descending")
    assert names == ["bob@contoso.com", "alice@contoso.com", "carol@contoso.com"]


def test_sort_by_multi_valued_attribute_puts_missing_values_last(scim, three_users):
    """RFC 7644 §3.4.2.3: a multi-valued sortBy uses the primary (else first) value, and
    resources without one come last when ascending."""
    names = sorted_names(scim, sortBy="emails")
    assert names[0] == "alice@contoso.com"


def test_sort_by_unknown_attribute_is_not_a_server_error(scim, three_users):
    """RFC 7644 §3.4.2.3 does not say what an undefined sortBy does; either the list (sort
    ignored) or a SCIM 400 Error (§3.12) is acceptable, a 5xx is not."""
    resp = scim.get("/scim/Users?sortBy=noSuchAttribute")
    if resp.status_code != 200:
        assert_scim_error(resp, 400)
    else:
        assert resp.get_json()["totalResults"] == 3


# == attributes / excludedAttributes: RFC 7644 §3.4.2.5, §3.9 ================================
def test_attributes_returns_requested_plus_always_returned(scim):
    """RFC 7644 §3.4.2.5/§3.9: only the named attributes plus `returned: always` ones (id);
    `schemas` stays."""
    user = make_user(scim, "proj@contoso.com", title="T", displayName="P")
    body = scim.get(f"/scim/Users/{user['id']}?attributes=title").get_json()
    assert body["id"] == user["id"]
    assert body["schemas"] == [USER]
    assert body["title"] == "T"
    assert "displayName" not in body and "userName" not in body


def test_excluded_attributes_cannot_remove_id_or_schemas(scim):
    """RFC 7643 §3.1 (id returned "always") and RFC 7644 §3.4.2.5."""
    user = make_user(scim, "keep@contoso.com", title="T")
    body = scim.get(f"/scim/Users/{user['id']}?excludedAttributes=id,schemas,title").get_json()
    assert body["id"] == user["id"]
    assert USER in body["schemas"]
    assert "title" not in body and body["userName"] == "keep@contoso.com"


def test_attributes_accepts_sub_attributes(scim):
    """RFC 7644 §3.10: `name.givenName` selects one sub-attribute."""
    user = make_user(scim, "sub@contoso.com", name={"givenName": "G", "familyName": "F"})
    body = scim.get(f"/scim/Users/{user['id']}?attributes=name.givenName").get_json()
    assert body["name"] == {"givenName": "G"}


def test_attributes_with_extension_urn_keeps_extension_schema(scim):
    """RFC 7644 §3.10: URN-qualified attribute names; `schemas` lists the extension that is
    present in the response."""
    user = make_user(scim, "ext@contoso.com", **{ENTERPRISE: {"department": "R",
                                                              "employeeNumber": "1"}})
    body = scim.get(f"/scim/Users/{user['id']}?attributes={ENTERPRISE}:department").get_json()
    assert body[ENTERPRISE] == {"department": "R"}
    assert ENTERPRISE in body["schemas"]


def test_schemas_omits_extensions_projected_away(scim):
    """RFC 7643 §3: `schemas` names the schemas of the attributes in the representation."""
    user = make_user(scim, "noext@contoso.com", **{ENTERPRISE: {"department": "R"}})
    body = scim.get(f"/scim/Users/{user['id']}?attributes=userName").get_json()
    assert ENTERPRISE not in body and ENTERPRISE not in body["schemas"]


def test_attributes_apply_to_list_results(scim, three_users):
    """RFC 7644 §3.4.2.5: the same projection applies to every resource in a list."""
    body = list_users(scim, attributes="userName")
    for resource in body["Resources"]:
        assert set(resource) == {"schemas", "id", "userName"}


def test_password_is_never_returned(scim):
    """RFC 7643 §4.1.1: password is writeOnly and "returned": "never", even when asked for."""
    user = make_user(scim, "pw@contoso.com", password="S3cret!x")
    assert "password" not in user
    assert "password" not in scim.get(f"/scim/Users/{user['id']}").get_json()
    assert "password" not in scim.get(f"/scim/Users/{user['id']}?attributes=password").get_json()
    assert all("password" not in r for r in list_users(scim)["Resources"])


def test_group_excluded_attributes_members(scim):
    """Entra §1.10/§7: GET /Groups/{id}?excludedAttributes=members has no members."""
    member = make_user(scim, "m@contoso.com")
    group = make_group(scim, "Ops", members=[{"value": member["id"]}])
    body = scim.get(f"/scim/Groups/{group['id']}?excludedAttributes=members").get_json()
    assert "members" not in body and body["displayName"] == "Ops"


# == /.search: RFC 7644 §3.4.3 =============================================================
def test_search_returns_list_response(scim, three_users):
    """RFC 7644 §3.4.3: POST /Users/.search with a SearchRequest answers 200 ListResponse."""
    resp = scim.post("/scim/Users/.search", {
        "schemas": [SEARCH], "filter": 'userName eq "bob@contoso.com"',
        "attributes": ["userName"], "startIndex": 1, "count": 10})
    assert resp.status_code == 200 and resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["schemas"] == [LIST] and body["totalResults"] == 1
    assert set(body["Resources"][0]) == {"schemas", "id", "userName"}


def test_search_honours_excluded_attributes_and_sorting(scim, three_users):
    """RFC 7644 §3.4.3: the SearchRequest carries the same parameters as the query string."""
    body = scim.post("/scim/Users/.search", {
        "schemas": [SEARCH], "excludedAttributes": ["title", "emails"],
        "sortBy": "userName", "sortOrder": "descending"}).get_json()
    assert [r["userName"] for r in body["Resources"]][0] == "carol@contoso.com"
    assert all("title" not in r and "emails" not in r for r in body["Resources"])


@pytest.mark.parametrize("body", [["not", "an", "object"],
                                  {"schemas": ["urn:wrong"]},
                                  {"schemas": [SEARCH], "filter": "userName eq"},
                                  {"schemas": [SEARCH], "count": "many"}])
def test_search_with_bad_body_is_400(scim, body):
    """RFC 7644 §3.4.3/§3.12: a malformed SearchRequest is a SCIM 400."""
    body_resp = assert_scim_error(scim.post("/scim/Users/.search", body), 400)
    assert body_resp.get("scimType") in SCIM_TYPES


def test_search_with_invalid_json_is_invalid_syntax(scim):
    """RFC 7644 §3.12 invalidSyntax: "The request body message structure was invalid"."""
    assert_scim_error(scim.post("/scim/Users/.search", raw="{not json"), 400, "invalidSyntax")


def test_group_search(scim):
    """RFC 7644 §3.4.3: /Groups/.search too."""
    make_group(scim, "Finance")
    body = scim.post("/scim/Groups/.search", {"schemas": [SEARCH],
                                              "filter": 'displayName eq "finance"'}).get_json()
    assert body["totalResults"] == 1


# == Create: RFC 7644 §3.3 =================================================================
def test_create_is_201_with_location_etag_and_meta(scim):
    """RFC 7644 §3.3: 201, Location equal to meta.location; RFC 7643 §3.1 meta; §3.14 ETag
    equal to meta.version; dates are RFC 3339."""
    resp = scim.post("/scim/Users", {"schemas": [USER], "userName": "new@contoso.com"})
    assert resp.status_code == 201 and resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["id"]
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert resp.headers["Location"] == meta["location"]
    assert meta["location"].endswith(f"/Users/{body['id']}")
    assert resp.headers["ETag"] == meta["version"]
    assert RFC3339.match(meta["created"]) and RFC3339.match(meta["lastModified"])


def test_create_ignores_read_only_attributes(scim):
    """RFC 7644 §3.3/§3.5.1: readOnly values in a request (id, meta, groups) are ignored."""
    resp = scim.post("/scim/Users", {
        "schemas": [USER], "userName": "ro@contoso.com", "id": "client-chosen",
        "meta": {"resourceType": "User", "created": "2000-01-01T00:00:00Z",
                 "version": 'W/"99"'},
        "groups": [{"value": "g1"}]})
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["id"] != "client-chosen"
    assert body["meta"]["created"] != "2000-01-01T00:00:00Z"
    assert body["meta"]["version"] != 'W/"99"'
    assert "groups" not in body


def test_create_duplicate_user_name_differing_in_case_is_409(scim):
    """RFC 7643 §4.1.1 (userName caseExact=false, uniqueness server), RFC 7644 §3.3:
    409 with scimType uniqueness; Entra §6.3 wants a detail."""
    make_user(scim, "Adele.Vance@contoso.com")
    resp = scim.post("/scim/Users", {"schemas": [USER], "userName": "adele.vance@CONTOSO.com"})
    body = assert_scim_error(resp, 409, "uniqueness")
    assert body["detail"]


def test_create_duplicate_group_display_name_is_409(scim):
    """Entra §1.10/§7: group displayName is unique (Entra matches on it)."""
    make_group(scim, "Sales")
    assert_scim_error(scim.post("/scim/Groups", {"schemas": [GROUP], "displayName": "SALES"}),
                      409, "uniqueness")


def test_create_without_required_attribute_is_400(scim):
    """RFC 7643 §4.1.1 (userName required), RFC 7644 §3.12 invalidValue: "A required value
    was missing"."""
    assert_scim_error(scim.post("/scim/Users", {"schemas": [USER], "displayName": "x"}), 400,
                      "invalidValue")


def test_create_with_two_primary_emails_is_400(scim):
    """RFC 7643 §2.4: "The primary attribute value "true" MUST appear no more than once"."""
    resp = scim.post("/scim/Users", {"schemas": [USER], "userName": "pp@contoso.com", "emails": [
        {"value": "a@contoso.com", "primary": True}, {"value": "b@contoso.com", "primary": True}]})
    assert_scim_error(resp, 400)


def test_attribute_names_in_a_body_are_case_insensitive(scim):
    """RFC 7643 §2.1: "Attribute names are case insensitive"."""
    resp = scim.post("/scim/Users", {"schemas": [USER], "USERNAME": "caps@contoso.com",
                                     "Emails": [{"VALUE": "caps@contoso.com", "Type": "work"}]})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["userName"] == "caps@contoso.com"
    assert body["emails"] == [{"value": "caps@contoso.com", "type": "work"}]


def test_create_with_unknown_attribute_is_refused_or_dropped(scim):
    """RFC 7644 §3.12 invalidSyntax ("did not conform to the request schema") or, leniently,
    ignored; never stored and echoed as if the schema defined it (RFC 7643 §3)."""
    resp = scim.post("/scim/Users", {"schemas": [USER], "userName": "u@contoso.com",
                                     "favouriteColour": "blue"})
    if resp.status_code == 201:
        assert "favouriteColour" not in resp.get_json()
    else:
        assert_scim_error(resp, 400)


def test_entra_create_user_round_trips_values_exactly(scim):
    """Entra §1.6/§6.1: the full Entra POST is accepted (meta, empty roles) and values come
    back exactly as sent (no phone or e-mail reformatting)."""
    sent = load_fixture("entra-create-user.json")
    resp = scim.post("/scim/Users", sent)
    assert resp.status_code == 201, resp.get_json()
    body = scim.get(f"/scim/Users/{resp.get_json()['id']}").get_json()
    for key in ("userName", "externalId", "active", "displayName", "title", "emails", "name",
                "addresses", "phoneNumbers", "preferredLanguage", ENTERPRISE):
        assert body[key] == sent[key], key
    assert ENTERPRISE in body["schemas"]


def test_entra_string_active_is_stored_as_boolean(scim):
    """Entra §6.1/§10 (reference Postman "Post emp1 with string "True""): stored as true."""
    user = make_user(scim, "emp1@contoso.com", active="True")
    assert user["active"] is True


def test_entra_create_tolerates_explicit_nulls(scim):
    """Entra §6.1: old samples send explicit nulls; RFC 7643 §2.5 makes null unassigned."""
    user = make_user(scim, "nulls@contoso.com", nickName=None, title=None,
                     name={"givenName": "N", "middleName": None})
    assert "nickName" not in user and "title" not in user
    assert user["name"] == {"givenName": "N"}


def test_entra_create_group_with_microsoft_marker_schema(scim):
    """Entra §7: the ADSCIM marker URN is accepted and ignored; members come back empty."""
    sent = load_fixture("entra-create-group.json")
    assert MS_GROUP_MARKER in sent["schemas"]
    resp = scim.post("/scim/Groups", sent)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["displayName"] == "Sales" and body["id"]
    assert body.get("members", []) == []


# == Read / Replace / Delete: RFC 7644 §3.4.1, §3.5.1, §3.6 =================================
def test_get_unknown_user_is_404_scim_error(scim):
    """RFC 7644 §3.12, Entra §6.2: unknown id is 404 with an Error body."""
    assert_scim_error(scim.get("/scim/Users/00000000-0000-0000-0000-000000000000"), 404)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_write_to_unknown_user_is_404(scim, method):
    """RFC 7644 §3.12: a write to a resource that does not exist is 404."""
    body = ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title", "value": "x"}]}
            if method == "PATCH" else {"schemas": [USER], "userName": "x@contoso.com"})
    resp = scim.request(method, "/scim/Users/00000000-0000-0000-0000-000000000000",
                        body=None if method == "DELETE" else body)
    assert_scim_error(resp, 404)


def test_put_cannot_change_id_and_ignores_read_only(scim):
    """RFC 7644 §3.5.1: "readOnly: Any values provided (e.g., "id") SHALL be ignored"."""
    user = make_user(scim, "put@contoso.com")
    resp = scim.put(f"/scim/Users/{user['id']}", {
        "schemas": [USER], "id": "another-id", "userName": "put@contoso.com",
        "displayName": "Put", "meta": {"created": "2000-01-01T00:00:00Z"}})
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["id"] == user["id"] and body["displayName"] == "Put"
    assert body["meta"]["created"] == user["meta"]["created"]
    assert scim.get("/scim/Users/another-id").status_code == 404


def test_put_returns_resource_with_new_version(scim):
    """RFC 7644 §3.5.1: 200 with the updated resource; §3.14: the version changes."""
    user = make_user(scim, "v@contoso.com")
    resp = scim.put(f"/scim/Users/{user['id']}", {"schemas": [USER], "userName": "v@contoso.com",
                                                  "title": "New"})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["title"] == "New"
    assert body["meta"]["version"] != user["meta"]["version"]
    assert resp.headers["ETag"] == body["meta"]["version"]


def test_put_without_required_attribute_is_400(scim):
    """RFC 7644 §3.5.1: "If an attribute is "required", clients MUST specify the attribute
    in the PUT request"."""
    user = make_user(scim, "req@contoso.com")
    assert_scim_error(scim.put(f"/scim/Users/{user['id']}", {"schemas": [USER],
                                                            "displayName": "x"}), 400)


def test_put_to_a_taken_user_name_is_409(scim):
    """RFC 7644 §3.5.1/§3.12: changing userName to another user's (any case) is 409."""
    make_user(scim, "first@contoso.com")
    second = make_user(scim, "second@contoso.com")
    assert_scim_error(scim.put(f"/scim/Users/{second['id']}", {
        "schemas": [USER], "userName": "FIRST@contoso.com"}), 409, "uniqueness")


def test_delete_is_204_then_gone_everywhere(scim):
    """RFC 7644 §3.6: 204, then 404 for every operation and absent from queries (Entra §6.5)."""
    user = make_user(scim, "del@contoso.com")
    resp = scim.delete(f"/scim/Users/{user['id']}")
    assert resp.status_code == 204 and resp.get_data() == b""
    assert_scim_error(scim.get(f"/scim/Users/{user['id']}"), 404)
    assert_scim_error(scim.delete(f"/scim/Users/{user['id']}"), 404)
    assert user_names(scim, 'userName eq "del@contoso.com"') == []


def test_delete_group_is_204(scim):
    """Entra §7/§9: DELETE /Groups/{id} is 204."""
    group = make_group(scim)
    assert scim.delete(f"/scim/Groups/{group['id']}").status_code == 204
    assert_scim_error(scim.get(f"/scim/Groups/{group['id']}"), 404)


# == PATCH: RFC 7644 §3.5.2 ================================================================
def test_patch_user_returns_200_with_resource(scim):
    """RFC 7644 §3.5.2: 200 with the entire resource (or 204); Entra §9 accepts both."""
    user = make_user(scim, "p@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": "title", "value": "Boss"})
    assert resp.status_code == 200 and resp.mimetype == SCIM_JSON
    body = resp.get_json()
    assert body["title"] == "Boss" and body["id"] == user["id"]
    assert resp.headers["ETag"] == body["meta"]["version"]


def test_patch_group_returns_204_or_200(scim):
    """RFC 7644 §3.5.2 allows 204; Entra §7 prefers 204 for groups."""
    group = make_group(scim)
    resp = patch(scim, f"/scim/Groups/{group['id']}",
                 {"op": "replace", "path": "displayName", "value": "Sales EMEA"})
    assert resp.status_code in (200, 204)
    assert scim.get(f"/scim/Groups/{group['id']}").get_json()["displayName"] == "Sales EMEA"


def test_patch_with_attributes_parameter_returns_200(scim):
    """RFC 7644 §3.5.2: "The server MUST return a 200 OK if the "attributes" parameter is
    specified in the request"."""
    group = make_group(scim)
    resp = patch(scim, f"/scim/Groups/{group['id']}?attributes=displayName",
                 {"op": "replace", "path": "displayName", "value": "Renamed"})
    assert resp.status_code == 200
    assert resp.get_json()["displayName"] == "Renamed"


def test_patch_add_appends_to_multi_valued(scim):
    """RFC 7644 §3.5.2.1: add to a multi-valued attribute adds a value."""
    user = make_user(scim, "mv@contoso.com", emails=[{"type": "work", "value": "w@contoso.com"}])
    body = patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": "emails", "value": [
        {"type": "home", "value": "h@contoso.com"}]}).get_json()
    assert body["emails"] == [{"type": "work", "value": "w@contoso.com"},
                              {"type": "home", "value": "h@contoso.com"}]


def test_patch_add_of_existing_value_changes_nothing(scim):
    """RFC 7644 §3.5.2.1: "If the target location already contains the value specified, no
    changes SHOULD be made ... this operation SHALL NOT change the modify timestamp"."""
    user = make_user(scim, "same@contoso.com", emails=[{"type": "work", "value": "s@contoso.com"}])
    resp = patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": "emails", "value": [
        {"type": "work", "value": "s@contoso.com"}]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert len(body["emails"]) == 1
    assert body["meta"]["lastModified"] == user["meta"]["lastModified"]
    assert body["meta"]["version"] == user["meta"]["version"]


def test_patch_add_primary_value_demotes_the_old_primary(scim):
    """RFC 7644 §3.5.2: setting "primary" to true on one value "SHALL cause the server to
    automatically set "primary" to "false" for any other values"."""
    user = make_user(scim, "prim@contoso.com",
                     emails=[{"type": "work", "value": "w@contoso.com", "primary": True}])
    body = patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": "emails", "value": [
        {"type": "home", "value": "h@contoso.com", "primary": True}]}).get_json()
    primaries = [e["value"] for e in body["emails"] if e.get("primary") is True]
    assert primaries == ["h@contoso.com"]


def test_patch_replace_with_value_filter(scim):
    """RFC 7644 §3.5.2.3: replace on `emails[type eq "work"].value` changes only that one."""
    user = make_user(scim, "rf@contoso.com", emails=[
        {"type": "work", "value": "w@contoso.com"}, {"type": "home", "value": "h@contoso.com"}])
    body = patch(scim, f"/scim/Users/{user['id']}", {
        "op": "replace", "path": 'emails[type eq "work"].value', "value": "w2@contoso.com"
    }).get_json()
    assert body["emails"] == [{"type": "work", "value": "w2@contoso.com"},
                              {"type": "home", "value": "h@contoso.com"}]


def test_patch_replace_multi_valued_without_filter_replaces_all(scim):
    """RFC 7644 §3.5.2.3: replace of a multi-valued attribute without filter replaces all."""
    user = make_user(scim, "ra@contoso.com", emails=[
        {"type": "work", "value": "w@contoso.com"}, {"type": "home", "value": "h@contoso.com"}])
    body = patch(scim, f"/scim/Users/{user['id']}", {"op": "replace", "path": "emails", "value": [
        {"type": "other", "value": "o@contoso.com"}]}).get_json()
    assert body["emails"] == [{"type": "other", "value": "o@contoso.com"}]


def test_patch_replace_of_absent_attribute_adds_it(scim):
    """RFC 7644 §3.5.2.3: replace of an attribute that does not exist is treated as add."""
    user = make_user(scim, "absent@contoso.com")
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": "nickName", "value": "Babs"}).get_json()
    assert body["nickName"] == "Babs"


def test_patch_replace_complex_keeps_unmentioned_sub_attributes(scim):
    """RFC 7644 §3.5.2.3: "Sub-attributes that are not specified in the "value" parameter
    are left unchanged"."""
    user = make_user(scim, "cx@contoso.com", name={"givenName": "G", "familyName": "F"})
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": "name", "value": {"givenName": "G2"}}).get_json()
    assert body["name"] == {"givenName": "G2", "familyName": "F"}


def test_patch_remove_with_value_filter(scim):
    """RFC 7644 §3.5.2.2: remove `emails[type eq "home"]` removes only matching values."""
    user = make_user(scim, "rm@contoso.com", emails=[
        {"type": "work", "value": "w@contoso.com"}, {"type": "home", "value": "h@contoso.com"}])
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "remove", "path": 'emails[type eq "home"]'}).get_json()
    assert body["emails"] == [{"type": "work", "value": "w@contoso.com"}]


def test_patch_remove_last_value_leaves_attribute_unassigned(scim):
    """RFC 7644 §3.5.2.2: "If no other values remain ... the multi-valued attribute SHALL be
    considered unassigned"."""
    user = make_user(scim, "last@contoso.com", emails=[{"type": "work", "value": "w@contoso.com"}])
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "remove", "path": 'emails[type eq "work"]'}).get_json()
    assert body.get("emails", []) == []


def test_patch_remove_whole_attribute(scim):
    """RFC 7644 §3.5.2.2: remove of a single-valued attribute makes it unassigned."""
    user = make_user(scim, "rw@contoso.com", title="T")
    body = patch(scim, f"/scim/Users/{user['id']}", {"op": "remove", "path": "title"}).get_json()
    assert "title" not in body


def test_patch_remove_without_path_is_no_target(scim):
    """RFC 7644 §3.5.2.2: "If "path" is unspecified, the operation fails with HTTP status
    code 400 and a "scimType" error code of "noTarget"\"."""
    user = make_user(scim, "np@contoso.com")
    assert_scim_error(patch(scim, f"/scim/Users/{user['id']}", {"op": "remove"}), 400,
                      "noTarget")


def test_patch_remove_required_user_name_is_mutability_error(scim):
    """RFC 7644 §3.5.2.2: "If an attribute is removed or becomes unassigned and is defined as
    a required attribute or a read-only attribute, the server SHALL return ... a "scimType"
    error code of "mutability"\"."""
    user = make_user(scim, "req2@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}", {"op": "remove", "path": "userName"})
    assert_scim_error(resp, 400, "mutability")
    assert scim.get(f"/scim/Users/{user['id']}").get_json()["userName"] == "req2@contoso.com"


def test_patch_clearing_required_user_name_is_mutability_error(scim):
    """RFC 7644 §3.5.2.2: an attribute that "becomes unassigned and is defined as a required
    attribute" is a "mutability" error (replace with null, RFC 7643 §2.5)."""
    user = make_user(scim, "req3@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": "userName", "value": None})
    assert_scim_error(resp, 400, "mutability")


def test_patch_remove_required_group_display_name_is_mutability_error(scim):
    """RFC 7644 §3.5.2.2 (required attribute removed => "mutability"); RFC 7643 §4.2
    makes Group displayName required."""
    group = make_group(scim, "Required")
    resp = patch(scim, f"/scim/Groups/{group['id']}", {"op": "remove", "path": "displayName"})
    assert_scim_error(resp, 400, "mutability")


@pytest.mark.parametrize("op", [{"op": "replace", "path": "id", "value": "other"},
                                {"op": "remove", "path": "id"},
                                {"op": "replace", "value": {"id": "other"}},
                                {"op": "add", "path": "meta.created",
                                 "value": "2000-01-01T00:00:00Z"},
                                {"op": "add", "path": "groups", "value": [{"value": "g"}]}])
def test_patch_of_read_only_attribute_is_mutability_error(scim, op):
    """RFC 7644 §3.5.2: "A client MUST NOT modify an attribute that has mutability
    "readOnly""; the error is scimType "mutability" (§3.12). `id` never changes."""
    user = make_user(scim, "ro2@contoso.com")
    assert_scim_error(patch(scim, f"/scim/Users/{user['id']}", op), 400, "mutability")
    assert scim.get(f"/scim/Users/{user['id']}").status_code == 200


def test_patch_unknown_path_is_invalid_path(scim):
    """RFC 7644 §3.12 invalidPath: "The "path" attribute was invalid or malformed"."""
    user = make_user(scim, "ip@contoso.com")
    for path in ("noSuchAttribute", 'emails[type eq "work"', "name.noSuchSub"):
        resp = patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": path, "value": "x"})
        assert_scim_error(resp, 400, "invalidPath")


def test_patch_is_atomic(scim):
    """RFC 7644 §3.5.2: "If a single "op" fails, the whole PATCH fails and the resource is
    left unchanged" (operations are applied all or none)."""
    user = make_user(scim, "atomic@contoso.com", title="Before")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "replace", "path": "title", "value": "After"},
                 {"op": "replace", "path": "noSuchAttribute", "value": "x"})
    assert_scim_error(resp, 400)
    assert scim.get(f"/scim/Users/{user['id']}").get_json()["title"] == "Before"


def test_patch_group_membership_is_atomic(scim):
    """RFC 7644 §3.5.2: a rename plus an add of an unknown member changes nothing."""
    member = make_user(scim, "gm@contoso.com")
    group = make_group(scim, "Atomic")
    resp = patch(scim, f"/scim/Groups/{group['id']}",
                 {"op": "replace", "path": "displayName", "value": "Renamed"},
                 {"op": "add", "path": "members", "value": [{"value": member["id"]}]},
                 {"op": "add", "path": "members", "value": [{"value": "no-such-id"}]})
    assert_scim_error(resp, 400)
    body = scim.get(f"/scim/Groups/{group['id']}").get_json()
    assert body["displayName"] == "Atomic" and body.get("members", []) == []


def test_patch_without_operations_is_400(scim):
    """RFC 7644 §3.5.2: the body "MUST contain the attribute "Operations", whose value is an
    array of one or more PATCH operations"."""
    user = make_user(scim, "noops@contoso.com")
    for body in ({"schemas": [PATCH_OP]}, {"schemas": [PATCH_OP], "Operations": []}):
        assert_scim_error(scim.patch(f"/scim/Users/{user['id']}", body), 400)


def test_patch_with_unknown_op_is_400(scim):
    """RFC 7644 §3.5.2: "op" is one of "add", "remove" or "replace"."""
    user = make_user(scim, "badop@contoso.com")
    assert_scim_error(patch(scim, f"/scim/Users/{user['id']}",
                            {"op": "move", "path": "title", "value": "x"}), 400)


# == PATCH in Entra's dialects: Entra §1.2-§1.5, §6.4, §7, §10 ==============================
def test_entra_legacy_replace_batch(scim):
    """Entra §6.4(a): capitalised ops, filtered email path, extension URN path."""
    user = make_user(scim, "legacy@contoso.com",
                     emails=[{"type": "work", "value": "legacy@contoso.com", "primary": True}])
    resp = scim.patch(f"/scim/Users/{user['id']}",
                      load_fixture("entra-legacy-replace-attributes.json"))
    assert resp.status_code in (200, 204), resp.get_json()
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert body["displayName"] == "Pvlo" and body["externalId"] == "Eqpj"
    assert body["name"] == {"givenName": "Gtfd", "familyName": "Pkqf"}
    assert body["emails"] == [{"type": "work", "value": "pvlo@contoso.com", "primary": True}]
    assert body[ENTERPRISE] == {"employeeNumber": "Eqpj"}


def test_entra_no_path_value_with_dotted_and_urn_keys(scim):
    """Entra §1.2/§6.4(b): no-path op whose value has `name.givenName` and URN keys."""
    user = make_user(scim, "flag@contoso.com", emails=[{"type": "work", "value": "x@contoso.com"}])
    resp = scim.patch(f"/scim/Users/{user['id']}",
                      load_fixture("entra-aadOptscim062020-no-path.json"))
    assert resp.status_code in (200, 204), resp.get_json()
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert body["displayName"] == "Bjfe"
    assert body["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert body[ENTERPRISE] == {"employeeNumber": "Aklq"}
    assert "name.givenName" not in body
    assert body["emails"][0]["value"] == "bjfe@contoso.com"


@pytest.mark.parametrize("value,expected", [("False", False), ("True", True), (False, False),
                                            ("false", False)])
def test_entra_disable_and_enable_user(scim, value, expected):
    """Entra §6.4(e): active as "True"/"False" strings or booleans; returned as a boolean, and
    the disabled user is still readable."""
    user = make_user(scim, "dis@contoso.com", active=not expected)
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "Replace", "path": "active", "value": value})
    assert resp.status_code in (200, 204)
    assert scim.get(f"/scim/Users/{user['id']}").get_json()["active"] is expected


def test_entra_add_on_filter_path_without_match_creates_the_entry(scim):
    """Entra §1.4/§6.4(c): `Add emails[type eq "work"].value` on a user without a work email
    creates {type: work, value}."""
    user = make_user(scim, "nowork@contoso.com",
                     addresses=[{"type": "home", "formatted": "Home"}])
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "Add", "path": 'emails[type eq "work"].value', "value": "w@contoso.com"},
                 {"op": "Add", "path": 'addresses[type eq "work"].formatted', "value": "18/2111"}
                 ).get_json()
    assert body["emails"] == [{"type": "work", "value": "w@contoso.com"}]
    assert {"type": "work", "formatted": "18/2111"} in body["addresses"]
    assert {"type": "home", "formatted": "Home"} in body["addresses"]


def test_entra_manager_as_bare_string_and_removal_with_empty_string(scim):
    """Entra §1.5/§6.4(d): manager Add with a bare id; returned as {"value": id}; Replace
    with "" removes it."""
    boss = make_user(scim, "boss@contoso.com")
    user = make_user(scim, "emp@contoso.com")
    path = f"{ENTERPRISE}:manager"
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "Add", "path": path, "value": boss["id"]}).get_json()
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"]
    body = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "Replace", "path": path, "value": ""}).get_json()
    assert "manager" not in body.get(ENTERPRISE, {})


def test_microsoft_null_update_clears_attributes(scim):
    """Entra §10 SCIM_Null_Update_Test: "" and null clear attributes."""
    user = make_user(scim, "null@contoso.com", title="T", preferredLanguage="en-US",
                     displayName="D", name={"givenName": "G", "familyName": "F"},
                     phoneNumbers=[{"type": "fax", "value": "+1 425 555 0102"},
                                   {"type": "work", "value": "+1 425 555 0100"}],
                     **{ENTERPRISE: {"department": "Retail", "employeeNumber": "1"}})
    resp = scim.patch(f"/scim/Users/{user['id']}", load_fixture("microsoft-null-update.json"))
    assert resp.status_code in (200, 204), resp.get_json()
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    for gone in ("title", "preferredLanguage", "displayName"):
        assert gone not in body, gone
    assert body["name"] == {"familyName": "F"}
    assert body["phoneNumbers"] == [{"type": "work", "value": "+1 425 555 0100"}]
    assert body[ENTERPRISE] == {"employeeNumber": "1"}


def test_entra_user_name_change_is_found_by_new_name(scim):
    """Entra §6.4 (Replace userName), §10 reference Postman."""
    user = make_user(scim, "before@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}",
                 {"op": "Replace", "path": "userName", "value": "after@contoso.com"})
    assert resp.status_code in (200, 204)
    assert user_names(scim, 'userName eq "after@contoso.com"') == ["after@contoso.com"]
    assert user_names(scim, 'userName eq "before@contoso.com"') == []


# == Groups and memberships: RFC 7643 §4.1.2, §4.2; Entra §7 ================================
def test_group_members_carry_value_ref_and_type(scim):
    """RFC 7643 §4.2: members have value, $ref (to the member's URI) and type User/Group."""
    user = make_user(scim, "mem@contoso.com")
    inner = make_group(scim, "Inner")
    group = make_group(scim, "Outer", members=[{"value": user["id"]}, {"value": inner["id"]}])
    members = {m["value"]: m for m in scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]}
    assert members[user["id"]]["type"] == "User"
    assert members[user["id"]]["$ref"].endswith(f"/Users/{user['id']}")
    assert members[inner["id"]]["type"] == "Group"
    assert members[inner["id"]]["$ref"].endswith(f"/Groups/{inner['id']}")


def test_user_groups_attribute_lists_memberships(scim):
    """RFC 7643 §4.1.2: a user's read-only `groups` has value, $ref, display and type."""
    user = make_user(scim, "ug@contoso.com")
    group = make_group(scim, "Engineering", members=[{"value": user["id"]}])
    groups = scim.get(f"/scim/Users/{user['id']}").get_json()["groups"]
    assert groups == [{"value": group["id"], "$ref": groups[0]["$ref"],
                       "display": "Engineering", "type": "direct"}]
    assert groups[0]["$ref"].endswith(f"/Groups/{group['id']}")


def test_entra_add_several_members_in_one_op_with_null_ref(scim):
    """Entra §7: several members in one Add, with "$ref": null; re-adding one adds no
    duplicate."""
    one, two = make_user(scim, "one@contoso.com"), make_user(scim, "two@contoso.com")
    group = make_group(scim)
    op = {"op": "Add", "path": "members",
          "value": [{"$ref": None, "value": one["id"]}, {"$ref": None, "value": two["id"]}]}
    assert patch(scim, f"/scim/Groups/{group['id']}", op).status_code in (200, 204)
    assert patch(scim, f"/scim/Groups/{group['id']}", op).status_code in (200, 204)
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert sorted(m["value"] for m in members) == sorted([one["id"], two["id"]])


def test_entra_legacy_remove_with_value_array_removes_only_listed(scim):
    """Entra §1.3: legacy Remove path "members" + value removes only the listed members."""
    one, two = make_user(scim, "r1@contoso.com"), make_user(scim, "r2@contoso.com")
    group = make_group(scim, members=[{"value": one["id"]}, {"value": two["id"]}])
    patch(scim, f"/scim/Groups/{group['id']}",
          {"op": "Remove", "path": "members", "value": [{"value": one["id"]}]})
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [two["id"]]


def test_remove_member_by_value_filter(scim):
    """RFC 7644 §3.5.2.2 / Entra §7 (flag): `members[value eq "id"]` removes that member."""
    one, two = make_user(scim, "f1@contoso.com"), make_user(scim, "f2@contoso.com")
    group = make_group(scim, members=[{"value": one["id"]}, {"value": two["id"]}])
    patch(scim, f"/scim/Groups/{group['id']}",
          {"op": "remove", "path": f'members[value eq "{two["id"]}"]'})
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [one["id"]]


def test_remove_all_members(scim):
    """RFC 7644 §3.5.2.2 / Entra §10 reference: remove path "members" without value."""
    one = make_user(scim, "all@contoso.com")
    group = make_group(scim, members=[{"value": one["id"]}])
    patch(scim, f"/scim/Groups/{group['id']}", {"op": "remove", "path": "members"})
    assert scim.get(f"/scim/Groups/{group['id']}").get_json().get("members", []) == []


def test_replace_members_sets_the_exact_member_list(scim):
    """RFC 7644 §3.5.2.3: replace of `members` without a filter replaces all values."""
    one, two = make_user(scim, "x1@contoso.com"), make_user(scim, "x2@contoso.com")
    group = make_group(scim, members=[{"value": one["id"]}])
    patch(scim, f"/scim/Groups/{group['id']}",
          {"op": "replace", "path": "members", "value": [{"value": two["id"]}]})
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [two["id"]]


def test_put_group_replaces_members(scim):
    """RFC 7644 §3.5.1: PUT replaces the resource's attributes, members included."""
    one, two = make_user(scim, "y1@contoso.com"), make_user(scim, "y2@contoso.com")
    group = make_group(scim, "Put", members=[{"value": one["id"]}])
    resp = scim.put(f"/scim/Groups/{group['id']}", {"schemas": [GROUP], "displayName": "Put",
                                                    "members": [{"value": two["id"]}]})
    assert resp.status_code == 200
    assert [m["value"] for m in resp.get_json()["members"]] == [two["id"]]


def test_removing_a_non_member_is_a_no_op(scim):
    """Entra §7: Entra may remove a member that is already gone; that is not an error."""
    one = make_user(scim, "z1@contoso.com")
    stranger = make_user(scim, "z2@contoso.com")
    group = make_group(scim, members=[{"value": one["id"]}])
    resp = patch(scim, f"/scim/Groups/{group['id']}",
                 {"op": "Remove", "path": "members", "value": [{"value": stranger["id"]}]})
    assert resp.status_code in (200, 204)
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert [m["value"] for m in members] == [one["id"]]


def test_filter_groups_by_member_and_users_by_group(scim):
    """RFC 7644 §3.4.2.2: `members.value eq` and `groups.value eq` are filterable."""
    user = make_user(scim, "fm@contoso.com")
    group = make_group(scim, "Filtered", members=[{"value": user["id"]}])
    make_group(scim, "Other")
    groups = scim.get("/scim/Groups", query_string={
        "filter": f'members.value eq "{user["id"]}"'}).get_json()
    assert [g["id"] for g in groups["Resources"]] == [group["id"]]
    assert user_names(scim, f'groups.value eq "{group["id"]}"') == ["fm@contoso.com"]


def test_deleted_user_leaves_its_groups(scim):
    """RFC 7644 §3.6: a deleted resource is gone from "future query results", including
    group member lists."""
    user = make_user(scim, "left@contoso.com")
    group = make_group(scim, members=[{"value": user["id"]}])
    scim.delete(f"/scim/Users/{user['id']}")
    assert scim.get(f"/scim/Groups/{group['id']}").get_json().get("members", []) == []


# == ETags: RFC 7644 §3.14 =================================================================
def test_meta_version_equals_etag_header(scim):
    """RFC 7644 §3.14: the ETag header and meta.version carry the same version."""
    user = make_user(scim, "etag@contoso.com")
    resp = scim.get(f"/scim/Users/{user['id']}")
    assert resp.headers["ETag"] == resp.get_json()["meta"]["version"]
    group = make_group(scim)
    resp = scim.get(f"/scim/Groups/{group['id']}")
    assert resp.headers["ETag"] == resp.get_json()["meta"]["version"]


def test_if_none_match_with_current_version_is_304(scim):
    """RFC 7644 §3.14: GET with If-None-Match of the current version is 304 Not Modified."""
    user = make_user(scim, "inm@contoso.com")
    resp = scim.get(f"/scim/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert resp.status_code == 304
    assert resp.headers["ETag"] == user["meta"]["version"]


def test_if_none_match_with_old_version_is_200(scim):
    """RFC 7644 §3.14: after a change, the old version no longer matches."""
    user = make_user(scim, "inm2@contoso.com")
    patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": "title", "value": "T"})
    resp = scim.get(f"/scim/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert resp.status_code == 200 and resp.get_json()["title"] == "T"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_if_match_with_stale_version_is_412(scim, method):
    """RFC 7644 §3.14: a write with a stale If-Match is 412 Precondition Failed."""
    user = make_user(scim, "stale@contoso.com")
    body = {"PUT": {"schemas": [USER], "userName": "stale@contoso.com", "title": "x"},
            "PATCH": {"schemas": [PATCH_OP],
                      "Operations": [{"op": "add", "path": "title", "value": "x"}]},
            "DELETE": None}[method]
    resp = scim.request(method, f"/scim/Users/{user['id']}", body=body,
                        headers={"If-Match": 'W/"999"'})
    assert_scim_error(resp, 412)
    assert "title" not in scim.get(f"/scim/Users/{user['id']}").get_json()


def test_if_match_with_current_version_succeeds(scim):
    """RFC 7644 §3.14: If-Match with the current version lets the write through."""
    user = make_user(scim, "cur@contoso.com")
    resp = patch(scim, f"/scim/Users/{user['id']}", {"op": "add", "path": "title", "value": "x"},
                 headers={"If-Match": user["meta"]["version"]})
    assert resp.status_code == 200
    resp = scim.delete(f"/scim/Users/{user['id']}",
                       headers={"If-Match": resp.get_json()["meta"]["version"]})
    assert resp.status_code == 204


def test_user_etag_changes_when_its_groups_change(scim):
    """RFC 7644 §3.14 / RFC 7232 §2.1: a validator must change when the representation
    changes meaningfully; adding the user to a group changes its `groups` attribute."""
    user = make_user(scim, "etg@contoso.com")
    make_group(scim, "Joined", members=[{"value": user["id"]}])
    resp = scim.get(f"/scim/Users/{user['id']}", headers={"If-None-Match": user["meta"]["version"]})
    assert resp.status_code == 200
    assert resp.get_json()["groups"][0]["display"] == "Joined"


def test_group_etag_changes_when_a_member_is_deleted(scim):
    """RFC 7644 §3.14 / RFC 7232 §2.1: deleting a member changes the group's `members`."""
    user = make_user(scim, "gone2@contoso.com")
    group = make_group(scim, "Shrinks", members=[{"value": user["id"]}])
    version = scim.get(f"/scim/Groups/{group['id']}").headers["ETag"]
    scim.delete(f"/scim/Users/{user['id']}")
    resp = scim.get(f"/scim/Groups/{group['id']}", headers={"If-None-Match": version})
    assert resp.status_code == 200
    assert resp.get_json().get("members", []) == []


# == Errors, status codes and media types: RFC 7644 §3.1, §3.8, §3.12 =======================
def test_missing_token_is_401_scim_error_with_challenge(scim):
    """RFC 7644 §2 / RFC 6750 §3: 401 with WWW-Authenticate; §3.12 Error body (Entra §9)."""
    scim.token = None
    resp = scim.get("/scim/Users")
    assert_scim_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].lower().startswith("bearer")


def test_wrong_token_is_401(scim):
    """RFC 6750 §3.1 invalid_token: 401 (Entra §9 "invalid credentials")."""
    scim.token = "not-the-token"
    assert_scim_error(scim.get("/scim/Users?filter=userName+eq+%22x%22"), 401)


def test_forbidden_is_403_scim_error(scim, app):
    """RFC 7644 §3.12: 403 Forbidden is an Error message too (sync switched off)."""
    with app.app_context():
        appliance.set_sync(db.session, False)
        db.session.commit()
    assert_scim_error(scim.get("/scim/Users"), 403)


def test_unknown_endpoint_is_404_scim_error(scim):
    """RFC 7644 §3.12; scim2-tester `random_url` wants an Error with status 404."""
    assert_scim_error(scim.get("/scim/0b9a4f7e-5b2e-4ad6-9d1b-1b0e0c7e1f00"), 404)


def test_unsupported_method_is_405_with_allow(scim):
    """RFC 9110 §15.5.6: 405 lists the allowed methods; the body is a SCIM Error."""
    resp = scim.request("PATCH", "/scim/Users", body={"schemas": [PATCH_OP]})
    assert_scim_error(resp, 405)
    assert "POST" in resp.headers["Allow"]


def test_too_large_body_is_413_scim_error(scim, app):
    """RFC 7644 §3.12: 413 Payload Too Large, as an Error message."""
    limit = app.config["MAX_CONTENT_LENGTH"]
    resp = scim.post("/scim/Users", raw=b'{"userName":"' + b"x" * limit + b'"}')
    assert_scim_error(resp, 413)


def test_invalid_json_is_400_invalid_syntax(scim):
    """RFC 7644 §3.12 invalidSyntax."""
    assert_scim_error(scim.post("/scim/Users", raw="{nope"), 400, "invalidSyntax")


def test_me_endpoint_not_supported_is_501(scim):
    """RFC 7644 §3.11: "A service provider that does NOT support this feature SHOULD respond
    with HTTP status code 501 (Not Implemented)"."""
    assert_scim_error(scim.get("/scim/Me"), 501)


def test_bulk_not_supported_is_501(scim):
    """RFC 7644 §3.12, Table 8: "501 Not Implemented: Service provider does not support the
    request operation"; ServiceProviderConfig advertises bulk.supported=false (RFC 7643 §5)."""
    bulk = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}
    resp = scim.post("/scim/Bulk", bulk)
    assert_scim_error(resp, 501)


def test_responses_are_scim_json(scim):
    """RFC 7644 §3.1/§3.8 and Entra §1.9: responses are application/scim+json."""
    user = make_user(scim, "ct@contoso.com")
    for resp in (scim.get("/scim/Users"), scim.get(f"/scim/Users/{user['id']}"),
                 scim.get("/scim/ServiceProviderConfig"), scim.get("/scim/Users/nope"),
                 scim.post("/scim/Users", {"schemas": [USER], "userName": "ct2@contoso.com"})):
        assert resp.mimetype == SCIM_JSON, resp.status_code


def test_request_as_plain_json_is_accepted(scim):
    """RFC 7644 §3.8: clients may send application/json."""
    resp = scim.post("/scim/Users", {"schemas": [USER], "userName": "json@contoso.com"},
                     headers={"Content-Type": "application/json"})
    assert resp.status_code == 201


def test_accept_header_is_not_negotiated(scim):
    """Entra §2: Entra's Accept does not ask for JSON; the appliance must not answer 406."""
    resp = scim.get("/scim/Users?filter=userName+eq+%22x%22", headers={"Accept": "text/html"})
    assert resp.status_code == 200 and resp.mimetype == SCIM_JSON


def test_unknown_query_parameters_are_ignored(scim):
    """Entra §2: the `aadOptscim062020` flag may come on the query string."""
    make_user(scim, "flagged@contoso.com")
    resp = scim.get("/scim/Users?aadOptscim062020&filter=userName+eq+%22flagged%40contoso.com%22")
    assert resp.status_code == 200 and resp.get_json()["totalResults"] == 1


def test_v2_prefix_serves_the_same_api(scim):
    """RFC 7644 §3.13: the version may be part of the base URL (`/scim/v2`)."""
    user = make_user(scim, "v2@contoso.com")
    resp = scim.get(f"/scim/v2/Users/{user['id']}")
    assert resp.status_code == 200 and resp.get_json()["id"] == user["id"]
