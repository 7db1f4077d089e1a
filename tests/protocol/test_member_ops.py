"""Group `members` in PATCH: the MemberOps handed to the Groups service (member_ops.py),
and `members` as a plain attribute when no one collects them (RFC 7644 §3.5.2,
entra-provisioning.md §7).
"""

from __future__ import annotations

import copy
import dataclasses

import pytest

from scim_appliance.domain.protocol.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
    ScimError,
)
from scim_appliance.domain.protocol.member_ops import MemberOp
from scim_appliance.domain.protocol.patch import apply_patch
from scim_appliance.domain.protocol.schema import GROUP_TYPE

from .patching import BABS, GROUP_WITH_MEMBERS, JAMES, OTHER, body, fails, load, patch

# -- groups --------------------------------------------------------------------------------
GROUP = {"displayName": "Sales", "externalId": "8aa1a0c0"}


def member_patch(doc, message_or_ops):
    """Apply with member_ops collection, returning (doc, member ops)."""
    message = message_or_ops if isinstance(message_or_ops, dict) else body(*message_or_ops)
    before = copy.deepcopy(doc)
    ops: list = []
    result = apply_patch(doc, message, GROUP_TYPE, member_ops=ops)
    assert doc == before
    return result, ops


MEMBER_CASES = [
    ("entra add several members", load("entra-group-add-members"),
     [MemberOp("add", ["f648f8d5ea4e4cd38e9c", "a1b2c3"])]),
    ("rfc add member", load("rfc7644-3.5.2.1-add-member"), [MemberOp("add", [BABS])]),
    ("add a single object", [{"op": "add", "path": "members", "value": {"value": BABS}}],
     [MemberOp("add", [BABS])]),
    ("add deduplicates, keeping order",
     [{"op": "add", "path": "Members", "value": [{"value": "b"}, {"value": "a"}, {"value": "b"}]}],
     [MemberOp("add", ["b", "a"])]),
    ("add empty array is a no-op", [{"op": "add", "path": "members", "value": []}], []),
    ("aadOptscim062020 remove by filter", load("entra-aadOptscim062020-group-remove-member"),
     [MemberOp("remove", ["7f4bc1a3-0000-4000-8000-00000000abcd"])]),
    ("rfc remove one member", load("rfc7644-3.5.2.2-remove-one-member"),
     [MemberOp("remove", [BABS])]),
    ("rfc remove multiple members", load("rfc7644-3.5.2.2-remove-multiple-members"),
     [MemberOp("remove", [BABS]), MemberOp("remove", [OTHER])]),
    ("remove with or of several values",
     [{"op": "remove", "path": f'members[value eq "{BABS}" or value eq "{JAMES}"]'}],
     [MemberOp("remove", [BABS, JAMES])]),
    ("legacy remove with value array removes only those ids",
     load("entra-legacy-group-remove-members"), [MemberOp("remove", ["u1091"])]),
    ("legacy remove with several values and $ref",
     [{"op": "Remove", "path": "members",
       "value": [{"$ref": None, "value": "u1"}, {"$ref": None, "value": "u2"}]}],
     [MemberOp("remove", ["u1", "u2"])]),
    ("refcode remove all", load("refcode-group-remove-all-members"), [MemberOp("remove_all", [])]),
    ("rfc remove all", load("rfc7644-3.5.2.2-remove-all-members"), [MemberOp("remove_all", [])]),
    ("remove with null value removes all",
     [{"op": "remove", "path": "members", "value": None}], [MemberOp("remove_all", [])]),
    ("remove with empty array removes all",
     [{"op": "remove", "path": "members", "value": []}], [MemberOp("remove_all", [])]),
    ("rfc remove all then add", load("rfc7644-3.5.2.2-remove-all-then-add"),
     [MemberOp("remove_all", []), MemberOp("add", [BABS, JAMES])]),
    ("rfc replace members", load("rfc7644-3.5.2.3-replace-members"),
     [MemberOp("replace", [BABS, JAMES])]),
    ("no-path add with members",
     [{"op": "add", "value": {"members": [{"value": "m1"}]}}], [MemberOp("add", ["m1"])]),
]


@pytest.mark.parametrize("message, expected", [c[1:] for c in MEMBER_CASES],
                         ids=[c[0] for c in MEMBER_CASES])
def test_member_ops(message, expected):
    result, ops = member_patch(GROUP, message)
    assert result == GROUP
    assert ops == expected


def test_no_path_replace_mixes_doc_changes_and_member_ops():
    result, ops = member_patch(GROUP, [
        {"op": "replace", "value": {"displayName": "Sales EU", "members": [{"value": "m1"}]}},
    ])
    assert result == {**GROUP, "displayName": "Sales EU"}
    assert ops == [MemberOp("replace", ["m1"])]


