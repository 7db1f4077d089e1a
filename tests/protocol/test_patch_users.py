"""PATCH semantics (RFC 7644 §3.5.2) in both Entra ID dialects (docs/entra-provisioning.md).

Payload fixtures in tests/fixtures/ are named by source: `entra-legacy-*` (default
dialect), `entra-aadOptscim062020-*` (flagged tenants), `rfc7644-<section>-*` (RFC
examples), `microsoft-*` / `refcode-*` (Microsoft's validator and reference suite).
"""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scim_appliance.domain.protocol.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from scim_appliance.domain.protocol.patch import apply_operations, apply_patch
from scim_appliance.domain.protocol.schema import GROUP_TYPE, PATCH_OP, USER_TYPE

from .patching import (
    ADELE,
    CORE,
    ENT,
    GROUP_WITH_MEMBERS,
    HOME,
    MGR,
    WORK,
    body,
    fails,
    load,
    patch,
    with_,
)


# -- Entra payloads ----------------------------------------------------------------------
def test_entra_legacy_replace_attributes():
    result = apply_patch(ADELE, load("entra-legacy-replace-attributes"), USER_TYPE)
    assert result == with_(
        ADELE,
        displayName="Pvlo",
        emails=[{"primary": True, "type": "work", "value": "pvlo@contoso.com"}],
        name={"formatted": "Adele Vance", "familyName": "Pkqf", "givenName": "Gtfd"},
        externalId="Eqpj",
        **{ENT: {"employeeNumber": "Eqpj", "department": "Retail"}},
    )


def test_entra_aadoptscim062020_no_path_replace_splits_dotted_and_urn_keys():
    result = apply_patch(ADELE, load("entra-aadOptscim062020-no-path"), USER_TYPE)
    assert result == with_(
        ADELE,
        displayName="Bjfe",
        emails=[{"primary": True, "type": "work", "value": "bjfe@contoso.com"}],
        name={"formatted": "Adele Vance", "familyName": "Unua", "givenName": "Kkom"},
        **{ENT: {"employeeNumber": "Aklq", "department": "Retail"}},
    )
    assert not [k for k in result if "." in k and not k.startswith("urn:")]
    assert f"{ENT}:employeeNumber" not in result


def test_entra_aadoptscim062020_no_path_add():
    result = apply_patch(ADELE, load("entra-aadOptscim062020-no-path-add"), USER_TYPE)
    assert result == with_(
        ADELE,
        title="Store Lead",
        name={"formatted": "Adele V.", "familyName": "Vance", "givenName": "Adele"},
        **{ENT: {"employeeNumber": "1001", "department": "Sales",
                 "manager": {"value": "c3d4e5f6-manager"}}},
    )


def test_entra_add_on_filter_path_without_match_creates_the_entry():
    """docs/entra-provisioning.md §6.4(c): validator "Patch User - Add Attributes"."""
    doc = {"userName": "u", "emails": [{"type": "home", "value": "u@home.example"}]}
    result = apply_patch(doc, load("entra-legacy-add-work-email-no-match"), USER_TYPE)
    assert result["emails"] == [{"type": "home", "value": "u@home.example"},
                                {"type": "work", "value": "x@contoso.com"}]

    doc = {"userName": "u", "addresses": [{"type": "home", "locality": "Bonn"}]}
    result = apply_patch(doc, load("entra-legacy-add-work-address-formatted"), USER_TYPE)
    assert result["addresses"] == [{"type": "home", "locality": "Bonn"},
                                   {"type": "work", "formatted": "18/2111"}]


def test_entra_legacy_mixed_ops():
    result = apply_patch(ADELE, load("entra-legacy-mixed-ops"), USER_TYPE)
    assert result["emails"] == [{"primary": True, "type": "work", "value": "adele@contoso.com"}]
    assert result["addresses"][0]["formatted"] == "Bldg 18"
    assert result["addresses"][0]["locality"] == "Redmond"
    assert result[ENT] == {"employeeNumber": "1001", "department": "Finance"}


