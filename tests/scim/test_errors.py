"""Bad input gets the right SCIM error (RFC 7644 §3.12), never a 500, and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.conftest import make_user

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _error(resp, status, scim_type=None):
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/scim+json"
    body = resp.get_json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"] and "Traceback" not in body["detail"]
    if scim_type:
        assert body.get("scimType") == scim_type
    return body


@pytest.mark.parametrize("raw", [b"{", b"not json", b"\xff\xfe\x00", b"", b"   ",
                                 b"[" * 100000 + b"]" * 100000,
                                 # Python reads these; JSON (RFC 8259 §6) has no such numbers.
                                 b'{"userName": "a", "title": NaN}', b'{"x": -Infinity}'])
def test_malformed_json_is_400_invalid_syntax(scim, raw):
    _error(scim.post("/scim/Users", raw=raw), 400, "invalidSyntax")


USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize("raw", [
    b'{"schemas":["%s"],"userName":"a\\ud800b"}' % USER.encode(),  # escaped, unpaired
    b'{"schemas":["%s"],"userName":"x\\uDC00"}' % USER.encode(),  # a lone low half
    b'{"schemas":["%s"],"userName":"\xed\xa0\x80"}' % USER.encode(),  # CESU-8 bytes
])
def test_unpaired_surrogates_are_400_not_500(scim, app, raw):
    """JSON allows "\\ud800" but it is not Unicode: it once failed inside SQLite (500)."""
    body = _error(scim.post("/scim/Users", raw=raw), 400, "invalidSyntax")
    assert "surrogate" in body["detail"]
    assert scim.get("/scim/Users").get_json()["totalResults"] == 0
    user = make_user(scim, "kept@contoso.com")
    patch = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
             "Operations": [{"op": "replace", "path": "displayName", "value": "\ud800"}]}
    _error(scim.patch(f"/scim/Users/{user['id']}", raw=json.dumps(patch)),
           400, "invalidSyntax")


def test_a_valid_surrogate_pair_is_kept(scim):
    created = scim.post("/scim/Users", raw=b'{"schemas":["%s"],"userName":"smile\\ud83d\\ude00"}'
                        % USER.encode())
    assert created.status_code == 201
    assert created.get_json()["userName"] == "smile\U0001F600"


def test_unpaired_surrogate_in_a_filter_is_400_invalid_filter(scim):
    resp = scim.get('/scim/Users?filter=userName%20eq%20%22%5Cud800%22')
    assert "surrogate" in _error(resp, 400, "invalidFilter")["detail"]


@pytest.mark.parametrize("body,scim_type,needle", [
    ([1, 2], "invalidSyntax", "JSON object"),
    ("a string", "invalidSyntax", "JSON object"),
    ({"userName": 42}, "invalidValue", "userName"),
    ({"userName": "a", "active": "maybe"}, "invalidValue", "active"),
    ({"userName": "a", "emails": {"value": "x"}}, "invalidValue", "emails"),
    ({"userName": "a", "emails": [{"value": 7}]}, "invalidValue", "emails[0].value"),
    ({"userName": "a", "name": "Adele"}, "invalidValue", "name"),
    ({"displayName": "no userName"}, "invalidValue", "userName"),
    ({"userName": "a", "favouriteColour": "blue"}, "invalidSyntax", "favouriteColour"),
    ({"userName": "a", "schemas": ["urn:example:unknown"]}, "invalidValue", "urn:example"),
    ({"userName": "a", "urn:ietf:params:scim:schemas:extension:Contoso:2.0:User:x": "1"},
     "invalidValue", "Contoso"),
])
def test_invalid_resources_are_400_with_a_useful_detail(scim, body, scim_type, needle):
    detail = _error(scim.post("/scim/Users", body), 400, scim_type)["detail"]
    assert needle in detail
    assert scim.get("/scim/Users").get_json()["totalResults"] == 0


def test_body_over_the_limit_is_413(app, scim):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    _error(scim.post("/scim/Users", {"userName": "a", "displayName": "x" * 2000}), 413)


def test_unknown_route_is_404_and_wrong_method_is_405(scim):
    _error(scim.get("/scim/Nothing"), 404)
    resp = scim.request("DELETE", "/scim/Users")
    _error(resp, 405)
    assert "GET" in resp.headers["Allow"]


def test_patch_with_bad_operations_is_400_and_atomic(scim):
    user = make_user(scim, "atomic@contoso.com", displayName="Before")
    url = f"/scim/Users/{user['id']}"
    cases = [
        ({"Operations": [{"op": "explode", "path": "displayName", "value": "x"}]},
         "invalidSyntax"),
        ({"Operations": [{"op": "replace", "path": "displayName", "value": "After"},
                         {"op": "replace", "path": "nosuch", "value": "x"}]}, "invalidPath"),
        ({"Operations": [{"op": "replace", "path": "displayName", "value": "After"},
                         {"op": "replace", "path": "active", "value": "perhaps"}]},
         "invalidValue"),
        ({"Operations": [{"op": "replace", "path": "id", "value": "mine"}]}, "mutability"),
        ({"Operations": [{"op": "remove"}]}, "noTarget"),
        ({"Operations": [{"op": "replace", "path": 'emails[type eq "work"', "value": "x"}]},
         None),
    ]
    for body, scim_type in cases:
        body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], **body}
        _error(scim.patch(url, body), 400, scim_type)
    after = scim.get(url).get_json()
    assert after["displayName"] == "Before"
    assert after["meta"]["version"] == user["meta"]["version"]


def test_wrong_json_shape_for_patch_is_400(scim):
    user = make_user(scim, "shape@contoso.com")
    url = f"/scim/Users/{user['id']}"
    for body in ([], {"Operations": "nope"}, {"Operations": []}, {"Operations": [1]}):
        resp = scim.patch(url, body)
        _error(resp, 400)


def test_accept_header_is_never_a_reason_to_refuse(scim):
    for accept in ("text/html", "application/xml", "*/*", "application/json"):
        assert scim.get("/scim/Users", headers={"Accept": accept}).status_code == 200


def test_plain_application_json_is_accepted(scim):
    resp = scim.post("/scim/Users", {"userName": "plain@contoso.com"},
                     headers={"Content-Type": "application/json"})
    assert resp.status_code == 201


def test_empty_required_names_are_400(scim):
    for name in ("", "   "):
        _error(scim.post("/scim/Users", {"userName": name}), 400, "invalidValue")
        _error(scim.post("/scim/Groups", {"displayName": name}), 400, "invalidValue")
