"""The /Groups API as Entra uses it (entra-provisioning.md §7) and RFC 7644 describes."""

from __future__ import annotations

from urllib.parse import quote_plus

from tests.conftest import load_fixture, make_user

GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def make_group(scim, name="Sales", **extra):
    resp = scim.post("/scim/Groups", {"schemas": [GROUP], "displayName": name, **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_entra_create_with_the_microsoft_marker_schema(scim):
    resp = scim.post("/scim/Groups", load_fixture("entra-create-group.json"))
    assert resp.status_code == 201
    body = resp.get_json()
    # The appliance extension carries the derived name (issue 4, domain/names/rules.py).
    assert body["schemas"] == [GROUP, "urn:scim-appliance:schemas:extension:appliance:2.0:Group"]
    assert body["displayName"] == "Sales"
    assert body["externalId"] == "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    assert body["members"] == []
    assert resp.headers["Location"].endswith(f"/scim/Groups/{body['id']}")
    assert body["meta"]["resourceType"] == "Group"


def test_other_unknown_schemas_are_refused(scim):
    resp = scim.post("/scim/Groups", {"schemas": [GROUP, "urn:example:custom"],
                                      "displayName": "X"})
    assert resp.status_code == 400
    assert "urn:example:custom" in resp.get_json()["detail"]


def test_display_name_is_unique_case_insensitively(scim):
    make_group(scim, "Sales")
    resp = scim.post("/scim/Groups", {"displayName": "SALES"})
    assert resp.status_code == 409 and resp.get_json()["scimType"] == "uniqueness"
    other = make_group(scim, "Marketing")
    resp = scim.put(f"/scim/Groups/{other['id']}", {"displayName": "sales"})
    assert resp.status_code == 409
    resp = scim.patch(f"/scim/Groups/{other['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "Sales"}]})
    assert resp.status_code == 409


def test_match_by_display_name_excluding_members(scim):
    group = make_group(scim, "Sales")
    user = make_user(scim, "a@contoso.com")
    scim.patch(f"/scim/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"value": user["id"]}]}]})
    q = quote_plus('displayName eq "sales"')
    body = scim.get(f"/scim/Groups?excludedAttributes=members&filter={q}").get_json()
    assert body["totalResults"] == 1
    assert "members" not in body["Resources"][0]
    body = scim.get(f"/scim/Groups/{group['id']}?excludedAttributes=members").get_json()
    assert "members" not in body and body["displayName"] == "Sales"
    body = scim.get(f"/scim/Groups/{group['id']}?attributes=displayName").get_json()
    assert set(body) == {"schemas", "id", "displayName"}


def test_create_with_members_and_read_them_back(scim):
    users = [make_user(scim, f"u{i}@contoso.com", displayName=f"U {i}") for i in range(3)]
    group = make_group(scim, "Team", members=[{"value": u["id"]} for u in users])
    members = scim.get(f"/scim/Groups/{group['id']}").get_json()["members"]
    assert sorted(m["value"] for m in members) == sorted(u["id"] for u in users)
    for member in members:
        assert member["type"] == "User"
        assert member["$ref"] == f"http://localhost/scim/Users/{member['value']}"
        assert member["display"].startswith("U ")


def test_create_with_unknown_member_is_400_naming_it_and_creates_nothing(scim):
    resp = scim.post("/scim/Groups", {"displayName": "Ghosts",
                                      "members": [{"value": "no-such-user"}]})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["scimType"] == "invalidValue" and "no-such-user" in body["detail"]
    assert scim.get("/scim/Groups").get_json()["totalResults"] == 0


def test_users_list_their_groups_read_only(scim):
    user = make_user(scim, "member@contoso.com")
    group = make_group(scim, "Readers", members=[{"value": user["id"]}])
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert body["groups"] == [{"value": group["id"], "display": "Readers", "type": "direct",
                               "$ref": f"http://localhost/scim/Groups/{group['id']}"}]
    listed = scim.get('/scim/Users?filter=userName eq "member@contoso.com"').get_json()
    assert listed["Resources"][0]["groups"][0]["value"] == group["id"]
    resp = scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "groups", "value": [{"value": group["id"]}]}]})
    assert resp.status_code == 400 and resp.get_json()["scimType"] == "mutability"


def test_deleting_a_user_removes_it_from_every_group(scim):
    user = make_user(scim, "leaver@contoso.com")
    keeper = make_user(scim, "stayer@contoso.com")
    g1 = make_group(scim, "G1", members=[{"value": user["id"]}, {"value": keeper["id"]}])
    g2 = make_group(scim, "G2", members=[{"value": user["id"]}])
    assert scim.delete(f"/scim/Users/{user['id']}").status_code == 204
    assert [m["value"] for m in scim.get(f"/scim/Groups/{g1['id']}").get_json()["members"]] \
        == [keeper["id"]]
    assert scim.get(f"/scim/Groups/{g2['id']}").get_json()["members"] == []


def test_deleting_a_group_leaves_users_untouched(scim):
    user = make_user(scim, "u@contoso.com")
    group = make_group(scim, "Doomed", members=[{"value": user["id"]}])
    assert scim.delete(f"/scim/Groups/{group['id']}").status_code == 204
    assert scim.get(f"/scim/Groups/{group['id']}").status_code == 404
    body = scim.get(f"/scim/Users/{user['id']}").get_json()
    assert "groups" not in body


def test_group_filters(scim):
    user = make_user(scim, "f@contoso.com")
    sales = make_group(scim, "Sales", externalId="ext-1", members=[{"value": user["id"]}])
    make_group(scim, "Marketing", externalId="ext-2")

    def ids(expr):
        body = scim.get(f"/scim/Groups?filter={quote_plus(expr)}").get_json()
        return [r["id"] for r in body["Resources"]]

    assert ids('externalId eq "ext-1"') == [sales["id"]]
    assert ids(f'id eq "{sales["id"]}"') == [sales["id"]]
    assert ids(f'members.value eq "{user["id"]}"') == [sales["id"]]
    assert ids(f'members[value eq "{user["id"]}"]') == [sales["id"]]
    assert len(ids('meta.lastModified gt "2000-01-01T00:00:00Z"')) == 2
    assert ids('displayName sw "mark"') != [sales["id"]]


def test_put_replaces_members(scim):
    a, b = make_user(scim, "a@contoso.com"), make_user(scim, "b@contoso.com")
    group = make_group(scim, "P", members=[{"value": a["id"]}])
    resp = scim.put(f"/scim/Groups/{group['id']}", {"displayName": "P2",
                                                    "members": [{"value": b["id"]}]})
    assert resp.status_code == 200
    body = resp.get_json()
    assert body["displayName"] == "P2"
    assert [m["value"] for m in body["members"]] == [b["id"]]


def test_a_list_page_gives_each_group_its_own_members(scim):
    a, b = make_user(scim, "la@contoso.com"), make_user(scim, "lb@contoso.com")
    make_group(scim, "L-both", members=[{"value": a["id"]}, {"value": b["id"]}])
    make_group(scim, "L-one", members=[{"value": b["id"]}])
    make_group(scim, "L-none")
    body = scim.get("/scim/Groups?sortBy=displayName").get_json()
    members = {g["displayName"]: sorted(m["value"] for m in g["members"])
               for g in body["Resources"]}
    assert members == {"L-both": sorted([a["id"], b["id"]]), "L-one": [b["id"]],
                       "L-none": []}
