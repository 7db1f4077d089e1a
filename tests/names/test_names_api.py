"""Name rules over SCIM: sanitize mode (Flask test client), reject mode end to end over
HTTP against waitress, the appliance extension, required attributes and the CLI.

Notes: `cloudsso-names.md` §5 (keep what Entra sent, derive beside it), §6.4 (reject
mode answers), §6.6 (user names never change downstream; groups are re-derived).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from scim_appliance import create_app
from scim_appliance.domain.access import appliance
from scim_appliance.domain.names.rules import short_hash
from scim_appliance.storage.extensions import db
from tests.appliance_server import RunningAppliance
from tests.conftest import ScimClient, make_user

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
APP_USER = "urn:scim-appliance:schemas:extension:appliance:2.0:User"
APP_GROUP = "urn:scim-appliance:schemas:extension:appliance:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def _ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return [r["id"] for r in resp.get_json()["Resources"]]


# -- sanitize mode (the default) -------------------------------------------------------
def test_sanitize_keeps_what_entra_sent_and_shows_the_derived_name(scim):
    user = make_user(scim, "Seán.Ó'Brien@contoso.ie", externalId="ext-04")
    assert user["userName"] == "Seán.Ó'Brien@contoso.ie"
    assert user["schemas"] == [CORE, APP_USER]
    assert user[APP_USER] == {"sanitizedUserName": "Sean.OBrien@contoso.ie",
                              "nameAdjusted": True, "source": "scim"}
    assert scim.get(f"/scim/Users/{user['id']}").get_json() == user
    # Entra matches on what it sent: the original still finds the user.
    found = scim.get("/scim/Users", query_string={
        "filter": 'userName eq "Seán.Ó\'Brien@contoso.ie"'})
    assert _ids(found) == [user["id"]]


def test_a_valid_name_passes_untouched(scim):
    user = make_user(scim, "alice@contoso.com")
    assert user[APP_USER] == {"sanitizedUserName": "alice@contoso.com",
                              "nameAdjusted": False, "source": "scim"}


def test_extension_attributes_are_filterable_and_sortable(scim):
    zoe = make_user(scim, "Zoë@contoso.com", externalId="z")
    bob = make_user(scim, "bob@contoso.com")
    assert _ids(scim.get("/scim/Users", query_string={
        "filter": f'{APP_USER}:sanitizedUserName eq "ZOE@contoso.com"'})) == [zoe["id"]]
    assert _ids(scim.get("/scim/Users", query_string={
        "filter": f"{APP_USER}:nameAdjusted eq true"})) == [zoe["id"]]
    assert _ids(scim.get("/scim/Users", query_string={
        "filter": f'{APP_USER}:sanitizedUserName sw "b"'})) == [bob["id"]]
    assert _ids(scim.get("/scim/Users", query_string={
        "sortBy": f"{APP_USER}:sanitizedUserName", "sortOrder": "descending"})) == \
        [zoe["id"], bob["id"]]


def test_projection_of_the_extension(scim):
    user = make_user(scim, "Zoë@contoso.com")
    only = scim.get(f"/scim/Users/{user['id']}", query_string={"attributes": "userName"})
    assert APP_USER not in only.get_json() and APP_USER not in only.get_json()["schemas"]
    picked = scim.get(f"/scim/Users/{user['id']}", query_string={
        "attributes": f"{APP_USER}:sanitizedUserName"}).get_json()
    assert picked[APP_USER] == {"sanitizedUserName": "Zoe@contoso.com"}
    excluded = scim.get(f"/scim/Users/{user['id']}", query_string={
        "excludedAttributes": f"{APP_USER}:sanitizedUserName,{APP_USER}:nameAdjusted,"
                              f"{APP_USER}:source"})
    assert APP_USER not in excluded.get_json()


def test_collisions_over_the_api(scim):
    first = make_user(scim, "josé@contoso.com", externalId="ext-a")
    second = make_user(scim, "jose@contoso.com", externalId="ext-b")
    assert first[APP_USER]["sanitizedUserName"] == "jose@contoso.com"
    assert second[APP_USER] == {
        "sanitizedUserName": f"jose-{short_hash('ext-b', 6)}@contoso.com",
        "nameAdjusted": True, "source": "scim"}


def test_user_name_change_keeps_the_derived_name(scim):
    user = make_user(scim, "zoë@contoso.com", externalId="z")
    resp = scim.patch(f"/scim/Users/{user['id']}", ops(
        {"op": "Replace", "path": "userName", "value": "zoe.renamed@contoso.com"}))
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["userName"] == "zoe.renamed@contoso.com"
    assert body[APP_USER] == {"sanitizedUserName": "zoe@contoso.com", "nameAdjusted": True,
                              "source": "scim"}


def test_read_only_extension_values_from_clients_are_ignored(scim):
    user = make_user(scim, "Zoë@contoso.com", schemas=[CORE, APP_USER],
                     **{APP_USER: {"sanitizedUserName": "mine", "nameAdjusted": False}})
    assert user[APP_USER] == {"sanitizedUserName": "Zoe@contoso.com", "nameAdjusted": True,
                              "source": "scim"}
    put = scim.put(f"/scim/Users/{user['id']}", {
        "userName": "Zoë@contoso.com", f"{APP_USER}:sanitizedUserName": "other"})
    assert put.status_code == 200, put.get_json()
    assert put.get_json()[APP_USER]["sanitizedUserName"] == "Zoe@contoso.com"
    assert put.get_json()["meta"]["version"] == user["meta"]["version"]


@pytest.mark.parametrize("operation", [
    {"op": "replace", "path": f"{APP_USER}:sanitizedUserName", "value": "x"},
    {"op": "add", "path": f"{APP_USER}:nameAdjusted", "value": False},
    {"op": "replace", "value": {f"{APP_USER}:sanitizedUserName": "x"}},
    {"op": "add", "path": APP_USER, "value": {"nameAdjusted": True}},
])
def test_patching_the_extension_is_a_mutability_error(scim, operation):
    user = make_user(scim, "Zoë@contoso.com")
    resp = scim.patch(f"/scim/Users/{user['id']}", ops(operation))
    assert resp.status_code == 400
    assert resp.get_json()["scimType"] == "mutability"


def test_groups_are_derived_and_rederived_on_rename(scim):
    resp = scim.post("/scim/Groups", {"schemas": [GROUP], "displayName": "Finance & Ops (EMEA)",
                                      "externalId": "grp-01"})
    assert resp.status_code == 201
    group = resp.get_json()
    assert group["displayName"] == "Finance & Ops (EMEA)"
    assert group["schemas"] == [GROUP, APP_GROUP]
    assert group[APP_GROUP] == {"sanitizedDisplayName": "Finance_Ops_EMEA",
                                "nameAdjusted": True, "source": "scim"}
    rename = scim.patch(f"/scim/Groups/{group['id']}", ops(
        {"op": "Replace", "path": "displayName", "value": "Équipe Café"}))
    assert rename.status_code == 204
    body = scim.get(f"/scim/Groups/{group['id']}").get_json()
    assert body[APP_GROUP]["sanitizedDisplayName"] == "Equipe_Cafe"
    assert _ids(scim.get("/scim/Groups", query_string={
        "filter": f'{APP_GROUP}:sanitizedDisplayName eq "equipe_cafe"'})) == [group["id"]]
    # Entra still finds the group by the name it sent.
    assert _ids(scim.get("/scim/Groups", query_string={
        "filter": 'displayName eq "Équipe Café"'})) == [group["id"]]


def test_discovery_publishes_the_extension(scim):
    types = {t["name"]: t for t in scim.get("/scim/ResourceTypes").get_json()["Resources"]}
    assert {"schema": APP_USER, "required": False} in types["User"]["schemaExtensions"]
    assert types["Group"]["schemaExtensions"] == [{"schema": APP_GROUP, "required": False}]
    for urn, name in ((APP_USER, "sanitizedUserName"), (APP_GROUP, "sanitizedDisplayName")):
        schema = scim.get(f"/scim/Schemas/{urn}").get_json()
        attrs = {a["name"]: a for a in schema["attributes"]}
        assert set(attrs) >= {name, "nameAdjusted"}
        assert all(a["mutability"] == "readOnly" for a in attrs.values())
        assert attrs["nameAdjusted"]["type"] == "boolean"


def test_adjustments_cli_lists_them(app, scim):
    make_user(scim, "Zoë@contoso.com", externalId="z")
    make_user(scim, "alice@contoso.com")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["names", "adjustments", "--json", "--limit", "5"])
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)
    assert [(i["resourceType"], i["field"], i["original"], i["derived"], i["reason"])
            for i in items] == [("User", "userName", "Zoë@contoso.com", "Zoe@contoso.com",
                                 "sanitized")]
    text = runner.invoke(args=["names", "adjustments"]).output
    assert '"Zoë@contoso.com" -> "Zoe@contoso.com"' in text


def test_check_cli_dry_run(app, tmp_path):
    names = tmp_path / "users.csv"
    names.write_text("userPrincipalName,objectId\nZoë@contoso.com,z\nzoe@contoso.com,y\n",
                     encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["names", "check", str(names), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert [r["status"] for r in out["results"]] == ["adjusted", "collision"]
    rejected = runner.invoke(args=["names", "check", str(names), "--mode", "reject"])
    assert rejected.exit_code == 1
    assert "rejected" in rejected.output and "NormalizeDiacritics" in rejected.output


# -- settings through the app config ---------------------------------------------------
@pytest.fixture
def scim_with(tmp_path):
    """A SCIM client for an app with extra configuration."""
    apps = []

    def build(**config):
        app = create_app({"TESTING": True, "SECRET_KEY": "k",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'n.db'}",
                          **config})
        with app.app_context():
            db.create_all()
            appliance.set_sync(db.session, True)
            token = appliance.issue_token(db.session, "k")
            db.session.commit()
        apps.append(app)
        return ScimClient(app.test_client(), token)

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_required_user_attributes(scim_with):
    scim = scim_with(REQUIRED_USER_ATTRIBUTES=["emails"])
    resp = scim.post("/scim/Users", {"userName": "alice@contoso.com"})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["scimType"] == "invalidValue"
    assert "'mail'" in body["detail"] and 'emails[type eq "work"].value' in body["detail"]
    user = make_user(scim, "bob@contoso.com", emails=[{"value": "bob@contoso.com",
                                                       "type": "work"}])
    lose = scim.patch(f"/scim/Users/{user['id']}", ops({"op": "remove", "path": "emails"}))
    assert lose.status_code == 400
    disable = scim.patch(f"/scim/Users/{user['id']}",
                         ops({"op": "replace", "path": "active", "value": False}))
    assert disable.status_code == 200


def test_per_field_override_rejects_groups_only(scim_with):
    scim = scim_with(NAME_RULES_OVERRIDES={"group": {"mode": "reject"}})
    assert scim.post("/scim/Users", {"userName": "Zoë"}).status_code == 201
    resp = scim.post("/scim/Groups", {"displayName": "A & B"})
    assert resp.status_code == 400 and "displayName" in resp.get_json()["detail"]


def test_none_preset_derives_the_name_as_sent(scim_with):
    scim = scim_with(NAME_RULES_PRESET="none")
    user = make_user(scim, "Zoë 😀")
    assert user[APP_USER] == {"sanitizedUserName": "Zoë 😀", "nameAdjusted": False,
                              "source": "scim"}


# -- reject mode, end to end over HTTP -------------------------------------------------
@pytest.fixture(scope="module")
def rejecting(tmp_path_factory):
    server = RunningAppliance(tmp_path_factory.mktemp("names") / "instance",
                              env={"SCIM_APPLIANCE_NAME_RULES_MODE": "reject"}).start()
    yield server
    server.stop()


def test_reject_mode_refuses_a_breaking_user_name(rejecting):
    http, scim = rejecting.session(), f"{rejecting.base}/scim"
    resp = http.post(f"{scim}/Users", json={"schemas": [CORE], "userName": "Seán O'Brien"})
    assert resp.status_code == 400
    body = resp.json()
    assert body["scimType"] == "invalidValue" and body["status"] == "400"
    detail = body["detail"]
    assert detail.startswith("userName ") and "Seán O'Brien" in detail
    for part in ('"á" (U+00E1)', "U+0020", "^[A-Za-z0-9@._-]{1,64}$",
                 'Left(Replace(NormalizeDiacritics(StripSpaces([userPrincipalName])), , '
                 '"[^A-Za-z0-9@._-]", , "", , ), 64)'):
        assert part in detail, part
    listed = http.get(f"{scim}/Users", params={"filter": 'userName eq "Seán O\'Brien"'})
    assert listed.json()["totalResults"] == 0


def test_reject_mode_accepts_valid_names_and_refuses_normalised_twins(rejecting):
    http, scim = rejecting.session(), f"{rejecting.base}/scim"
    ok = http.post(f"{scim}/Users", json={"userName": "kim.lee@contoso.com"})
    assert ok.status_code == 201
    assert ok.json()[APP_USER] == {"sanitizedUserName": "kim.lee@contoso.com",
                                   "nameAdjusted": False, "source": "scim"}
    twin = http.post(f"{scim}/Users", json={"userName": "Kim.Lee@contoso.com "})
    assert twin.status_code == 409
    assert twin.json()["scimType"] == "uniqueness"
    rename = http.patch(f"{scim}/Users/{ok.json()['id']}", json=ops(
        {"op": "replace", "path": "userName", "value": "kim lee@contoso.com"}))
    assert rename.status_code == 400 and rename.json()["scimType"] == "invalidValue"
    assert http.get(f"{scim}/Users/{ok.json()['id']}").json()["userName"] == \
        "kim.lee@contoso.com"


def test_reject_mode_refuses_a_breaking_group_name(rejecting):
    http, scim = rejecting.session(), f"{rejecting.base}/scim"
    resp = http.post(f"{scim}/Groups", json={"schemas": [GROUP], "displayName": "Sales & Ops"})
    assert resp.status_code == 400
    detail = resp.json()["detail"]
    assert detail.startswith("displayName") and '"&" (U+0026)' in detail
    assert "^[A-Za-z0-9._-]{1,128}$" in detail and "[displayName]" in detail
    assert http.post(f"{scim}/Groups", json={"displayName": "Sales-Ops"}).status_code == 201


def test_reject_mode_records_normalisations_for_the_cli(rejecting):
    http, scim = rejecting.session(), f"{rejecting.base}/scim"
    assert http.post(f"{scim}/Users", json={"userName": " trimmed@contoso.com"}).status_code \
        == 201
    items = json.loads(rejecting.cli("names", "adjustments", "--json"))
    assert {"original": " trimmed@contoso.com", "derived": "trimmed@contoso.com",
            "reason": "normalized"}.items() <= items[0].items()


def test_bad_name_rules_settings_fail_the_cli_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_APPLIANCE_")}
    env.update({"SCIM_APPLIANCE_INSTANCE_PATH": str(tmp_path),
                "SCIM_APPLIANCE_NAME_RULES_MODE": "lenient"})
    proc = subprocess.run([sys.executable, "-m", "scim_appliance", "names", "presets"],
                          env=env, capture_output=True, text=True, timeout=60)
    # 78 (EX_CONFIG, cli/serve.py): a service manager must not restart into it
    assert proc.returncode == 78 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "Error: invalid name-rules configuration: name-rules mode must be one of sanitize, "
        "reject, not 'lenient'"]
