"""The PatchOp message itself (RFC 7644 §3.5.2): each operation's `op`, and how many
operations one request may carry (README "Limits")."""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.errors import InvalidSyntax, InvalidValue
from scim_appliance.domain.protocol.member_ops import MemberOp
from scim_appliance.domain.protocol.schema import GROUP_TYPE

from .patching import ADELE, fails, patch

MAX_OPERATIONS = 200  # README "Limits"


# -- `op` (RFC 7644 §3.5.2: "Each PATCH operation object MUST have exactly one "op" member")
@pytest.mark.parametrize("operation", [
    {"path": "title", "value": "x"},
    {"value": {"title": "x"}},
    {},
])
def test_an_operation_without_op_says_op_is_missing(operation):
    error = fails(ADELE, [operation], InvalidSyntax, "Operations[0]", "no 'op'")
    assert "None" not in error.detail


def test_a_null_op_says_op_is_missing():
    error = fails(ADELE, [{"op": None, "path": "title", "value": "x"}], InvalidSyntax,
                  "Operations[0]", "no 'op'")
    assert "None" not in error.detail


@pytest.mark.parametrize("op, shown", [(5, "a number"), (True, "a boolean"),
                                       (["add"], "an array"), ({"add": 1}, "an object")])
def test_an_op_that_is_not_a_string_says_what_it_is(op, shown):
    error = fails(ADELE, [{"op": op, "path": "title", "value": "x"}], InvalidSyntax,
                  "Operations[0]", "'op'", shown)
    assert "unsupported op" not in error.detail


def test_an_unknown_op_is_named_and_the_allowed_ones_listed():
    fails(ADELE, [{"op": "move", "path": "title", "value": "x"}], InvalidSyntax,
          "Operations[0]", "'move'", "'add', 'replace' or 'remove'")


def test_the_op_key_and_its_value_are_case_insensitive():
    assert patch(ADELE, {"OP": "RePlAcE", "path": "title", "value": "x"})["title"] == "x"


def test_a_huge_unknown_op_is_not_echoed_whole():
    error = fails(ADELE, [{"op": "x" * 100_000, "path": "title", "value": "v"}], InvalidSyntax,
                  "Operations[0]")
    assert len(error.detail) < 500


def test_a_missing_op_is_reported_for_the_right_operation():
    fails(ADELE, [{"op": "replace", "path": "title", "value": "x"}, {"path": "title"}],
          InvalidSyntax, "Operations[1]", "no 'op'")


# -- how many operations ---------------------------------------------------------------------
def test_the_documented_number_of_operations_is_accepted():
    ops = [{"op": "replace", "path": "title", "value": f"t{i}"} for i in range(MAX_OPERATIONS)]
    assert patch(ADELE, *ops)["title"] == f"t{MAX_OPERATIONS - 1}"


def test_one_operation_more_is_refused_before_any_is_applied():
    ops = [{"op": "replace", "path": "title", "value": "t"}] * (MAX_OPERATIONS + 1)
    # The last one would fail on its own; the count is refused before it is reached.
    ops[-1] = {"op": "replace", "path": "nosuch", "value": "x"}
    error = fails(ADELE, ops, InvalidValue, f"{MAX_OPERATIONS:,}")
    assert "nosuch" not in error.detail


def test_keys_of_a_value_without_path_count_as_operations():
    """Each key of a path-less value is applied as its own path (RFC 7644 §3.5.2.1)."""
    value = {"title": "t", "nickName": "n"}
    many = [{"op": "replace", "value": value}] * (MAX_OPERATIONS // 2 + 1)
    fails(ADELE, many, InvalidValue, f"{MAX_OPERATIONS:,}")
    assert patch(ADELE, *many[: MAX_OPERATIONS // 2])["title"] == "t"


def test_member_ids_across_a_request_are_bounded():
    """10,000 member ids per request (README "Limits"), in any number of operations."""
    half = [{"value": f"m{i}"} for i in range(5000)]
    other = [{"value": f"n{i}"} for i in range(5001)]
    collected: list = []
    patch({"displayName": "G"}, {"op": "add", "path": "members", "value": half},
          {"op": "add", "path": "members", "value": half[:1]}, rtype=GROUP_TYPE,
          member_ops=collected)
    assert [op.kind for op in collected] == ["add", "add"]
    fails({"displayName": "G"}, [{"op": "add", "path": "members", "value": half},
                                 {"op": "add", "path": "members", "value": other}],
          InvalidValue, "10,000", rtype=GROUP_TYPE, member_ops=[])
    assert MemberOp("add", ["m0"]) == collected[1]
