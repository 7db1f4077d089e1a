"""The outbox: which events a change records, what they carry, and that a change that
fails records nothing (domain/events/outbox.py)."""

from __future__ import annotations

from scim_appliance.domain.access import appliance
from scim_appliance.domain.events.catalogue import MEMBER_BATCH
from scim_appliance.domain.events.outbox import changed_paths
from scim_appliance.domain.resources import users
from scim_appliance.storage.extensions import db

from ..conftest import make_user
from .conftest import add, deliveries, outbox

CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def types(app):
    return [e["type"] for e in outbox(app)]


def test_nothing_is_recorded_without_an_endpoint(app, scim):
    make_user(scim)
    assert outbox(app) == []


def test_user_created_carries_the_resource_as_the_api_renders_it(app, scim, endpoint):
    resp = scim.post("/scim/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                     "userName": "Adèle Vance@contoso.com"})
    assert resp.status_code == 201
    [event] = outbox(app)
    assert event["type"] == "user.created"
    assert event["id"].startswith("evt_")
    assert event["requestId"] == resp.headers["X-Request-Id"]
    assert event["timestamp"].endswith("Z")
    resource = event["data"]["resource"]
    body = resp.get_json()
    assert resource == body  # GET's rendering, sanitized name included
    assert resource[next(k for k in resource if k.endswith(":User") and "appliance" in k)][
        "sanitizedUserName"]
    assert event["data"]["resourceType"] == "User" and event["data"]["id"] == body["id"]
    [delivery] = deliveries(app)
    assert delivery.endpoint_id == endpoint.id and delivery.status == "pending"
    assert delivery.resource_key == f"User:{body['id']}"


def test_a_failing_request_records_nothing(app, scim, endpoint):
    user = make_user(scim)
    before = outbox(app)
    # a 409 (the name is taken), a 400 (bad PATCH), a 412 (stale ETag), a 404
    assert scim.post("/scim/Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                     "userName": user["userName"]}).status_code == 409
    assert scim.patch(f"/scim/Users/{user['id']}", {
        "schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName",
                                            "value": "Adele"},
                                           {"op": "bogus", "path": "title"}]}).status_code == 400
    assert scim.delete(f"/scim/Users/{user['id']}",
                       headers={"If-Match": 'W/"999"'}).status_code == 412
    assert scim.patch("/scim/Groups/nope", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": user["id"]}]}]}).status_code == 404
    assert outbox(app) == before
    assert len(deliveries(app)) == len(before)


def test_a_rolled_back_session_records_nothing(app, endpoint):
    with app.app_context():
        users.create_user(db.session, {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                       "userName": "x@contoso.com"})
        db.session.rollback()
    assert outbox(app) == []


def test_user_updated_names_the_changed_paths(app, scim, endpoint):
    user = make_user(scim, name={"givenName": "Adele", "familyName": "Vance"})
    scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "name.givenName", "value": "Adèle"},
        {"op": "add", "path": "title", "value": "Engineer"}]})
    event = outbox(app)[-1]
    assert event["type"] == "user.updated"
    assert event["data"]["changedAttributes"] == ["name.givenName", "title"]
    assert event["data"]["resource"]["name"]["givenName"] == "Adèle"


def test_disable_and_enable(app, scim, endpoint):
    user = make_user(scim, active=True)
    off = {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active",
                                               "value": "False"}]}
    scim.patch(f"/scim/Users/{user['id']}", off)
    scim.patch(f"/scim/Users/{user['id']}", off)  # no change: no event
    scim.patch(f"/scim/Users/{user['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": True, "title": "Back"}}]})
    assert types(app) == ["user.created", "user.disabled", "user.enabled", "user.updated"]
    assert outbox(app)[1]["data"]["changedAttributes"] == ["active"]