def test_entra_single_valued_add_and_username_change():
    result = apply_patch(ADELE, load("entra-legacy-add-nickname"), USER_TYPE)
    assert result == with_(ADELE, nickName="Babs")
    result = apply_patch(ADELE, load("entra-legacy-replace-username"), USER_TYPE)
    assert result == with_(ADELE, userName="adele.v@contoso.com")


@pytest.mark.parametrize("fixture, expected", [
    ("entra-legacy-disable-user", "False"),
    ("entra-legacy-enable-user", "True"),
    ("entra-lowercase-string-disable-user", "false"),
    ("entra-aadOptscim062020-disable-user", False),
    ("entra-tutorial-disable-user", False),
])
def test_active_values_are_passed_through_for_the_caller_to_coerce(fixture, expected):
    """§6.4(e): the caller turns "False"/"false" into a JSON boolean after patching."""
    result = apply_patch(ADELE, load(fixture), USER_TYPE)
    assert result == with_(ADELE, active=expected)
    assert type(result["active"]) is type(expected)


def test_microsoft_null_update_clears_attributes():
    """SCIM_Null_Update_Test: PATCH with "" and null must clear attributes."""
    result = apply_patch(ADELE, load("microsoft-null-update"), USER_TYPE)
    assert result == with_(
        ADELE,
        title=None,
        preferredLanguage=None,
        displayName=None,
        name={"formatted": "Adele Vance", "familyName": "Vance"},
        phoneNumbers=[{"type": "work", "value": "+1 425 555 0100"},
                      {"type": "mobile", "value": "+1 425 555 0101"}],
        **{ENT: {"employeeNumber": "1001"}},
    )


# -- manager (§6.4(d)) -------------------------------------------------------------------
MANAGER_CASES = [
    ("add bare string", {"userName": "u"}, load("entra-manager-add-string"),
     {"userName": "u", ENT: {"manager": {"value": MGR}}}),
    ("replace bare string drops stale $ref",
     {ENT: {"manager": {"value": MGR, "$ref": f"../Users/{MGR}"}}},
     load("entra-manager-replace-string"),
     {ENT: {"manager": {"value": "9a8b7c6d-0000-4000-8000-000000000001"}}}),
    ("replace with empty string removes", {ENT: {"department": "D", "manager": {"value": MGR}}},
     load("entra-manager-remove-empty-string"), {ENT: {"department": "D"}}),
    ("replace with null removes, empty extension dropped",
     {"userName": "u", ENT: {"manager": {"value": MGR}}},
     body({"op": "Replace", "path": f"{ENT}:manager", "value": None}), {"userName": "u"}),
    ("object value kept as is", {},
     body({"op": "add", "path": f"{ENT}:manager", "value": {"value": MGR}}),
     {ENT: {"manager": {"value": MGR}}}),
    ("legacy Example 5: unqualified path, array value", {"userName": "u"},
     load("entra-legacy-manager-example5"),
     {"userName": "u", ENT: {"manager": {"$ref": f"http://example.com/Users/{MGR}",
                                         "value": MGR}}}),
    ("manager.value with a string", {},
     body({"op": "Replace", "path": f"{ENT}:manager.value", "value": MGR}),
     {ENT: {"manager": {"value": MGR}}}),
    ("unqualified manager.value", {ENT: {"manager": {"value": "old", "$ref": "x"}}},
     body({"op": "Replace", "path": "Manager.Value", "value": MGR}),
     {ENT: {"manager": {"value": MGR}}}),
    ("remove unqualified manager", {ENT: {"department": "D", "manager": {"value": MGR}}},
     body({"op": "Remove", "path": "manager"}), {ENT: {"department": "D"}}),
    ("no-path URN key with empty string removes", {ENT: {"manager": {"value": MGR}}},
     body({"op": "replace", "value": {f"{ENT}:manager": ""}}), {}),
]


@pytest.mark.parametrize("doc, message, expected",
                         [c[1:] for c in MANAGER_CASES], ids=[c[0] for c in MANAGER_CASES])
def test_manager(doc, message, expected):
    assert apply_patch(doc, message, USER_TYPE) == expected


