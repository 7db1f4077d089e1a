"""Group member changes taken out of a PATCH, for the Groups service to apply set-based.

PATCH on a group's `members` never rewrites a member list in memory: each operation
becomes a MemberOp (entra-provisioning.md §7 lists the shapes Entra sends).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .documents import get_attr, is_blank, is_empty
from .errors import InvalidPath, InvalidValue, Mutability
from .filters import Compare, Or, PatchPath
from .schema import Attribute, ResourceType

MEMBER_OP_KINDS = ("add", "remove", "remove_all", "replace")


@dataclass(frozen=True)
class MemberOp:
    """A normalised change to a group's membership, for the Groups service to apply.

    kind: "add" (add `ids`), "remove" (remove `ids`), "remove_all" (ids is empty) or
    "replace" (membership becomes exactly `ids`). ids: member ids, deduplicated, in order.
    """

    kind: str
    ids: list[str] = field(default_factory=list)


def _op(kind: str, ids: list[str]) -> MemberOp:
    return MemberOp(kind, list(dict.fromkeys(ids)))


def is_members(attr: Attribute, rtype: ResourceType) -> bool:
    """The core `members` attribute of a group (not some extension's)."""
    return attr.name == "members" and attr.schema == rtype.core.id


def member_op_for(op: str, path: PatchPath, value) -> MemberOp | None:
    """Turn an operation on `members` into a MemberOp (entra-provisioning.md §7).

    Legacy Remove with a value array removes only those ids (never all: azure-docs#30826);
    remove without value, per RFC 7644 §3.5.2.2, removes every member.
    """
    if path.sub is not None:
        raise Mutability("a member's value, type and $ref cannot be changed in place; "
                         "remove the member and add it again")
    if path.filter is not None:
        if op != "remove":
            raise InvalidPath("to add members use path 'members' with a value array")
        return _op("remove", _filter_ids(path.filter))
    if op == "remove":
        ids = [] if is_empty(value) else _member_ids(value)
        return _op("remove" if ids else "remove_all", ids)
    if op == "add":
        if is_blank(value):
            raise InvalidValue("add on 'members' needs a value: [{\"value\": \"<id>\"}, ...]")
        ids = _member_ids(value)
        return _op("add", ids) if ids else None
    return _op("replace", [] if is_blank(value) else _member_ids(value))


def _filter_ids(expr) -> list[str]:
    """Ids from `value eq "a" or value eq "b"` in a `members[...]` path."""
    if isinstance(expr, Or):
        return _filter_ids(expr.left) + _filter_ids(expr.right)
    if isinstance(expr, Compare) and expr.op == "eq" and expr.ref.sub is not None \
            and expr.ref.sub.name == "value" and isinstance(expr.value, str):
        return [expr.value]
    raise InvalidPath("members can only be selected with 'value eq \"<id>\"' comparisons, "
                      "optionally joined by 'or'")


def _member_ids(value) -> list[str]:
    items = value if isinstance(value, list) else [value]
    ids = []
    for position, item in enumerate(items):
        member = get_attr(item, "value") if isinstance(item, dict) else item
        if not isinstance(member, str) or not member.strip():
            raise InvalidValue(f"members entry {position} has no 'value' (the member's id)")
        ids.append(member)
    return list(dict.fromkeys(ids))
