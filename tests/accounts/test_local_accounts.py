"""Local accounts (issue 6): `source`, `users import`, listings, and Entra's adoption.

Adoption: Entra matches by userName, then POSTs when nothing matched
(entra-provisioning.md §6.1). A POST that names an existing *local* account must not
fail with 409 (Entra would retry it every cycle, §6.3): the account is adopted (201,
same id, the POSTed attributes, source `scim`). A POST naming another SCIM user is
still a 409 uniqueness error.
"""

from __future__ import annotations

import json

import pytest

from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import Group, User
from tests.conftest import load_fixture, make_user

APP_USER = "urn:scim-appliance:schemas:extension:appliance:2.0:User"
APP_GROUP = "urn:scim-appliance:schemas:extension:appliance:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
HEADER = "userName,email,givenName,familyName,displayName,active,externalId,groups\n"


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))
    return invoke


def _import(cli, tmp_path, text, *flags):
    path = tmp_path / "users.csv"
    path.write_text(text, encoding="utf-8")
    return cli("users", "import", str(path), *flags)


def _users(app):
    with app.app_context():
        return {u.user_name: u for u in db.session.query(User)}


def _adele_local(cli, tmp_path):
    result = _import(cli, tmp_path, HEADER +
                     "Adele.Vance@contoso.com,adele@contoso.com,Adele,V,Adele (old),true,,"
                     "Sales;Retail\n")
    assert result.exit_code == 0, result.output


# -- source ----------------------------------------------------------------------------
def test_scim_users_and_groups_say_so_and_source_is_filterable(scim, cli, tmp_path):
    user = make_user(scim, "entra@contoso.com")
    assert user[APP_USER]["source"] == "scim"
    group = scim.post("/scim/Groups", load_fixture("entra-create-group.json")).get_json()
    assert group[APP_GROUP]["source"] == "scim"
    _import(cli, tmp_path, HEADER + "jdoe,,,,,,,Staff\n")
    local = scim.get("/scim/Users", query_string={
        "filter": f'{APP_USER}:source eq "local"'}).get_json()
    assert [r["userName"] for r in local["Resources"]] == ["jdoe"]
    assert local["Resources"][0][APP_USER]["source"] == "local"
    groups = scim.get("/scim/Groups", query_string={
        "filter": f'{APP_GROUP}:source eq "LOCAL"'}).get_json()  # caseExact=false
    assert [r["displayName"] for r in groups["Resources"]] == ["Staff"]


def test_source_is_advertised_read_only_and_cannot_be_patched(scim):
    schema = scim.get(f"/scim/Schemas/{APP_USER}").get_json()
    source = next(a for a in schema["attributes"] if a["name"] == "source")
    assert source["mutability"] == "readOnly"
    assert source["canonicalValues"] == ["scim", "local"]
    user = make_user(scim, "x@contoso.com")
    resp = scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": f"{APP_USER}:source", "value": "local"}]})
    assert resp.status_code == 400 and resp.get_json()["scimType"] == "mutability"


# -- users import ----------------------------------------------------------------------
def test_import_creates_local_users_groups_and_memberships(app, cli, tmp_path):
    result = _import(cli, tmp_path, HEADER +
                     "jdoe,john.doe@contoso.com,John,Doe,John Doe,true,E1,Finance;Staff\n"
                     "CONTOSO\\asmith,,Anna,Smith,,false,,staff\n"
                     "\n"
                     "bwayne,bruce@contoso.com,,,,,,\n")
    assert result.exit_code == 0, result.output
    assert "Imported 3 local users, 2 new groups, 3 group memberships." in result.output
    users = _users(app)
    jdoe = users["jdoe"]
    assert jdoe.source == "local" and jdoe.external_id == "E1" and jdoe.active is True
    assert jdoe.data["emails"] == [{"value": "john.doe@contoso.com", "type": "work",
                                    "primary": True}]
    assert jdoe.data["name"] == {"givenName": "John", "familyName": "Doe"}
    assert users["CONTOSO\\asmith"].active is False
    assert users["bwayne"].active is True  # empty cell: active
    # the name rules applied as for a POST: a derived name downstream
    assert users["CONTOSO\\asmith"].sanitized_user_name is not None
    with app.app_context():
        groups = {g.display_name: g for g in db.session.query(Group)}
    assert set(groups) == {"Finance", "Staff"}  # 'staff' is the same group
    assert {g.source for g in groups.values()} == {"local"}


def test_import_is_all_or_nothing_and_lists_every_failing_row(app, cli, tmp_path):
    make = _import(cli, tmp_path, HEADER + "taken,,,,,,,\n")
    assert make.exit_code == 0
    result = _import(cli, tmp_path, HEADER +
                     "ok1,,,,,,,G1\n"
                     "TAKEN,,,,,,,\n"
                     "ok2,,,,,maybe,,\n"
                     ",,,,,,,\n"
                     ",x@contoso.com,,,,,,\n"
                     "ok1,,,,,,,\n")
    assert result.exit_code == 1
    out = result.output
    assert "users.csv:3 (TAKEN): userName 'TAKEN' is already taken" in out
    assert "users.csv:4 (ok2): active must be true or false, not 'maybe'" in out
    assert "users.csv:6: " in out and "users.csv:7 (ok1): " in out
    assert "4 of 5 rows failed; nothing was imported" in out
    assert set(_users(app)) == {"taken"}