def test_manager_is_not_a_group_attribute():
    fails({"displayName": "g"}, [{"op": "add", "path": "manager", "value": MGR}],
          InvalidPath, "manager", rtype=GROUP_TYPE)


# -- message structure and op names ------------------------------------------------------
@pytest.mark.parametrize("name", ["add", "Add", "ADD", "aDd"])
def test_add_op_name_is_case_insensitive(name):
    assert patch({}, {"op": name, "path": "nickName", "value": "Babs"}) == {"nickName": "Babs"}


@pytest.mark.parametrize("name", ["replace", "Replace", "REPLACE"])
def test_replace_op_name_is_case_insensitive(name):
    assert patch({"title": "a"}, {"op": name, "path": "title", "value": "b"}) == {"title": "b"}


@pytest.mark.parametrize("name", ["remove", "Remove", "REMOVE"])
def test_remove_op_name_is_case_insensitive(name):
    assert patch({"title": "a", "nickName": "n"}, {"op": name, "path": "title"}) == \
        {"nickName": "n"}


@pytest.mark.parametrize("name", ["move", "copy", ""])  # None, 3: test_patch_operations.py
def test_unknown_op_is_invalid_syntax_naming_it(name):
    error = fails({}, [{"op": name, "path": "title", "value": "x"}], InvalidSyntax,
                  "Operations[0]", repr(name))
    assert error.scim_type == "invalidSyntax" and error.status == 400


def test_missing_op_is_invalid_syntax():
    fails({}, [{"path": "title", "value": "x"}], InvalidSyntax, "Operations[0]")


