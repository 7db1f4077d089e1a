"""PATCH behaviour that mutation testing (`make mutation`) found unpinned.

Each test states one rule of RFC 7644 §3.5.2 / RFC 7643 §2.4 or one Entra accommodation
that a surviving mutant of domain/protocol/patch.py broke without any test noticing.
"""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.errors import InvalidPath, Mutability, NoTarget
from scim_appliance.domain.protocol.schema import GROUP_TYPE, PATCH_OP

from .patching import CORE, ENT, MGR, fails, patch

PRIMARY_WORK = {"type": "work", "value": "w@x.com", "primary": True}
OTHER_MGR = "5d2e8c55-3a7f-4f5e-9f57-0e3f3a5f0b11"
REF = f"https://scim.example/Users/{MGR}"


# -- multi-valued add: what counts as "already present" (RFC 7644 §3.5.2.1) -----------------
def test_adding_a_non_primary_email_keeps_the_existing_primary():
    home = {"type": "home", "value": "h@x.com"}
    result = patch({"emails": [PRIMARY_WORK]},
                   {"op": "add", "path": "emails", "value": [home]})
    assert result["emails"] == [PRIMARY_WORK, home]


def test_an_email_with_the_same_value_but_another_type_is_a_second_element():
    """Only elements whose `value` is immutable (members) are identified by it alone."""
    home = {"type": "home", "value": "w@x.com"}
    result = patch({"emails": [PRIMARY_WORK]},
                   {"op": "add", "path": "emails", "value": [home]})
    assert result["emails"] == [PRIMARY_WORK, home]


def test_a_second_address_without_value_is_added_next_to_the_first():
    work = {"type": "work", "streetAddress": "1 Main St"}
    home = {"type": "home", "streetAddress": "2 Side St"}
    result = patch({"addresses": [work]}, {"op": "add", "path": "addresses", "value": [home]})
    assert result["addresses"] == [work, home]
    again = patch(result, {"op": "add", "path": "addresses", "value": [dict(home)]})
    assert again["addresses"] == [work, home]


def test_member_ids_that_differ_only_in_case_are_different_members():
    """members.value is caseExact (an id), so `ABC` is not a duplicate of `abc`."""
    group = {"displayName": "G", "members": [{"value": "abc"}]}
    added = patch(group, {"op": "add", "path": "members", "value": [{"value": "ABC"}]},
                  rtype=GROUP_TYPE)
    assert added["members"] == [{"value": "abc"}, {"value": "ABC"}]
    removed = patch(added, {"op": "remove", "path": "members", "value": [{"value": "ABC"}]},
                    rtype=GROUP_TYPE)
    assert removed["members"] == [{"value": "abc"}]


def test_unknown_sub_attributes_of_a_new_element_are_kept_for_validation():
    """patch.py keeps unknown keys so the caller's validation can name them."""
    result = patch({}, {"op": "add", "path": "emails", "value": [{"value": "a@x", "bogus": "b"}]})
    assert result["emails"] == [{"value": "a@x", "bogus": "b"}]


# -- legacy remove with a value (Entra): which elements it designates ------------------
def test_legacy_remove_of_a_whole_element_by_equality():
    work = {"type": "work", "streetAddress": "1 Main St"}
    home = {"type": "home", "streetAddress": "2 Side St"}
    result = patch({"addresses": [work, home]},
                   {"op": "remove", "path": "addresses", "value": [dict(home)]})
    assert result["addresses"] == [work]
    unchanged = patch({"addresses": [work, home]},
                      {"op": "remove", "path": "addresses",
                       "value": [{"type": "home", "streetAddress": "elsewhere"}]})
    assert unchanged["addresses"] == [work, home]


def test_legacy_remove_with_a_single_object_value_removes_only_that_element():
    home = {"type": "home", "value": "h@x.com"}
    result = patch({"emails": [PRIMARY_WORK, home]},
                   {"op": "remove", "path": "emails", "value": {"value": "H@X.com"}})
    assert result["emails"] == [PRIMARY_WORK]


def test_remove_of_a_filtered_element_ignores_a_value_sent_with_it():
    home = {"type": "home", "value": "h@x.com"}
    result = patch({"emails": [PRIMARY_WORK, home]},
                   {"op": "remove", "path": 'emails[type eq "home"]', "value": {"display": "x"}})
    assert result["emails"] == [PRIMARY_WORK]


def test_remove_of_a_sub_attribute_ignores_a_value_sent_with_it():
    result = patch({"name": {"givenName": "G", "familyName": "F"}},
                   {"op": "remove", "path": "name.givenName", "value": "ignored"})
    assert result["name"] == {"familyName": "F"}
    manager = patch({ENT: {"manager": {"value": MGR, "$ref": REF}}},
                    {"op": "remove", "path": f"{ENT}:manager.value", "value": OTHER_MGR})
    assert manager[ENT] == {"manager": {"$ref": REF}}