def test_group_rename_and_member_ops_keep_their_order():
    result, ops = member_patch(GROUP, [
        *load("entra-group-rename")["Operations"],
        {"op": "Add", "path": "members", "value": [{"value": "a"}]},
        {"op": "Remove", "path": "members", "value": [{"value": "b"}]},
        {"op": "Replace", "path": "members", "value": [{"value": "c"}]},
    ])
    assert result == {**GROUP, "displayName": "New name"}
    assert ops == [MemberOp("add", ["a"]), MemberOp("remove", ["b"]),
                   MemberOp("replace", ["c"])]


def test_member_ops_are_not_recorded_when_the_request_fails():
    ops = [MemberOp("add", ["earlier"])]
    fails(GROUP, [{"op": "add", "path": "members", "value": [{"value": "a"}]},
                  {"op": "replace", "path": "nosuch", "value": "x"}],
          InvalidPath, "Operations[1]", rtype=GROUP_TYPE, member_ops=ops)
    assert ops == [MemberOp("add", ["earlier"])]


@pytest.mark.parametrize("op, error, fragment", [
    ({"op": "remove", "path": 'members[type eq "User"]'}, InvalidPath, "value eq"),
    ({"op": "remove", "path": 'members[value ne "x"]'}, InvalidPath, "value eq"),
    ({"op": "add", "path": 'members[value eq "x"]', "value": {"value": "x"}}, InvalidPath,
     "members"),
    ({"op": "replace", "path": 'members[value eq "x"].value', "value": "y"}, Mutability,
     "in place"),
    ({"op": "remove", "path": 'members[value eq "x"].type'}, Mutability, "in place"),
    ({"op": "add", "path": "members", "value": [{"display": "no id"}]}, InvalidValue, "entry 0"),
    ({"op": "add", "path": "members", "value": None}, InvalidValue, "members"),
    ({"op": "add", "path": 'members[value eq "x"].display', "value": "y"}, Mutability,
     "read-only"),
])
def test_member_op_errors(op, error, fragment):
    fails(GROUP, [op], error, fragment, rtype=GROUP_TYPE, member_ops=[])


def test_member_op_is_a_frozen_record():
    op = MemberOp("add", ["a"])
    assert (op.kind, op.ids) == ("add", ["a"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.kind = "remove"


# -- members as a plain attribute (member_ops is None) ------------------------------------
MEMBERS_ON_DOC = [
    ("add skips members already present, nulls dropped",
     load("entra-group-add-members")["Operations"],
     {"displayName": "Sales", "members": [{"value": "a"}, {"value": "b"},
                                          {"value": "f648f8d5ea4e4cd38e9c"},
                                          {"value": "a1b2c3"}]}),
    ("re-adding a member with extra keys does not duplicate it",
     [{"op": "add", "path": "members", "value": [{"value": "a", "$ref": "../Users/a"}]}],
     GROUP_WITH_MEMBERS),
    ("legacy remove with value removes only those",
     [{"op": "Remove", "path": "members", "value": [{"value": "a"}]}],
     {"displayName": "Sales", "members": [{"value": "b"}]}),
    ("remove by filter", [{"op": "remove", "path": 'members[value eq "b"]'}],
     {"displayName": "Sales", "members": [{"value": "a"}]}),
    ("remove all", [{"op": "remove", "path": "members"}], {"displayName": "Sales"}),
    ("replace all", [{"op": "replace", "path": "members", "value": [{"value": "c"}]}],
     {"displayName": "Sales", "members": [{"value": "c"}]}),
    ("setting an immutable value to the same value is fine",
     [{"op": "replace", "path": 'members[value eq "a"].value', "value": "a"}],
     GROUP_WITH_MEMBERS),
]


@pytest.mark.parametrize("ops, expected", [c[1:] for c in MEMBERS_ON_DOC],
                         ids=[c[0] for c in MEMBERS_ON_DOC])
def test_members_without_member_ops_operate_on_the_doc(ops, expected):
    assert patch(GROUP_WITH_MEMBERS, *ops, rtype=GROUP_TYPE) == expected


@pytest.mark.parametrize("op", [
    {"op": "replace", "path": 'members[value eq "a"].value', "value": "z"},
    {"op": "remove", "path": 'members[value eq "a"].value'},
    {"op": "replace", "path": 'members[value eq "a"]', "value": {"value": "z"}},
])
def test_changing_an_immutable_member_value_in_place_is_a_mutability_error(op):
    fails(GROUP_WITH_MEMBERS, [op], Mutability, "immutable", rtype=GROUP_TYPE)


def test_all_errors_are_scim_errors_with_400():
    for error in (InvalidPath, InvalidSyntax, InvalidValue, Mutability, NoTarget):
        assert issubclass(error, ScimError) and error.status == 400