@pytest.mark.parametrize("message, fragment", [
    ({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
      "Operations": [{"op": "add", "path": "title", "value": "x"}]}, "PatchOp"),
    ({"schemas": [PATCH_OP]}, "Operations"),
    ({"schemas": [PATCH_OP], "Operations": []}, "non-empty"),
    ({"schemas": [PATCH_OP], "Operations": {"op": "add"}}, "non-empty"),
    ({"schemas": [PATCH_OP], "Operations": ["add"]}, "Operations[0]"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": 5, "value": "x"}]}, "path"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "title"}]}, "value"),
    ({"schemas": [PATCH_OP], "Operations": [{"op": "replace"}]}, "value"),
    (["not", "an", "object"], "JSON object"),
])
def test_malformed_message_is_invalid_syntax(message, fragment):
    doc = {"title": "t"}
    with pytest.raises(InvalidSyntax) as info:
        apply_patch(doc, message, USER_TYPE)
    assert fragment in info.value.detail
    assert doc == {"title": "t"}


def test_missing_schemas_is_tolerated_and_operations_key_is_case_insensitive():
    message = {"operations": [{"op": "add", "path": "title", "value": "x"}]}
    assert apply_patch({}, message, USER_TYPE) == {"title": "x"}
    message = {"SCHEMAS": [PATCH_OP.upper()],
               "Operations": [{"op": "add", "path": "title", "value": "x"}]}
    assert apply_patch({}, message, USER_TYPE) == {"title": "x"}


def test_apply_operations_takes_the_operations_list():
    result = apply_operations({"title": "a"}, [{"op": "Replace", "path": "title", "value": "b"}],
                              USER_TYPE)
    assert result == {"title": "b"}


def test_blank_path_counts_as_no_path():
    assert patch({}, {"op": "add", "path": " ", "value": {"title": "x"}}) == {"title": "x"}


# -- RFC 7644 examples on users ----------------------------------------------------------
def test_rfc7644_add_without_path():
    doc = {"userName": "bjensen", "emails": [{"value": "bjensen@example.com", "type": "work"}]}
    result = apply_patch(doc, load("rfc7644-3.5.2.1-add-no-path"), USER_TYPE)
    assert result == {"userName": "bjensen", "nickName": "Babs",
                      "emails": [{"value": "bjensen@example.com", "type": "work"},
                                 {"value": "babs@jensen.org", "type": "home"}]}


def test_rfc7644_replace_without_path():
    doc = {"userName": "bjensen", "emails": [{"value": "old@example.com", "type": "work"}]}
    result = apply_patch(doc, load("rfc7644-3.5.2.3-replace-no-path"), USER_TYPE)
    assert result == {"userName": "bjensen", "nickName": "Babs",
                      "emails": [{"value": "bjensen@example.com", "type": "work",
                                  "primary": True},
                                 {"value": "babs@jensen.org", "type": "home"}]}


def test_rfc7644_replace_work_address():
    doc = {"addresses": [{"type": "work", "streetAddress": "1 Old St", "locality": "X"},
                         {"type": "home", "locality": "Y", "primary": True}]}
    result = apply_patch(doc, load("rfc7644-3.5.2.3-replace-work-address"), USER_TYPE)
    assert result == {"addresses": [
        {"type": "work", "streetAddress": "911 Universal City Plaza", "locality": "Hollywood",
         "region": "CA", "postalCode": "91608", "country": "US",
         "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US", "primary": True},
        {"type": "home", "locality": "Y", "primary": False}]}


def test_rfc7644_replace_street_address():
    doc = {"addresses": [{"type": "work", "streetAddress": "1 Old St"}]}
    result = apply_patch(doc, load("rfc7644-3.5.2.3-replace-street-address"), USER_TYPE)
    assert result == {"addresses": [{"type": "work", "streetAddress": "1010 Broadway Ave"}]}


def test_values_are_stored_exactly_as_sent():
    """§1.6: no reformatting, or Entra sees a diff every cycle."""
    result = patch({}, {"op": "add", "path": 'phoneNumbers[type eq "work"].value',
                        "value": " +1 (425) 555-0100 "},
                   {"op": "add", "path": "emails", "value": [{"value": "Adele@Contoso.COM"}]})
    assert result == {"phoneNumbers": [{"type": "work", "value": " +1 (425) 555-0100 "}],
                      "emails": [{"value": "Adele@Contoso.COM"}]}


# -- errors --------------------------------------------------------------------------------
def test_remove_without_path_is_no_target():
    error = fails(ADELE, [{"op": "Remove", "value": {"title": "x"}}], NoTarget, "Operations[0]",
                  "path")
    assert error.scim_type == "noTarget"


@pytest.mark.parametrize("doc, path, value", [
    ({"emails": [HOME]}, 'emails[value co "zzz"].display', "d"),
    ({"emails": [HOME]}, 'emails[type eq "work" or type eq "other"].value', "v"),
    ({"emails": [WORK]}, 'emails[not (type eq "work")].value', "v"),
    ({}, 'emails[type ne "work"]', {"value": "v"}),
    ({}, 'emails[value pr]', {"value": "v"}),
])
@pytest.mark.parametrize("op", ["add", "replace"])
def test_filtered_set_without_match_and_without_plain_eq_is_no_target(doc, path, value, op):
    fails(doc, [{"op": op, "path": path, "value": value}], NoTarget, path, "eq")


@pytest.mark.parametrize("value", ["a string", ["a", "list"], 5, True])
def test_no_path_value_must_be_an_object(value):
    fails({}, [{"op": "replace", "value": value}], InvalidValue, "Operations[0]", "object")


@pytest.mark.parametrize("path, value", [
    ("name", "just a string"),
    ("name", ["a"]),
    ("emails", ["a@x.com"]),
    ('emails[type eq "work"]', "a@x.com"),
    (ENT, "not an object"),
])
def test_non_object_value_for_complex_is_invalid_value(path, value):
    fails({}, [{"op": "add", "path": path, "value": value}], InvalidValue, path)


@pytest.mark.parametrize("path", [
    "id", "ID", "meta", "meta.created", "meta.lastModified", "groups",
    'groups[value eq "g1"]', f"{ENT}:manager.displayName", "manager.displayName",
    f"{CORE}:id", "schemas",
])
@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_read_only_targets_are_mutability_errors(path, op):
    error = fails({"emails": [WORK], ENT: {"manager": {"value": MGR}}},
                  [{"op": op, "path": path, "value": "x"}], Mutability, path)
    assert error.scim_type == "mutability" and error.status == 400


@pytest.mark.parametrize("key", ["id", "meta", "groups"])  # schemas: test_patch_extensions.py
def test_read_only_no_path_keys_are_mutability_errors(key):
    fails({}, [{"op": "replace", "value": {"title": "t", key: "x"}}], Mutability)


def test_read_only_sub_attributes_in_a_value_are_ignored():
    """RFC 7643 §2.2: readOnly values supplied by the client are not stored."""
    result = patch({}, {"op": "add", "path": f"{ENT}:manager",
                        "value": {"value": MGR, "displayName": "The Boss"}})
    assert result == {ENT: {"manager": {"value": MGR}}}


@pytest.mark.parametrize("path, fragment", [
    ("foo", "unknown attribute 'foo'"),
    ("name.foo", "foo"),
    ("emails.foo", "foo"),
    ('emails[foo eq "x"]', "foo"),
    ('emails[type eq "work"].foo', "foo"),
    ("urn:example:unknown:2.0:User:foo", "unknown schema"),
    ("urn:example:unknown:2.0:User", "unknown schema"),
    (f"{ENT}:foo", "foo"),
    (CORE, "core schema"),
    ('name[givenName eq "x"]', "single-valued"),
    ('emails[type eq "work"', "]"),
    ("title.value", "title"),
])
def test_unknown_or_malformed_paths_are_invalid_path(path, fragment):
    error = fails({"name": {"givenName": "x"}},
                  [{"op": "replace", "path": path, "value": "v"}], InvalidPath, fragment)
    assert error.scim_type == "invalidPath" and "Operations[0]" in error.detail


@pytest.mark.parametrize("key", ["foo", "name.foo", f"{ENT}:foo", "urn:example:x:2.0:User:a"])
def test_unknown_no_path_keys_are_invalid_path(key):
    error = fails({}, [{"op": "add", "value": {"title": "t", key: "v"}}], InvalidPath,
                  f"'{key}'")
    if key == "foo":
        assert "unknown attribute 'foo'" in error.detail


def test_failing_request_is_atomic_and_names_the_operation():
    doc = copy.deepcopy(ADELE)
    error = fails(doc, [
        {"op": "Replace", "path": "displayName", "value": "Changed"},
        {"op": "Remove", "path": 'emails[type eq "work"]'},
        {"op": "Replace", "path": "nosuch", "value": "x"},
    ], InvalidPath, "Operations[2]", "replace", "nosuch")
    assert "Operations[0]" not in error.detail
    assert doc == ADELE


# -- robustness ---------------------------------------------------------------------------
PATHS = [None, "title", "name", "name.givenName", "emails", 'emails[type eq "work"]',
         'emails[type eq "work"].value', "emails.primary", f"{ENT}:manager", "manager",
         f"{ENT}:manager.value", ENT, "addresses", 'addresses[type eq "work"].locality',
         "active", "id", "foo", 'emails[value co "a"].display', "members"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from(["", "a", "work", "True"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(["value", "type", "primary", "givenName", "title",
                                       "name.givenName", "display", "x"]), inner, max_size=3),
    max_leaves=6,
)
OPERATION = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Replace", "remove", "bogus"]), "value": JSON},
    optional={"path": st.sampled_from(PATHS)},
)


@settings(max_examples=300, deadline=None)
@given(st.lists(OPERATION, min_size=1, max_size=4), st.booleans())
def test_any_operations_either_apply_or_raise_a_scim_error(ops, as_group):
    base, rtype = (GROUP_WITH_MEMBERS, GROUP_TYPE) if as_group else (ADELE, USER_TYPE)
    doc = copy.deepcopy(base)
    member_ops: list = []
    try:
        apply_patch(doc, body(*ops), rtype, member_ops=member_ops if as_group else None)
    except ScimError:
        assert member_ops == []
    assert doc == base
    assert all(op.kind in ("add", "remove", "remove_all", "replace") for op in member_ops)