def test_import_dry_run_and_header_errors(app, cli, tmp_path):
    dry = _import(cli, tmp_path, HEADER + "jdoe,,,,,,,G\n", "--dry-run")
    assert dry.exit_code == 0
    assert "Would import 1 local user, 1 new group, 1 group membership." in dry.output
    assert _users(app) == {}
    bad = _import(cli, tmp_path, "userName,mail\njdoe,x\n")
    assert bad.exit_code == 1 and "unknown column 'mail'" in bad.output
    none = _import(cli, tmp_path, "email\nx@contoso.com\n")
    assert none.exit_code == 1 and "no userName column" in none.output


def test_import_applies_the_name_rules_in_reject_mode(app, cli, tmp_path):
    app.config["NAME_RULES_MODE"] = "reject"
    result = _import(cli, tmp_path, HEADER + "CONTOSO\\jdoe,,,,,,,\n")
    assert result.exit_code == 1
    assert "breaks the 'cloudsso' name rule" in result.output


# -- listings --------------------------------------------------------------------------
def test_users_and_groups_list(scim, cli, tmp_path):
    make_user(scim, "entra@contoso.com", emails=[{"value": "e@contoso.com", "type": "work"}])
    _import(cli, tmp_path, HEADER + "jdoe,john@contoso.com,,,,false,,Staff\n")
    table = cli("users", "list").output.splitlines()
    assert table[0].split() == ["id", "userName", "email", "active", "source"]
    assert any("entra@contoso.com" in line and "SCIM Synchronization" in line
               for line in table)
    assert any(line.split()[1:] == ["jdoe", "john@contoso.com", "no", "local"]
               for line in table[1:])
    items = json.loads(cli("users", "list", "--json", "--source", "scim").output)
    assert [(i["userName"], i["email"], i["source"]) for i in items] == \
        [("entra@contoso.com", "e@contoso.com", "scim")]
    items = json.loads(cli("users", "list", "--json", "--filter", 'userName sw "J"').output)
    assert [i["userName"] for i in items] == ["jdoe"]
    bad = cli("users", "list", "--filter", "userName zz 1")
    assert bad.exit_code == 1 and "Error:" in bad.output
    groups = json.loads(cli("groups", "list", "--json").output)
    assert [(g["displayName"], g["members"], g["source"]) for g in groups] == \
        [("Staff", 1, "local")]
    assert "Staff" in cli("groups", "list", "--source", "local").output
    assert cli("groups", "list", "--source", "scim").output.strip() == "No groups."


# -- adoption --------------------------------------------------------------------------
def test_entra_post_adopts_a_local_account(app, scim, cli, tmp_path):
    _adele_local(cli, tmp_path)
    before = _users(app)["Adele.Vance@contoso.com"]
    match = scim.get("/scim/Users", query_string={
        "filter": 'userName eq "adele.vance@contoso.com"'}).get_json()
    assert match["totalResults"] == 1  # Entra's match already finds it...
    payload = load_fixture("entra-create-user.json")
    resp = scim.post("/scim/Users", payload)  # ...and a POST (e.g. scoped later) adopts it
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["id"] == before.id
    assert resp.headers["Location"].endswith(f"/Users/{before.id}")
    assert body["userName"] == "adele.vance@contoso.com"  # as Entra sent it
    assert body["displayName"] == "Adele Vance" and body["externalId"] == "adelev"
    assert body[APP_USER]["source"] == "scim"
    assert body["meta"]["version"] == f'W/"{before.version + 1}"'
    # the derived name never changes (CloudSSO cannot rename)
    assert body[APP_USER]["sanitizedUserName"] == before.sanitized_user_name
    patch = scim.patch(f"/scim/Users/{before.id}", load_fixture("entra-legacy-disable-user.json"))
    assert patch.status_code == 200 and patch.get_json()["active"] is False
    assert len(_users(app)) == 1
    # now a SCIM user: a second POST is the ordinary duplicate
    again = scim.post("/scim/Users", payload)
    assert again.status_code == 409 and again.get_json()["scimType"] == "uniqueness"
    # memberships of the local account stay
    user = scim.get(f"/scim/Users/{before.id}").get_json()
    assert sorted(g["display"] for g in user["groups"]) == ["Retail", "Sales"]


def test_a_post_colliding_with_a_scim_user_is_still_409(scim):
    make_user(scim, "kim@contoso.com")
    resp = scim.post("/scim/Users", {"userName": "KIM@contoso.com"})
    assert resp.status_code == 409 and resp.get_json()["scimType"] == "uniqueness"


def test_a_scim_patch_after_a_filter_match_adopts_the_account(app, scim, cli, tmp_path):
    _adele_local(cli, tmp_path)
    user = _users(app)["Adele.Vance@contoso.com"]
    resp = scim.patch(f"/scim/Users/{user.id}", load_fixture("entra-legacy-add-nickname.json"))
    assert resp.status_code == 200
    assert resp.get_json()[APP_USER]["source"] == "scim"
    assert _users(app)["Adele.Vance@contoso.com"].source == "scim"


def test_entra_post_adopts_a_local_group_and_keeps_its_members(app, scim, cli, tmp_path):
    _adele_local(cli, tmp_path)
    with app.app_context():
        sales = db.session.query(Group).filter_by(display_name="Sales").one()
        sales_id = sales.id
    newcomer = make_user(scim, "newcomer@contoso.com")
    payload = load_fixture("entra-create-group.json")
    payload["members"] = [{"value": newcomer["id"]}]
    resp = scim.post("/scim/Groups", payload)
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["id"] == sales_id and body["externalId"] == payload["externalId"]
    assert body[APP_GROUP]["source"] == "scim"
    members = scim.get(f"/scim/Groups/{sales_id}").get_json()["members"]
    assert len(members) == 2
    assert scim.post("/scim/Groups", payload).status_code == 409
