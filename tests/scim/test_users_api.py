"""The /Users API as Entra uses it (entra-provisioning.md §6) and RFC 7644 §3 describes."""

from __future__ import annotations

from urllib.parse import quote_plus

from tests.conftest import load_fixture, make_user

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _create_adele(scim):
    resp = scim.post("/scim/Users", load_fixture("entra-create-user.json"))
    assert resp.status_code == 201, resp.get_json()
    return resp


def test_create_returns_201_with_location_etag_and_values_exactly_as_sent(scim):
    payload = load_fixture("entra-create-user.json")
    resp = _create_adele(scim)
    body = resp.get_json()
    assert resp.mimetype == "application/scim+json"
    assert resp.headers["Location"] == f"http://localhost/scim/Users/{body['id']}"
    assert resp.headers["ETag"] == body["meta"]["version"]
    # The appliance extension carries the derived name (issue 4, domain/names/rules.py).
    assert body["schemas"] == [CORE, ENTERPRISE,
                               "urn:scim-appliance:schemas:extension:appliance:2.0:User"]
    for key in ("externalId", "userName", "displayName", "title", "preferredLanguage",
                "emails", "name", "addresses", "phoneNumbers", ENTERPRISE):
        assert body[key] == payload[key], key
    assert body["active"] is True
    assert "roles" not in body  # an empty list is "unassigned" (RFC 7643 §2.4)
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == resp.headers["Location"]
    assert meta["created"] == meta["lastModified"] and meta["created"].endswith("Z")


def test_get_returns_the_same_resource(scim):
    created = _create_adele(scim).get_json()
    resp = scim.get(f"/scim/Users/{created['id']}")
    assert resp.status_code == 200
    assert resp.get_json() == created


def test_v2_prefix_serves_the_same_api(scim):
    created = _create_adele(scim).get_json()
    resp = scim.get(f"/scim/v2/Users/{created['id']}")
    assert resp.status_code == 200
    assert resp.get_json()["meta"]["location"].startswith("http://localhost/scim/v2/Users/")


def test_unknown_id_is_404_scim_error(scim):
    resp = scim.get("/scim/Users/does-not-exist")
    assert resp.status_code == 404
    assert resp.get_json()["status"] == "404"


def test_duplicate_username_is_409_uniqueness_case_insensitively(scim):
    _create_adele(scim)
    resp = scim.post("/scim/Users", {"schemas": [CORE], "userName": "ADELE.Vance@contoso.com"})
    assert resp.status_code == 409
    body = resp.get_json()
    assert body["scimType"] == "uniqueness"
    assert "ADELE.Vance@contoso.com" in body["detail"]


def test_active_strings_from_entra_are_stored_as_booleans(scim):
    # Microsoft's reference suite: "Post emp1 with string \"True\"" (entra notes §6.1).
    for i, value in enumerate(["True", "False", "true", "FALSE"]):
        body = make_user(scim, f"u{i}@contoso.com", active=value)
        assert body["active"] is (value.lower() == "true")


def test_password_is_accepted_and_never_returned(scim, app):
    body = make_user(scim, "pw@contoso.com", password="S3cret!pass")
    assert "password" not in body
    got = scim.get(f"/scim/Users/{body['id']}?attributes=password").get_json()
    assert "password" not in got


def test_client_supplied_id_and_meta_are_ignored(scim):
    body = make_user(scim, "ro@contoso.com", id="chosen-by-client",
                     meta={"resourceType": "Group", "created": "2000-01-01T00:00:00Z"})
    assert body["id"] != "chosen-by-client"
    assert body["meta"]["resourceType"] == "User"


def test_filter_by_username_finds_the_user_case_insensitively(scim):
    created = _create_adele(scim).get_json()
    # Entra encodes spaces as '+' and quotes as %22; the validator sends raw quotes.
    for query in ["filter=userName+eq+%22adele.vance%40contoso.com%22",
                  'filter=userName eq "ADELE.VANCE@contoso.com"']:
        body = scim.get(f"/scim/Users?{query}").get_json()
        assert body["totalResults"] == 1
        assert body["Resources"][0]["id"] == created["id"]
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def test_filter_with_no_match_is_200_and_an_empty_list(scim):
    # Test Connection probes with a random GUID and requires 200 (entra notes §3).
    resp = scim.get("/scim/Users?filter=" + quote_plus(
        'userName eq "41e0c6a4-8c1e-4f9a-9b0e-3a7c1c2d9f10"'))
    assert resp.status_code == 200
    assert resp.get_json() == {"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                               "totalResults": 0, "itemsPerPage": 0, "startIndex": 1,
                               "Resources": []}


def test_filter_by_external_id_is_case_exact(scim):
    _create_adele(scim)
    assert scim.get('/scim/Users?filter=externalId eq "adelev"').get_json()["totalResults"] == 1
    assert scim.get('/scim/Users?filter=externalId eq "ADELEV"').get_json()["totalResults"] == 0


def test_filter_on_value_path_and_extension(scim):
    _create_adele(scim)
    make_user(scim, "other@fabrikam.com", emails=[{"type": "home", "value": "o@contoso.com"}])
    q = 'emails[type eq "work" and value co "@contoso.com"]'
    assert scim.get(f"/scim/Users?filter={quote_plus(q)}").get_json()["totalResults"] == 1
    q = f'{ENTERPRISE}:department eq "retail"'
    assert scim.get(f"/scim/Users?filter={quote_plus(q)}").get_json()["totalResults"] == 1