def test_remove_of_the_extension_urn_ignores_a_value_sent_with_it():
    result = patch({"userName": "u", ENT: {"department": "D"}},
                   {"op": "remove", "path": ENT, "value": {"costCenter": "C"}})
    assert result == {"userName": "u"}


def test_replace_of_the_extension_urn_with_null_clears_it():
    result = patch({"userName": "u", ENT: {"department": "D"}},
                   {"op": "replace", "path": ENT, "value": None})
    assert result == {"userName": "u"}


# -- filtered add that must create an element (RFC 7644 §3.5.2.3; Entra §6.4(c)) ----------
def test_a_filter_mixing_eq_and_another_operator_cannot_describe_a_new_element():
    fails({}, [{"op": "add", "path": 'emails[type eq "work" and value co "x"].display',
                "value": "d"}], NoTarget)
    fails({}, [{"op": "add", "path": 'emails[value co "x" and type eq "work"].display',
                "value": "d"}], NoTarget)


def test_contradicting_eq_terms_cannot_describe_a_new_element():
    fails({}, [{"op": "add", "path": 'emails[type eq "work" and type eq "home"].value',
                "value": "v"}], NoTarget)
    agreeing = patch({}, {"op": "add", "path": 'emails[type eq "work" and type eq "work"].value',
                          "value": "v"})
    assert agreeing["emails"] == [{"type": "work", "value": "v"}]


# -- required attributes (RFC 7644 §3.5.2.2: unassigning one is a mutability fault) ------
@pytest.mark.parametrize("operation", [
    {"op": "remove", "path": "userName"},
    {"op": "remove", "path": "userName", "value": "u"},
    {"op": "replace", "path": "userName", "value": None},
    {"op": "replace", "path": "userName", "value": ""},
    {"op": "add", "path": "userName", "value": ""},
], ids=["remove", "remove with value", "replace null", "replace empty", "add empty"])
def test_a_required_attribute_cannot_be_unassigned(operation):
    fails({"userName": "u"}, [operation], Mutability)


def test_a_required_attribute_can_be_replaced():
    assert patch({"userName": "u"}, {"op": "replace", "path": "userName", "value": "v"}) == \
        {"userName": "v"}


# -- references: manager (RFC 7643 §4.3; Entra sends a bare id) ---------------------------
def test_replacing_manager_value_with_the_same_id_keeps_its_ref():
    doc = {ENT: {"manager": {"value": MGR, "$ref": REF}}}
    same = patch(doc, {"op": "replace", "path": f"{ENT}:manager.value", "value": MGR})
    assert same[ENT]["manager"] == {"value": MGR, "$ref": REF}
    as_object = patch(doc, {"op": "replace", "path": f"{ENT}:manager", "value": {"value": MGR}})
    assert as_object[ENT]["manager"] == {"value": MGR, "$ref": REF}
    elsewhere = patch(doc, {"op": "replace", "path": f"{ENT}:manager.value", "value": OTHER_MGR})
    assert elsewhere[ENT]["manager"] == {"value": OTHER_MGR}


def test_replacing_only_the_manager_ref_keeps_its_value():
    doc = {ENT: {"manager": {"value": MGR, "$ref": REF}}}
    result = patch(doc, {"op": "replace", "path": f"{ENT}:manager", "value": {"$ref": "r2"}})
    assert result[ENT]["manager"] == {"value": MGR, "$ref": "r2"}


def test_replacing_manager_with_an_empty_array_clears_it():
    doc = {"userName": "u", ENT: {"manager": {"value": MGR}}}
    assert patch(doc, {"op": "replace", "path": "manager", "value": []}) == {"userName": "u"}


# -- paths --------------------------------------------------------------------------------
def test_only_manager_is_looked_up_in_the_extension_when_unqualified():
    """RFC 7644 §3.10: unqualified names are core; `manager` is Entra's one exception."""
    fails({}, [{"op": "add", "path": "department", "value": "D"}], InvalidPath)


def test_no_path_replace_with_a_core_urn_object_replaces_lists():
    result = patch({"emails": [PRIMARY_WORK]},
                   {"op": "replace", "value": {CORE: {"emails": [{"value": "n@x.com"}]}}})
    assert result["emails"] == [{"value": "n@x.com"}]


def test_schemas_may_be_a_single_string():
    from scim_appliance.domain.protocol.patch import apply_patch
    from scim_appliance.domain.protocol.schema import USER_TYPE

    result = apply_patch({}, {"schemas": PATCH_OP,
                              "Operations": [{"op": "add", "path": "title", "value": "t"}]},
                         USER_TYPE)
    assert result == {"title": "t"}
