"""What a PATCH may give as group members: objects `{"value": "<id>"}` (RFC 7643 §4.2,
RFC 7644 §3.5.2.1; Entra always sends objects, entra-provisioning.md §7), checked like the
`members` of a POST before the Groups service sees an id."""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.errors import InvalidPath, InvalidSyntax, InvalidValue
from scim_appliance.domain.protocol.member_ops import MemberOp
from scim_appliance.domain.protocol.schema import GROUP_TYPE

from .patching import ADELE, BABS, JAMES, WORK, fails, load, patch

GROUP = {"displayName": "Sales"}


def collected(*ops) -> list[MemberOp]:
    out: list = []
    patch(GROUP, *ops, rtype=GROUP_TYPE, member_ops=out)
    return out


@pytest.mark.parametrize("op", ["add", "Add", "replace", "Remove"])
@pytest.mark.parametrize("value", [[BABS], [{"value": BABS}, JAMES], BABS, [7], [[BABS]]])
def test_members_that_are_not_objects_are_invalid_value(op, value):
    fails(GROUP, [{"op": op, "path": "members", "value": value}], InvalidValue, "members",
          "object", rtype=GROUP_TYPE, member_ops=[])


@pytest.mark.parametrize("value", [[BABS], BABS])
def test_members_that_are_not_objects_are_refused_in_a_value_without_path(value):
    fails(GROUP, [{"op": "add", "value": {"members": value}}], InvalidValue, "members",
          "object", rtype=GROUP_TYPE, member_ops=[])


@pytest.mark.parametrize("value", [[BABS], BABS])
def test_members_that_are_not_objects_are_refused_without_member_ops(value):
    """The same refusal when `members` is applied to the document itself."""
    fails({"displayName": "Sales", "members": [{"value": JAMES}]},
          [{"op": "Remove", "path": "members", "value": value}], InvalidValue, "members",
          rtype=GROUP_TYPE)


def test_a_member_with_an_unknown_key_is_refused_as_in_a_post():
    fails(GROUP, [{"op": "add", "path": "members", "value": [{"value": BABS, "valeu": "x"}]}],
          InvalidSyntax, "valeu", rtype=GROUP_TYPE, member_ops=[])


@pytest.mark.parametrize("member", [{"value": 5}, {"value": ["a"]}, {"value": {"a": 1}}])
def test_a_member_value_that_is_not_a_string_is_refused(member):
    fails(GROUP, [{"op": "add", "path": "members", "value": [member]}], InvalidValue,
          "value", rtype=GROUP_TYPE, member_ops=[])


def test_entra_member_shapes_are_still_accepted():
    """`"$ref": null` and the legacy remove list (entra-provisioning.md §7)."""
    assert collected(*load("entra-group-add-members")["Operations"])[0].kind == "add"
    assert collected(*load("entra-legacy-group-remove-members")["Operations"]) == [
        MemberOp("remove", ["u1091"])]
    assert collected({"op": "add", "path": "members",
                      "value": [{"value": BABS, "display": "Babs", "type": "User",
                                 "$ref": f"https://x/Users/{BABS}"}]}) == [
        MemberOp("add", [BABS])]
    # A lone object (not in an array) is one member, as before.
    assert collected({"op": "add", "path": "members", "value": {"value": BABS}}) == [
        MemberOp("add", [BABS])]


@pytest.mark.parametrize("ops, error", [
    ([{"op": "add", "path": "members", "value": [{"value": "a\u0000b"}]}], InvalidValue),
    ([{"op": "remove", "path": 'members[value eq "a\u0000b"]'}], InvalidPath),
    ([{"op": "remove", "path": 'members[value eq "a\\u0000b"]'}], InvalidPath),
    ([{"op": "add", "path": "members", "value": [{"value": "x" * 513}]}], InvalidValue),
    ([{"op": "remove", "path": f'members[value eq "{"x" * 513}"]'}], InvalidValue),
])
def test_member_ids_that_cannot_exist_are_refused_before_any_look_up(ops, error):
    """A NUL cannot be stored (PostgreSQL text), raw or as a JSON escape inside the path's
    string, and ids are at most 512 characters."""
    fails(GROUP, ops, error, rtype=GROUP_TYPE, member_ops=[])


def test_ten_thousand_members_in_one_operation_are_accepted_one_more_refused():
    many = [{"value": f"m{i}"} for i in range(10_000)]
    assert len(collected({"op": "add", "path": "members", "value": many})[0].ids) == 10_000
    fails(GROUP, [{"op": "add", "path": "members", "value": [*many, {"value": "one-more"}]}],
          InvalidValue, "10,000", rtype=GROUP_TYPE, member_ops=[])


# -- the same class for the other multi-valued complex attributes ----------------------------
@pytest.mark.parametrize("value", [["w@x.com"], "w@x.com", [WORK, "h@x.com"]])
def test_a_legacy_remove_list_of_bare_strings_is_refused_for_any_complex_attribute(value):
    fails({**ADELE, "emails": [WORK]}, [{"op": "Remove", "path": "emails", "value": value}],
          InvalidValue, "emails", "object")


def test_a_legacy_remove_list_of_objects_still_removes_only_those():
    doc = {"userName": "u", "emails": [WORK, {"type": "home", "value": "h@x.com"}]}
    result = patch(doc, {"op": "Remove", "path": "emails", "value": [{"value": "W@X.COM"}]})
    assert result["emails"] == [{"type": "home", "value": "h@x.com"}]

