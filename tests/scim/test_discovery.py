"""Discovery endpoints (RFC 7644 §4, RFC 7643 §5-§7): correct, and only what we implement."""

from __future__ import annotations

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def test_service_provider_config(scim):
    body = scim.get("/scim/ServiceProviderConfig").get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert body["patch"] == {"supported": True}
    assert body["bulk"]["supported"] is False
    assert body["filter"]["supported"] is True and body["filter"]["maxResults"] == 1000
    assert body["changePassword"] == {"supported": False}
    assert body["sort"] == {"supported": True} and body["etag"] == {"supported": True}
    assert body["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_resource_types(scim):
    body = scim.get("/scim/ResourceTypes").get_json()
    assert body["schemas"] == [LIST]
    assert body["totalResults"] == len(body["Resources"])
    by_name = {r["name"]: r for r in body["Resources"]}
    user = by_name["User"]
    assert user["endpoint"] == "/Users"
    assert user["schema"] == "urn:ietf:params:scim:schemas:core:2.0:User"
    assert user["schemaExtensions"][0] == {
        "schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": False}
    assert scim.get("/scim/ResourceTypes/User").get_json()["id"] == "User"
    assert scim.get("/scim/ResourceTypes/Nope").status_code == 404


def test_schemas_are_rfc7643_documents(scim):
    body = scim.get("/scim/Schemas").get_json()
    assert body["schemas"] == [LIST]
    ids = {s["id"] for s in body["Resources"]}
    assert {"urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} <= ids
    user = scim.get("/scim/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").get_json()
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["required"] is True
    assert attrs["userName"]["uniqueness"] == "server"
    assert attrs["userName"]["caseExact"] is False
    assert attrs["password"]["returned"] == "never"
    assert attrs["groups"]["mutability"] == "readOnly"
    emails = {a["name"]: a for a in attrs["emails"]["subAttributes"]}
    assert emails["type"]["canonicalValues"] == ["work", "home", "other"]
    for attr in user["attributes"]:
        for key in ("name", "type", "multiValued", "description", "required", "mutability",
                    "returned"):
            assert key in attr, (attr["name"], key)
    assert scim.get("/scim/Schemas/urn:nope").status_code == 404
