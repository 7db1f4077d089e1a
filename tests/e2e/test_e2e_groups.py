"""End to end over HTTP against waitress: group lifecycle as Entra runs it (notes §7),
and concurrent membership PATCHes that must neither lose nor duplicate a member."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.appliance_server import RunningAppliance

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    appliance = RunningAppliance(tmp_path_factory.mktemp("e2e-groups") / "instance").start()
    yield appliance
    appliance.stop()


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def _users(server, count, prefix):
    http = server.session()
    return [http.post(f"{server.base}/scim/Users",
                      json={"userName": f"{prefix}{i}@contoso.com"}).json()["id"]
            for i in range(count)]


def _members(http, url):
    return sorted(m["value"] for m in http.get(url).json().get("members", []))


@pytest.mark.parametrize("dialect", ["legacy", "aadOptscim062020"])
def test_entra_group_lifecycle(server, dialect):
    http = server.session()
    scim = f"{server.base}/scim"
    users = _users(server, 5, f"{dialect}-")
    payload = json.loads((FIXTURES / "entra-create-group.json").read_text())
    payload["displayName"] = f"Sales {dialect}"

    # Test Connection's group probe, then match by displayName (none), then create.
    probe = http.get(f"{scim}/Groups", params={"excludedAttributes": "members",
                                               "filter": f'displayName eq "{uuid.uuid4()}"'})
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0
    match = http.get(f"{scim}/Groups", params={"excludedAttributes": "members",
                                               "filter": f'displayName eq "Sales {dialect}"'})
    assert match.json()["totalResults"] == 0
    created = http.post(f"{scim}/Groups", data=json.dumps(payload))
    assert created.status_code == 201 and created.json()["members"] == []
    url = f"{scim}/Groups/{created.json()['id']}"

    # Members added in one op (with Entra's "$ref": null), answered 204.
    resp = http.patch(url, json=ops({"op": "Add" if dialect == "legacy" else "add",
                                     "path": "members",
                                     "value": [{"$ref": None, "value": u} for u in users]}))
    assert resp.status_code == 204 and resp.content == b""
    assert _members(http, url) == sorted(users)

    # Remove one member in the dialect's own form.
    if dialect == "legacy":
        remove = {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": users[0]}]}
    else:
        remove = {"op": "remove", "path": f'members[value eq "{users[0]}"]'}
    assert http.patch(url, json=ops(remove)).status_code == 204
    assert _members(http, url) == sorted(users[1:])

    # A member's groups attribute shows the membership.
    groups = http.get(f"{scim}/Users/{users[1]}").json()["groups"]
    assert [g["value"] for g in groups] == [created.json()["id"]]

    # Rename, then match by the new name excluding members.
    op = "Replace" if dialect == "legacy" else "replace"
    assert http.patch(url, json=ops({"op": op, "path": "displayName",
                                     "value": f"Sales EMEA {dialect}"})).status_code == 204
    found = http.get(f"{scim}/Groups", params={
        "excludedAttributes": "members", "filter": f'displayName eq "Sales EMEA {dialect}"'})
    assert found.json()["totalResults"] == 1 and "members" not in found.json()["Resources"][0]

    # Delete: 204, gone, users untouched.
    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404
    assert http.get(f"{scim}/Users/{users[1]}").status_code == 200
    assert "groups" not in http.get(f"{scim}/Users/{users[1]}").json()


def test_concurrent_member_patches_lose_and_duplicate_nothing(server):
    scim = f"{server.base}/scim"
    http = server.session()
    users = _users(server, 120, "concurrent-")
    group = http.post(f"{scim}/Groups", json={"displayName": "Concurrent"}).json()["id"]
    url = f"{scim}/Groups/{group}"
    batches = [users[i:i + 10] for i in range(0, len(users), 10)]

    def add(batch):
        # Each batch is sent twice, so duplicates race with themselves too.
        session = server.session()
        codes = []
        for _ in range(2):
            codes.append(session.patch(url, json=ops(
                {"op": "Add", "path": "members", "value": [{"value": u} for u in batch]}
            )).status_code)
        return codes

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(add, batches))
    assert all(code == 204 for codes in results for code in codes)
    members = http.get(url).json()["members"]
    assert len(members) == len(users)
    assert sorted(m["value"] for m in members) == sorted(users)

    def remove(batch):
        return server.session().patch(url, json=ops(
            {"op": "Remove", "path": "members", "value": [{"value": u} for u in batch]}
        )).status_code

    with ThreadPoolExecutor(6) as pool:
        assert set(pool.map(remove, batches[::2])) == {204}
    kept = sorted(u for b in batches[1::2] for u in b)
    assert _members(http, url) == kept
