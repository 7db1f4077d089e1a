"""Black-box: root-level search, `POST /.search` (RFC 7644 §3.4.3, §3.4.2.1-§3.4.2.5).

"A query against a server root indicates that all resources within the server SHALL be
included, subject to filtering" (§3.4.2.1): Users and Groups in one ListResponse,
filtered, sorted and paged. For "filtered attributes that are not part of a particular
resource type, the service provider SHALL treat the attribute as if there is no
attribute value" (§3.4.2.2).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event

from scim_appliance.domain.access import appliance
from scim_appliance.storage.extensions import db
from scim_appliance.storage.models import ProvisioningLogEntry
from tests.conftest import ScimClient, make_user

from .suite import ENTERPRISE, GROUP, LIST, SCIM_JSON, SEARCH, USER, assert_scim_error, make_group


@pytest.fixture
def directory(scim):
    """Three users and two groups; one user is in both groups."""
    ann = make_user(scim, "ann@contoso.com", displayName="Ann Ops", title="Engineer",
                    **{ENTERPRISE: {"department": "Ops"}})
    bo = make_user(scim, "bo@contoso.com", displayName="Bo")
    cy = make_user(scim, "cy@contoso.com")
    ops = make_group(scim, "Ops", members=[{"value": ann["id"]}])
    sales = make_group(scim, "Sales", members=[{"value": ann["id"]}, {"value": bo["id"]}])
    return {"ann": ann, "bo": bo, "cy": cy, "ops": ops, "sales": sales}


def search(scim, prefix="/scim", **body):
    resp = scim.post(f"{prefix}/.search", {"schemas": [SEARCH], **body})
    assert resp.status_code == 200, resp.get_json()
    assert resp.mimetype == SCIM_JSON
    out = resp.get_json()
    assert out["schemas"] == [LIST]
    assert out["itemsPerPage"] == len(out["Resources"])
    return out


def ids(body) -> list[str]:
    return [r["id"] for r in body["Resources"]]


@pytest.mark.parametrize("prefix", ["/scim", "/scim/v2"])
def test_root_search_returns_users_and_groups(scim, directory, prefix):
    body = search(scim, prefix)
    assert body["totalResults"] == 5 and body["startIndex"] == 1
    by_id = {r["id"]: r for r in body["Resources"]}
    for key in ("ann", "bo", "cy"):
        user = by_id[directory[key]["id"]]
        assert user["schemas"][0] == USER and user["meta"]["resourceType"] == "User"
        assert user["meta"]["location"].endswith(f"{prefix}/Users/{user['id']}")
    for key in ("ops", "sales"):
        group = by_id[directory[key]["id"]]
        assert group["schemas"][0] == GROUP and group["meta"]["resourceType"] == "Group"
        assert group["meta"]["location"].endswith(f"{prefix}/Groups/{group['id']}")
    # Each is rendered as its own endpoint renders it: groups with members, users with groups.
    assert {m["value"] for m in by_id[directory["sales"]["id"]]["members"]} == {
        directory["ann"]["id"], directory["bo"]["id"]}
    assert {g["display"] for g in by_id[directory["ann"]["id"]]["groups"]} == {"Ops", "Sales"}


def test_without_sort_users_come_first_then_groups_each_by_id(scim, directory):
    body = search(scim)
    users = sorted(directory[k]["id"] for k in ("ann", "bo", "cy"))
    groups = sorted(directory[k]["id"] for k in ("ops", "sales"))
    assert ids(body) == users + groups


@pytest.mark.parametrize("count", [1, 2, 3, 4])
def test_pages_cover_both_types_once_with_exact_totals(scim, directory, count):
    """RFC 7644 §3.4.2.4 over the union: no resource twice, none missing."""
    everything = ids(search(scim))
    seen = []
    for start in range(1, 7, count):
        page = search(scim, startIndex=start, count=count)
        assert page["totalResults"] == 5 and page["startIndex"] == start
        assert len(page["Resources"]) == min(count, max(0, 5 - start + 1))
        seen += ids(page)
    assert seen == everything


def test_paging_beyond_the_end_still_counts(scim, directory):
    body = search(scim, startIndex=6, count=3)
    assert body["Resources"] == [] and body["totalResults"] == 5
    body = search(scim, count=0)
    assert body["Resources"] == [] and body["totalResults"] == 5


def test_count_is_capped_by_the_configured_maximum(app, scim, directory):
    app.config["SCIM_MAX_RESULTS"] = 2
    body = search(scim, count=50)
    assert body["itemsPerPage"] == 2 and body["totalResults"] == 5


def test_filter_on_an_attribute_both_types_have(scim, directory):
    body = search(scim, filter='displayName co "ops"')
    assert sorted(ids(body)) == sorted([directory["ann"]["id"], directory["ops"]["id"]])


def test_filter_on_meta_resource_type(scim, directory):
    body = search(scim, filter='meta.resourceType eq "Group"')
    assert sorted(ids(body)) == sorted([directory["ops"]["id"], directory["sales"]["id"]])
    body = search(scim, filter='meta.resourceType eq "User" and displayName pr')
    assert sorted(ids(body)) == sorted([directory["ann"]["id"], directory["bo"]["id"]])


@pytest.mark.parametrize("text, expected", [
    # Attributes only Users have: Groups have no value for them (RFC 7644 §3.4.2.2).
    ('userName sw "a"', {"ann"}),
    ("title pr", {"ann"}),
    ('title ne "Engineer"', set()),  # ne on "no value" is false, as for a user without title
    ("not (title pr)", {"bo", "cy", "ops", "sales"}),
    ("userName eq null", {"ops", "sales"}),
    (f'{ENTERPRISE}:department eq "Ops"', {"ann"}),
    ('emails[type eq "work"]', set()),
    ('groups.display eq "x" or meta.resourceType eq "Group"', None),  # not filterable
    # ... and only Groups.
    ("members pr", {"ops", "sales"}),
    ("not (members pr)", {"ann", "bo", "cy"}),
    ('userName eq "bo@contoso.com" or displayName eq "sales"', {"bo", "sales"}),
])
def test_attributes_one_type_lacks_have_no_value_there(scim, directory, text, expected):
    if expected is None:
        assert_scim_error(scim.post("/scim/.search", {"filter": text}), 400, "invalidFilter")
        return
    body = search(scim, filter=text)
    assert sorted(ids(body)) == sorted(directory[k]["id"] for k in expected)
    assert body["totalResults"] == len(expected)


def test_filter_on_members_finds_groups_only(scim, directory):
    body = search(scim, filter=f'members.value eq "{directory["bo"]["id"]}"')
    assert ids(body) == [directory["sales"]["id"]]


@pytest.mark.parametrize("text", ['noSuchAttribute eq "x"', "userName eq", 'userName. pr',
                                  'urn:example:nothing:1.0:X:a pr'])
def test_a_filter_no_type_can_take_is_400(scim, directory, text):
    assert_scim_error(scim.post("/scim/.search", {"filter": text}), 400, "invalidFilter")


def test_sort_across_types(scim, directory):
    body = search(scim, sortBy="displayName", attributes=["displayName"])
    # cy has no displayName: last when ascending (RFC 7644 §3.4.2.3); case-insensitive.
    assert [r.get("displayName") for r in body["Resources"]] == [
        "Ann Ops", "Bo", "Ops", "Sales", None]
    body = search(scim, sortBy="displayName", sortOrder="descending")
    assert [r.get("displayName") for r in body["Resources"]] == [
        None, "Sales", "Ops", "Bo", "Ann Ops"]


def test_sort_by_an_attribute_only_users_have(scim, directory):
    body = search(scim, sortBy="userName")
    names = [r.get("userName") for r in body["Resources"]]
    assert names[:3] == ["ann@contoso.com", "bo@contoso.com", "cy@contoso.com"]
    assert names[3:] == [None, None]
    body = search(scim, sortBy="userName", sortOrder="descending", count=3)
    assert [r.get("userName") for r in body["Resources"]] == [None, None, "cy@contoso.com"]


def test_sort_by_an_attribute_no_type_has_is_400(scim, directory):
    assert_scim_error(scim.post("/scim/.search", {"sortBy": "noSuch"}), 400, "invalidValue")


def test_attributes_and_excluded_attributes_per_type(scim, directory):
    body = search(scim, attributes=["userName", "displayName"])
    for r in body["Resources"]:
        allowed = {"schemas", "id", "userName", "displayName"}
        assert set(r) <= allowed, r
    body = search(scim, excludedAttributes=["members", "groups", "emails"],
                  filter='meta.resourceType eq "Group" or userName eq "ann@contoso.com"')
    assert len(body["Resources"]) == 3
    assert all("members" not in r and "groups" not in r for r in body["Resources"])


@pytest.mark.parametrize("body", [["not", "an", "object"], {"schemas": ["urn:wrong"]},
                                  {"filter": 7}, {"count": "many"},
                                  {"sortOrder": "sideways"}])
def test_a_bad_search_request_is_400(scim, body):
    assert_scim_error(scim.post("/scim/.search", body), 400)


def test_invalid_json_is_invalid_syntax(scim):
    assert_scim_error(scim.post("/scim/.search", raw="{nope"), 400, "invalidSyntax")


def test_root_search_needs_the_token_and_the_sync_switch(app, scim, directory):
    anonymous = ScimClient(app.test_client(), None)
    resp = anonymous.post("/scim/.search", {"schemas": [SEARCH]})
    assert_scim_error(resp, 401)
    assert "ann@contoso.com" not in resp.get_data(as_text=True)
    with app.app_context():
        appliance.set_sync(db.session, False)
        db.session.commit()
    resp = scim.post("/scim/v2/.search", {"schemas": [SEARCH]})
    assert_scim_error(resp, 403)


def test_only_post_is_a_search(scim):
    assert_scim_error(scim.get("/scim/.search"), 405)


def test_paging_is_in_sql_full_rows_are_read_for_the_page_only(app, scim):
    """30 users and 30 groups; a page of 4 reads the documents of 4 resources."""
    for i in range(30):
        make_user(scim, f"u{i:02d}@contoso.com")
        make_group(scim, f"g{i:02d}")
    statements = []

    def record(_conn, _cursor, statement, parameters, _context, _many):
        statements.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            body = search(scim, startIndex=29, count=4, excludedAttributes=["members"],
                          filter='displayName pr or userName pr')
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert body["totalResults"] == 60
    assert [r["meta"]["resourceType"] for r in body["Resources"]] == ["User", "User",
                                                                        "Group", "Group"]
    selected = [(re.split(r"\sFROM\s", s, maxsplit=1)[0], s, p) for s, p in statements]
    document_reads = [(s, p) for columns, s, p in selected
                      if "users.data" in columns or "groups.data" in columns]
    assert document_reads, statements
    for sql, params in document_reads:
        assert " IN (" in sql and len(params) <= 4, sql
    assert any("UNION ALL" in s for s, _ in statements)


def test_root_search_is_in_the_provisioning_log(app, scim, directory):
    search(scim, filter='displayName co "ops"')
    with app.app_context():
        row = db.session.query(ProvisioningLogEntry).order_by(
            ProvisioningLogEntry.id.desc()).first()
        assert row.path == "/scim/.search" and row.method == "POST"
        assert row.operation == "query" and row.action == "matched"
        assert row.changes == {"filter": 'displayName co "ops"', "results": 2}
        assert row.status == 200 and row.resource_type is None
