"""PATCH on a whole schema extension (a path that is only the extension's URN, or a URN key
of a value without path; RFC 7644 §3.5.2, §3.10), and on the appliance's read-only
extension (RFC 7643 §2.2 `mutability`, RFC 7644 §3.5.2 and §3.12)."""

from __future__ import annotations

import pytest

from scim_appliance.domain.protocol.errors import InvalidSyntax, InvalidValue, Mutability
from scim_appliance.domain.protocol.schema import (
    APPLIANCE_GROUP,
    APPLIANCE_USER,
    GROUP_TYPE,
)

from .patching import ADELE, CORE, ENT, MGR, fails, patch

ROLE = "urn:ietf:params:scim:schemas:core:2.0:Group"


# -- a `schemas` key inside the value is not an attribute (issue 13, item 10) ----------------
@pytest.mark.parametrize("op", ["add", "replace"])
@pytest.mark.parametrize("schemas", [[ENT], [CORE, ENT], [ENT.upper()]])
def test_a_whole_extension_value_may_carry_schemas(op, schemas):
    result = patch(ADELE, {"op": op, "path": ENT,
                           "value": {"schemas": schemas, "department": "Sales",
                                     "manager": {"value": MGR}}})
    assert result[ENT] == {"employeeNumber": "1001", "department": "Sales",
                           "manager": {"value": MGR}}
    assert "schemas" not in result and "schemas" not in result[ENT]


def test_a_whole_extension_value_with_only_schemas_changes_nothing():
    assert patch(ADELE, {"op": "replace", "path": ENT, "value": {"schemas": [ENT]}}) == ADELE


@pytest.mark.parametrize("op", ["add", "replace"])
def test_a_value_without_path_may_carry_schemas(op):
    result = patch(ADELE, {"op": op, "value": {"schemas": [CORE, ENT], "title": "Boss",
                                               ENT: {"schemas": [ENT], "department": "D"}}})
    assert result["title"] == "Boss" and result[ENT]["department"] == "D"
    assert "schemas" not in result and "schemas" not in result[ENT]


@pytest.mark.parametrize("schemas, error", [
    ("not a list", InvalidSyntax),
    ([5], InvalidSyntax),
    (["urn:example:unknown:2.0:User"], InvalidValue),
    ([ROLE], InvalidValue),
])
@pytest.mark.parametrize("path", [ENT, None])
def test_schemas_in_a_value_must_name_schemas_of_the_resource(schemas, error, path):
    value = {"schemas": schemas, "department": "D"} if path else {"schemas": schemas}
    op = {"op": "replace", "value": value, **({"path": path} if path else {})}
    fails(ADELE, [op], error, "schemas")


def test_the_schemas_attribute_itself_still_cannot_be_patched():
    fails(ADELE, [{"op": "replace", "path": "schemas", "value": [CORE]}], Mutability, "schemas")


# -- the appliance's read-only extension (issue 13, item 12) ---------------------------------
def _targets(urn: str) -> list[dict]:
    """Every way of naming the extension or one of its attributes in an operation."""
    ops = []
    for op in ("add", "replace", "remove"):
        for value in ({"source": "local"}, {}, None, "", "x"):
            for path in (urn, urn.upper(), f"{urn}:source", f"{urn}:nameAdjusted"):
                ops.append({"op": op, "path": path, "value": value})
            if op != "remove":
                ops.append({"op": op, "value": {urn: value}})
                ops.append({"op": op, "value": {f"{urn}:source": value}})
    ops += [{"op": "remove", "path": urn}, {"op": "remove", "path": f"{urn}:source"}]
    return ops


@pytest.mark.parametrize("operation", _targets(APPLIANCE_USER))
def test_every_operation_on_the_read_only_user_extension_is_a_mutability_error(operation):
    error = fails(ADELE, [operation], Mutability, "read-only")
    assert error.status == 400 and error.scim_type == "mutability"


@pytest.mark.parametrize("operation", _targets(APPLIANCE_GROUP))
def test_every_operation_on_the_read_only_group_extension_is_a_mutability_error(operation):
    fails({"displayName": "Sales"}, [operation], Mutability, "read-only", rtype=GROUP_TYPE,
          member_ops=[])


def test_a_read_only_extension_fails_the_whole_request():
    fails(ADELE, [{"op": "replace", "path": "title", "value": "x"},
                  {"op": "remove", "path": APPLIANCE_USER}], Mutability, "Operations[1]")


@pytest.mark.parametrize("op", ["add", "replace", "remove"])
def test_the_writable_enterprise_extension_can_still_be_cleared(op):
    operation = {"op": op, "path": ENT, **({} if op == "remove" else {"value": None})}
    if op == "add":
        operation["value"] = {}
        assert patch(ADELE, operation) == ADELE
    else:
        assert ENT not in patch(ADELE, operation)