def test_bad_filters_are_400_invalid_filter(scim):
    for bad in ['userName eq', 'nosuch eq "x"', 'userName zz "x"', '(userName eq "x"',
                'userName eq "x" and', 'emails[type eq "work"', '"x" eq userName']:
        resp = scim.get(f"/scim/Users?filter={quote_plus(bad)}")
        assert resp.status_code == 400, bad
        body = resp.get_json()
        assert body["scimType"] == "invalidFilter", bad
        assert body["detail"]


def test_disabled_users_stay_readable_and_filterable(scim):
    created = _create_adele(scim).get_json()
    resp = scim.patch(f"/scim/Users/{created['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})
    assert resp.status_code == 200
    assert resp.get_json()["active"] is False
    assert scim.get(f"/scim/Users/{created['id']}").get_json()["active"] is False
    found = scim.get('/scim/Users?filter=userName eq "adele.vance@contoso.com"').get_json()
    assert found["totalResults"] == 1 and found["Resources"][0]["active"] is False


def test_put_replaces_every_writable_attribute(scim):
    created = _create_adele(scim).get_json()
    resp = scim.put(f"/scim/Users/{created['id']}", {
        "schemas": [CORE], "id": created["id"], "userName": "adele.vance@contoso.com",
        "displayName": "Adele V."})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["displayName"] == "Adele V."
    assert "emails" not in body and ENTERPRISE not in body
    assert body["meta"]["created"] == created["meta"]["created"]
    assert body["meta"]["version"] != created["meta"]["version"]


def test_put_to_a_taken_username_is_409(scim):
    a = make_user(scim, "a@contoso.com")
    make_user(scim, "b@contoso.com")
    resp = scim.put(f"/scim/Users/{a['id']}", {"userName": "B@contoso.com"})
    assert resp.status_code == 409
    assert scim.get(f"/scim/Users/{a['id']}").get_json()["userName"] == "a@contoso.com"


def test_patch_to_a_taken_username_is_409_and_changes_nothing(scim):
    a = make_user(scim, "a@contoso.com", displayName="A")
    make_user(scim, "b@contoso.com")
    resp = scim.patch(f"/scim/Users/{a['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "changed"},
                       {"op": "replace", "path": "userName", "value": "b@contoso.com"}]})
    assert resp.status_code == 409
    assert scim.get(f"/scim/Users/{a['id']}").get_json()["displayName"] == "A"


def test_delete_then_gone_everywhere(scim):
    created = _create_adele(scim).get_json()
    assert scim.delete(f"/scim/Users/{created['id']}").status_code == 204
    assert scim.get(f"/scim/Users/{created['id']}").status_code == 404
    assert scim.delete(f"/scim/Users/{created['id']}").status_code == 404
    body = scim.get('/scim/Users?filter=userName eq "adele.vance@contoso.com"').get_json()
    assert body["totalResults"] == 0
    # The name is free again.
    _create_adele(scim)


def test_etag_if_match_and_if_none_match(scim):
    created = _create_adele(scim).get_json()
    url = f"/scim/Users/{created['id']}"
    version = created["meta"]["version"]
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]}
    resp = scim.patch(url, patch, headers={"If-Match": version})
    assert resp.status_code == 200
    new_version = resp.headers["ETag"]
    assert new_version != version
    stale = scim.patch(url, patch, headers={"If-Match": version})
    assert stale.status_code == 412
    assert scim.delete(url, headers={"If-Match": version}).status_code == 412
    assert scim.get(url, headers={"If-None-Match": new_version}).status_code == 304
    assert scim.get(url, headers={"If-None-Match": version}).status_code == 200


def test_patch_that_changes_nothing_keeps_the_version(scim):
    created = _create_adele(scim).get_json()
    resp = scim.patch(f"/scim/Users/{created['id']}", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "displayName", "value": "Adele Vance"}]})
    assert resp.get_json()["meta"]["version"] == created["meta"]["version"]


def test_attributes_and_excluded_attributes(scim):
    created = _create_adele(scim).get_json()
    url = f"/scim/Users/{created['id']}"
    body = scim.get(f"{url}?attributes=userName,emails.value").get_json()
    assert body == {"schemas": [CORE], "id": created["id"], "userName": created["userName"],
                    "emails": [{"value": "adele.vance@contoso.com"}]}
    body = scim.get(f"{url}?excludedAttributes=emails,name.formatted,meta").get_json()
    assert "emails" not in body and "meta" not in body
    assert body["name"] == {"familyName": "Vance", "givenName": "Adele"}
    body = scim.get(f"{url}?attributes={ENTERPRISE}:department").get_json()
    assert body == {"schemas": [CORE, ENTERPRISE], "id": created["id"],
                    ENTERPRISE: {"department": "Retail"}}
    listed = scim.get("/scim/Users?attributes=userName").get_json()["Resources"][0]
    assert set(listed) == {"schemas", "id", "userName"}


def test_search_endpoint(scim):
    _create_adele(scim)
    make_user(scim, "b@contoso.com")
    resp = scim.post("/scim/Users/.search", {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'userName sw "adele"', "attributes": ["userName"], "startIndex": 1,
        "count": 10})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["totalResults"] == 1
    assert set(body["Resources"][0]) == {"schemas", "id", "userName"}


def test_unknown_query_parameters_such_as_the_entra_flag_are_ignored(scim):
    _create_adele(scim)
    body = scim.get('/scim/Users?aadOptscim062020&filter=userName eq "adele.vance@contoso.com"')
    assert body.get_json()["totalResults"] == 1
