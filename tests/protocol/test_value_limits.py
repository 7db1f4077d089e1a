"""The documented maxima (README "Limits") for what a POST, PUT or PATCH may store: string
lengths per attribute, no NUL character anywhere (PostgreSQL text cannot hold one), and the
number of values of a multi-valued attribute. What Entra sends stays far inside them."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from scim_appliance.domain.protocol.errors import InvalidSyntax, InvalidValue
from scim_appliance.domain.protocol.patch import apply_patch
from scim_appliance.domain.protocol.schema import GROUP_TYPE, PATCH_OP, USER_TYPE
from scim_appliance.domain.protocol.validation import load_resource, validate_document

from .patching import ENT

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHORT, LONG, CERTIFICATE = 512, 2048, 16384
MAX_VALUES, MAX_MEMBERS = 100, 10_000

# (where in a User, how to put a string there, its maximum)
USER_STRINGS = [
    ("userName", lambda s: {"userName": s}, SHORT),
    ("displayName", lambda s: {"displayName": s}, SHORT),
    ("externalId", lambda s: {"externalId": s}, SHORT),
    ("nickName", lambda s: {"nickName": s}, SHORT),
    ("title", lambda s: {"title": s}, SHORT),
    ("userType", lambda s: {"userType": s}, SHORT),
    ("preferredLanguage", lambda s: {"preferredLanguage": s}, SHORT),
    ("locale", lambda s: {"locale": s}, SHORT),
    ("timezone", lambda s: {"timezone": s}, SHORT),
    ("name.givenName", lambda s: {"name": {"givenName": s}}, SHORT),
    ("name.formatted", lambda s: {"name": {"formatted": s}}, SHORT),
    ("emails.value", lambda s: {"emails": [{"value": s}]}, SHORT),
    ("emails.type", lambda s: {"emails": [{"value": "a@x", "type": s}]}, SHORT),
    ("emails.display", lambda s: {"emails": [{"value": "a@x", "display": s}]}, SHORT),
    ("phoneNumbers.value", lambda s: {"phoneNumbers": [{"value": s}]}, SHORT),
    ("roles.value", lambda s: {"roles": [{"value": s}]}, SHORT),
    (f"{ENT}:department", lambda s: {ENT: {"department": s}}, SHORT),
    (f"{ENT}:employeeNumber", lambda s: {ENT: {"employeeNumber": s}}, SHORT),
    (f"{ENT}:manager.value", lambda s: {ENT: {"manager": {"value": s}}}, SHORT),
    ("addresses.streetAddress", lambda s: {"addresses": [{"streetAddress": s}]}, LONG),
    ("addresses.formatted", lambda s: {"addresses": [{"formatted": s}]}, LONG),
    ("addresses.locality", lambda s: {"addresses": [{"locality": s}]}, LONG),
    ("profileUrl", lambda s: {"profileUrl": s}, LONG),
    ("photos.value", lambda s: {"photos": [{"value": s}]}, LONG),
    (f"{ENT}:manager.$ref", lambda s: {ENT: {"manager": {"value": "m", "$ref": s}}}, LONG),
    ("password", lambda s: {"password": s}, LONG),
    ("x509Certificates.value", lambda s: {"x509Certificates": [{"value": s}]}, CERTIFICATE),
]


def user(**extra) -> dict:
    return {"userName": "adele@contoso.com", **extra}


def with_string(put, text: str) -> dict:
    body = put(text)
    body.setdefault("userName", "adele@contoso.com")
    return body


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("where, put, maximum", USER_STRINGS, ids=[w for w, *_ in USER_STRINGS])
def test_a_string_at_its_maximum_is_kept_exactly(where, put, maximum):
    text = "é" * (maximum - 1) + "😀"  # counted in characters, not bytes or UTF-16 units
    doc = load_resource(with_string(put, text), USER_TYPE)
    assert text in json.dumps(doc, ensure_ascii=False)


@pytest.mark.parametrize("where, put, maximum", USER_STRINGS, ids=[w for w, *_ in USER_STRINGS])
def test_a_string_beyond_its_maximum_is_invalid_value_naming_attribute_and_figure(
        where, put, maximum):
    with pytest.raises(InvalidValue) as info:
        load_resource(with_string(put, "a" * (maximum + 1)), USER_TYPE)
    detail = info.value.detail
    assert where.rsplit(":", 1)[-1].split(".")[0] in detail and f"{maximum:,}" in detail
    assert len(detail) < 400  # the value itself is not echoed


@pytest.mark.parametrize("where, put, maximum", USER_STRINGS, ids=[w for w, *_ in USER_STRINGS])
def test_a_nul_character_is_refused_in_any_string(where, put, maximum):
    with pytest.raises(InvalidValue) as info:
        load_resource(with_string(put, "a\u0000b"), USER_TYPE)
    assert "NUL" in info.value.detail


def test_group_strings_and_member_ids_have_maxima_too():
    load_resource({"displayName": "g" * SHORT, "externalId": "e" * SHORT,
                   "members": [{"value": "m" * SHORT}]}, GROUP_TYPE)
    for body in ({"displayName": "g" * (SHORT + 1)},
                 {"displayName": "G", "externalId": "e" * (SHORT + 1)},
                 {"displayName": "G", "members": [{"value": "m" * (SHORT + 1)}]},
                 {"displayName": "G\u0000"},
                 {"displayName": "G", "members": [{"value": "a\u0000"}]}):
        with pytest.raises(InvalidValue):
            load_resource(body, GROUP_TYPE)


def test_a_multi_valued_attribute_holds_at_most_100_values():
    emails = [{"value": f"{i}@x.com"} for i in range(MAX_VALUES)]
    assert len(load_resource(user(emails=emails), USER_TYPE)["emails"]) == MAX_VALUES
    with pytest.raises(InvalidValue) as info:
        load_resource(user(emails=[*emails, {"value": "one@more.com"}]), USER_TYPE)
    assert "emails" in info.value.detail and f"{MAX_VALUES:,}" in info.value.detail


def test_an_oversized_list_is_refused_before_its_elements_are_read():
    """Only the count is reported, not thousands of element errors."""
    with pytest.raises(InvalidValue) as info:
        load_resource(user(roles=[5] * 100_000), USER_TYPE)
    assert f"{MAX_VALUES:,}" in info.value.detail and len(info.value.detail) < 400


def test_a_group_holds_at_most_10000_members_per_request():
    members = [{"value": f"m{i}"} for i in range(MAX_MEMBERS)]
    assert len(load_resource({"displayName": "G", "members": members},
                             GROUP_TYPE)["members"]) == MAX_MEMBERS
    with pytest.raises(InvalidValue) as info:
        load_resource({"displayName": "G", "members": [*members, {"value": "x"}]}, GROUP_TYPE)
    assert f"{MAX_MEMBERS:,}" in info.value.detail


def test_the_schemas_list_is_bounded():
    with pytest.raises(InvalidValue):
        load_resource(user(schemas=["urn:ietf:params:scim:schemas:core:2.0:User"] * 1000),
                      USER_TYPE)


def test_a_patch_cannot_store_what_a_post_refuses():
    doc = load_resource(user(), USER_TYPE)
    for ops in ([{"op": "replace", "path": "displayName", "value": "d" * (SHORT + 1)}],
                [{"op": "replace", "value": {"name.givenName": "g\u0000"}}],
                [{"op": "add", "path": 'emails[type eq "work"].value', "value": "e" * 513}],
                [{"op": "add", "path": "emails",
                  "value": [{"value": f"{i}@x"} for i in range(MAX_VALUES + 1)]}]):
        with pytest.raises(InvalidValue):
            patched = apply_patch(doc, {"schemas": [PATCH_OP], "Operations": ops}, USER_TYPE)
            validate_document(patched, USER_TYPE)


def test_patch_adds_cannot_grow_a_list_past_its_maximum_one_operation_at_a_time():
    """Each add appends; the bound holds while operations are applied, not only at the end."""
    doc = load_resource(user(), USER_TYPE)
    ops = [{"op": "add", "path": "emails", "value": [{"value": f"{i}@x"}]}
           for i in range(MAX_VALUES + 1)]
    with pytest.raises(InvalidValue) as info:
        apply_patch(doc, {"schemas": [PATCH_OP], "Operations": ops}, USER_TYPE)
    assert f"Operations[{MAX_VALUES}]" in info.value.detail


@pytest.mark.parametrize("name", ["entra-create-user.json", "entra-create-group.json"])
def test_entra_payloads_are_well_inside_the_limits(name):
    body = fixture(name)
    rtype = USER_TYPE if "user" in name else GROUP_TYPE
    assert load_resource(copy.deepcopy(body), rtype)


def test_entra_sized_values_pass():
    """Entra's own maxima (Microsoft Graph user resource): displayName 256, UPN 113 (64 +
    @ + 48), streetAddress 1024; Join() mappings may combine a few of them."""
    body = user(userName=f"{'u' * 64}@{'d' * 48}", displayName="D" * 256,
                name={"formatted": "G" * 64 + " " + "S" * 64},
                addresses=[{"type": "work", "streetAddress": "s" * 1024,
                            "formatted": "f" * 1024 + ", " + "c" * 128}])
    assert load_resource(body, USER_TYPE)["displayName"] == "D" * 256


def test_names_echoed_in_an_error_are_cut_short_and_their_control_characters_escaped():
    """An unknown attribute's name is outside text: the detail reaches Entra's logs, the
    provisioning log and the failure email."""
    name = "x\u202e\r\nWhat to do: run this\u0007" + "y" * 10_000
    with pytest.raises(InvalidSyntax) as info:
        load_resource(user(**{name: 1}), USER_TYPE)
    detail = info.value.detail
    assert "x\\u202e\\u000d\\u000aWhat to do" in detail
    assert not any(c in detail for c in "\u202e\r\n\u0007") and len(detail) < 400
