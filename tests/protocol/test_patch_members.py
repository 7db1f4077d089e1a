"""Group member PATCH in every form Entra sends (entra-provisioning.md §7), over the API."""

from __future__ import annotations

import pytest

from tests.conftest import make_user

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def users(scim):
    return [make_user(scim, f"m{i}@contoso.com")["id"] for i in range(6)]


@pytest.fixture
def group(scim):
    resp = scim.post("/scim/Groups", {"displayName": "Team"})
    return resp.get_json()["id"]


def members(scim, group):
    body = scim.get(f"/scim/Groups/{group}").get_json()
    return sorted(m["value"] for m in body["members"])


def patch(scim, group, *operations, status=204, query=""):
    resp = scim.patch(f"/scim/Groups/{group}{query}", ops(*operations))
    assert resp.status_code == status, resp.get_json()
    return resp


def test_add_many_members_in_one_op_and_several_ops(scim, users, group):
    patch(scim, group, {"op": "Add", "path": "members",
                        "value": [{"$ref": None, "value": u} for u in users[:3]]},
          {"op": "add", "path": "members", "value": [{"value": users[3]}]})
    assert members(scim, group) == sorted(users[:4])


def test_adding_an_existing_member_is_a_no_op(scim, users, group):
    for _ in range(2):
        patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": users[0]}]})
    patch(scim, group, {"op": "Add", "path": "members",
                        "value": [{"value": users[0]}, {"value": users[0]}]})
    assert members(scim, group) == [users[0]]


def test_rfc_remove_with_value_filter(scim, users, group):
    patch(scim, group, {"op": "add", "path": "members", "value": [{"value": u} for u in users]})
    patch(scim, group, {"op": "remove", "path": f'members[value eq "{users[0]}"]'})
    assert members(scim, group) == sorted(users[1:])


def test_entra_legacy_remove_with_value_array_removes_only_those(scim, users, group):
    patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": u} for u in users]})
    patch(scim, group, {"op": "Remove", "path": "members",
                        "value": [{"$ref": None, "value": users[1]}, {"value": users[2]}]})
    assert members(scim, group) == sorted([users[0], *users[3:]])


def test_remove_members_without_value_empties_the_group(scim, users, group):
    patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": u} for u in users]})
    patch(scim, group, {"op": "remove", "path": "members"})
    assert members(scim, group) == []


def test_replace_members(scim, users, group):
    patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": u} for u in users]})
    patch(scim, group, {"op": "replace", "path": "members",
                        "value": [{"value": users[0]}, {"value": users[5]}]})
    assert members(scim, group) == sorted([users[0], users[5]])


def test_replace_display_name_and_external_id_both_dialects(scim, group):
    patch(scim, group, {"op": "Replace", "path": "displayName", "value": "Renamed"},
          {"op": "Replace", "path": "externalId", "value": "x-1"})
    patch(scim, group, {"op": "replace", "value": {"displayName": "Renamed again"}})
    body = scim.get(f"/scim/Groups/{group}").get_json()
    assert body["displayName"] == "Renamed again" and body["externalId"] == "x-1"


def test_no_path_add_of_members(scim, users, group):
    patch(scim, group, {"op": "add", "value": {"members": [{"value": users[0]}]}})
    assert members(scim, group) == [users[0]]


def test_unknown_member_id_is_400_naming_it_and_nothing_changes(scim, users, group):
    patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": users[0]}]})
    resp = patch(scim, group,
                 {"op": "Replace", "path": "displayName", "value": "Changed"},
                 {"op": "Add", "path": "members",
                  "value": [{"value": users[1]}, {"value": "ghost-id"}]}, status=400)
    body = resp.get_json()
    assert body["scimType"] == "invalidValue" and "ghost-id" in body["detail"]
    after = scim.get(f"/scim/Groups/{group}").get_json()
    assert after["displayName"] == "Team"
    assert [m["value"] for m in after["members"]] == [users[0]]


def test_patch_answers_204_unless_attributes_are_asked_for(scim, users, group):
    resp = patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": users[0]}]})
    assert resp.get_data() == b""
    resp = patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": users[1]}]},
                 status=200, query="?excludedAttributes=members")
    assert resp.get_json()["displayName"] == "Team" and "members" not in resp.get_json()


def test_membership_change_bumps_the_version(scim, users, group):
    before = scim.get(f"/scim/Groups/{group}").get_json()["meta"]["version"]
    patch(scim, group, {"op": "Add", "path": "members", "value": [{"value": users[0]}]})
    assert scim.get(f"/scim/Groups/{group}").get_json()["meta"]["version"] != before


def test_nested_group_member(scim, group):
    inner = scim.post("/scim/Groups", {"displayName": "Inner"}).get_json()["id"]
    patch(scim, group, {"op": "add", "path": "members",
                        "value": [{"value": inner, "type": "Group"}]})
    body = scim.get(f"/scim/Groups/{group}").get_json()
    assert body["members"][0]["type"] == "Group"
    assert body["members"][0]["display"] == "Inner"
    resp = patch(scim, group, {"op": "add", "path": "members", "value": [{"value": group}]},
                 status=400)
    assert "itself" in resp.get_json()["detail"]
