"""End to end over HTTP against waitress: an Entra-style user lifecycle in both dialects.

Payload shapes follow ../shared/docs/entra-provisioning.md §3 (Test Connection), §6.1
(match then create), §6.4 (legacy and aadOptscim062020 PATCH, manager, disable) and §6.5.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from tests.appliance_server import RunningAppliance

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
FIXTURES = Path(__file__).parents[1] / "fixtures"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    appliance = RunningAppliance(tmp_path_factory.mktemp("e2e") / "instance").start()
    yield appliance
    appliance.stop()


def ops(*operations):
    return {"schemas": [PATCH], "Operations": list(operations)}


def test_entra_user_lifecycle(server):
    http = server.session()
    scim = f"{server.base}/scim"

    # Test Connection: a random GUID must give 200 and an empty list.
    probe = http.get(f"{scim}/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0
    assert probe.headers["Content-Type"].startswith("application/scim+json")

    # Match (none), then create with Entra's default mapping.
    payload = json.loads((FIXTURES / "entra-create-user.json").read_text())
    match = http.get(f"{scim}/Users?filter=userName+eq+%22adele.vance%40contoso.com%22")
    assert match.json()["totalResults"] == 0
    created = http.post(f"{scim}/Users", data=json.dumps(payload))
    assert created.status_code == 201
    adele = created.json()
    url = f"{scim}/Users/{adele['id']}"
    assert created.headers["Location"] == url

    manager = http.post(f"{scim}/Users", json={"userName": "boss@contoso.com"}).json()

    # Reference attributes come in an extra update: manager as a bare id string.
    resp = http.patch(url, json=ops({"op": "Add", "path": f"{ENTERPRISE}:manager",
                                     "value": manager["id"]}))
    assert resp.status_code == 200
    assert resp.json()[ENTERPRISE]["manager"]["value"] == manager["id"]

    # Legacy dialect: capitalised ops, one per attribute, value-filter paths.
    resp = http.patch(url, json=ops(
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "pvlo@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "Eqpj"},
        {"op": "Add", "path": 'phoneNumbers[type eq "pager"].value', "value": "+1 555"},
    ))
    assert resp.status_code == 200, resp.text
    body = http.get(url).json()
    assert body["displayName"] == "Pvlo"
    assert body["emails"] == [{"value": "pvlo@contoso.com", "type": "work", "primary": True}]
    assert body["name"]["givenName"] == "Gtfd"
    assert body[ENTERPRISE]["employeeNumber"] == "Eqpj"
    assert {"type": "pager", "value": "+1 555"} in body["phoneNumbers"]

    # aadOptscim062020: one no-path op with dotted and URN keys.
    resp = http.patch(url + "?aadOptscim062020", json=ops(
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "bjfe@contoso.com"},
        {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
                                    "name.familyName": "Unua",
                                    f"{ENTERPRISE}:employeeNumber": "Aklq"}}))
    assert resp.status_code == 200, resp.text
    body = http.get(url).json()
    assert body["displayName"] == "Bjfe"
    assert body["name"]["givenName"] == "Kkom" and body["name"]["familyName"] == "Unua"
    assert "name.givenName" not in body
    assert body[ENTERPRISE]["employeeNumber"] == "Aklq"

    # Disable with the legacy string, then check filters still find the user.
    assert http.patch(url, json=ops({"op": "Replace", "path": "active", "value": "False"})
                      ).status_code == 200
    found = http.get(f"{scim}/Users", params={"filter": 'userName eq "adele.vance@contoso.com"'})
    assert found.json()["Resources"][0]["active"] is False
    assert http.patch(url, json=ops({"op": "replace", "path": "active", "value": True})
                      ).json()["active"] is True

    # Manager removed with Replace "".
    resp = http.patch(url, json=ops({"op": "Replace", "path": f"{ENTERPRISE}:manager",
                                     "value": ""}))
    assert "manager" not in resp.json().get(ENTERPRISE, {})

    # Hard delete.
    assert http.delete(url).status_code == 204
    assert http.get(url).status_code == 404
    gone = http.get(f"{scim}/Users", params={"filter": 'userName eq "adele.vance@contoso.com"'})
    assert gone.json()["totalResults"] == 0


def test_wrong_token_over_http_is_401(server):
    resp = server.session().get(f"{server.base}/scim/Users",
                                headers={"Authorization": "Bearer scimapp_nope.nope"})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_huge_body_over_http_is_413_scim_error(server):
    resp = server.session().post(f"{server.base}/scim/Users",
                                 data=b'{"userName": "' + b"x" * (5 * 1024 * 1024) + b'"}')
    assert resp.status_code == 413
    assert resp.json()["status"] == "413"


def test_concurrent_creates_never_duplicate_a_username(server):
    from concurrent.futures import ThreadPoolExecutor

    name = f"race-{uuid.uuid4()}@contoso.com"

    def create(_):
        resp = server.session().post(f"{server.base}/scim/Users", json={"userName": name})
        return resp.status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(create, range(16)))
    assert codes.count(201) == 1 and codes.count(409) == 15


def test_the_token_never_reaches_the_server_output(tmp_path):
    appliance = RunningAppliance(tmp_path / "instance").start()
    try:
        http = appliance.session()
        http.get(f"{appliance.base}/scim/Users")
        http.post(f"{appliance.base}/scim/Users", data=b"{broken")
        http.get(f"{appliance.base}/scim/Users", headers={
            "Authorization": f"Bearer {appliance.token}x"})
    finally:
        appliance.stop()
    output = appliance.proc_output
    assert appliance.token not in output
    assert appliance.token[len("scimapp_"):] not in output