def test_deleted_carries_the_last_rendering(app, scim, endpoint):
    user = make_user(scim)
    assert scim.delete(f"/scim/Users/{user['id']}").status_code == 204
    event = outbox(app)[-1]
    assert event["type"] == "user.deleted"
    assert event["data"]["resource"]["userName"] == user["userName"]


def test_group_events_and_member_batches(app, scim, endpoint):
    people = [make_user(scim, f"u{n}@contoso.com")["id"] for n in range(3)]
    resp = scim.post("/scim/Groups", {"schemas": [CORE_GROUP], "displayName": "Sales",
                                      "members": [{"value": people[0]}]})
    group = resp.get_json()
    scim.patch(f"/scim/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": p} for p in people]},
        {"op": "remove", "path": f"members[value eq \"{people[0]}\"]"},
        {"op": "replace", "path": "displayName", "value": "Sales EU"}]})
    scim.delete(f"/scim/Groups/{group['id']}")
    events = [e for e in outbox(app) if e["type"].startswith("group.")]
    assert [e["type"] for e in events] == [
        "group.created", "group.members_added", "group.updated", "group.members_removed",
        "group.members_added", "group.deleted"]
    assert events[1]["data"]["members"] == [{"value": people[0], "type": "User"}]
    assert events[2]["data"]["changedAttributes"] == ["displayName"]
    # the PATCH: people[0] removed (net), people[1:] added
    assert [m["value"] for m in events[3]["data"]["members"]] == [people[0]]
    assert sorted(m["value"] for m in events[4]["data"]["members"]) == sorted(people[1:])
    assert "members" not in events[2]["data"]["resource"]
    assert events[2]["data"]["resource"]["displayName"] == "Sales EU"


def test_large_member_changes_come_in_batches(app, scim, endpoint):
    group = scim.post("/scim/Groups", {"schemas": [CORE_GROUP], "displayName": "Big"}).get_json()
    count = MEMBER_BATCH + 5
    with app.app_context():
        ids = [users.create_user(db.session, {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": f"m{n}@contoso.com"}).id for n in range(count)]
        db.session.commit()
    scim.patch(f"/scim/Groups/{group['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]})
    batches = [e for e in outbox(app) if e["type"] == "group.members_added"]
    assert [(e["data"]["batch"], e["data"]["batches"]) for e in batches] == [(1, 2), (2, 2)]
    listed = [m["value"] for e in batches for m in e["data"]["members"]]
    assert sorted(listed) == sorted(ids)  # each once (in the id order rows are locked in)


def test_an_endpoint_gets_only_its_types(app, scim):
    groups_only = add(app, events=["group.*"])
    everything = add(app)
    make_user(scim)
    scim.post("/scim/Groups", {"schemas": [CORE_GROUP], "displayName": "G"})
    by_endpoint = {}
    for d in deliveries(app):
        by_endpoint.setdefault(d.endpoint_id, []).append(d.event_seq)
    assert len(by_endpoint[everything.id]) == 2
    assert len(by_endpoint[groups_only.id]) == 1


def test_appliance_events_never_carry_the_token(app, endpoint):
    with app.app_context():
        token = appliance.issue_token(db.session, app.config["SECRET_KEY"])
        appliance.set_sync(db.session, False)
        appliance.set_sync(db.session, False)  # unchanged: no event
        db.session.commit()
    events = outbox(app)
    assert [e["type"] for e in events] == ["appliance.token_replaced",
                                           "appliance.sync_switched"]
    assert events[1]["data"] == {"syncEnabled": False}
    assert token not in str(events)


def test_changed_paths():
    enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    before = {"schemas": ["a"], "userName": "a", "name": {"givenName": "A"},
              enterprise: {"department": "x"}}
    after = {"schemas": ["a", "b"], "userName": "a", "name": {"givenName": "B"},
             enterprise: {"department": "x", "manager": {"value": "m"}}, "title": "t"}
    assert changed_paths(before, after) == ["name.givenName", f"{enterprise}:manager", "title"]
