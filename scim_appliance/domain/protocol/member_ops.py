"""Group member changes taken out of a PATCH, for the Groups service to apply set-based.

PATCH on a group's `members` never rewrites a member list in memory: each operation
becomes a MemberOp (the shapes Entra sends, in both dialects). Member values
are checked as a POST's `members` are (objects `{"value": "<id>"}`, known sub-attributes,
storable ids, at most MAX_MEMBERS), so no id reaches the database that could not belong
to a member.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .documents import is_blank, is_empty
from .errors import InvalidPath, InvalidSyntax, InvalidValue, Mutability
from .filters import Compare, Or, PatchPath
from .schema import Attribute, ResourceType
from .validation import check_text, json_type, shown, text_problem

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


def member_op_for(op: str, path: PatchPath, value, rtype: ResourceType) -> MemberOp | None:
    """Turn an operation on `members` into a MemberOp (both Entra dialects).

    Legacy Remove with a value array removes only those ids (never all: azure-docs#30826);
    remove without value, per RFC 7644 §3.5.2.2, removes every member.
    """
    if path.sub is not None:
        raise Mutability("a member's value, type and $ref cannot be changed in place; "
                         "remove the member and add it again")
    if path.filter is not None:
        if op != "remove":
            raise InvalidPath("to add members use path 'members' with a value array")
        return _op("remove", _filter_ids(path.filter, path.attr))
    if op == "remove":
        ids = [] if is_empty(value) else _member_ids(path.attr, value, rtype)
        return _op("remove" if ids else "remove_all", ids)
    if op == "add":
        if is_blank(value):
            raise InvalidValue("add on 'members' needs a value: [{\"value\": \"<id>\"}, ...]")
        ids = _member_ids(path.attr, value, rtype)
        return _op("add", ids) if ids else None
    return _op("replace", [] if is_blank(value) else _member_ids(path.attr, value, rtype))


def _filter_ids(expr, attr: Attribute) -> list[str]:
    """Ids from `value eq "a" or value eq "b"` in a `members[...]` path."""
    if isinstance(expr, Or):
        return _filter_ids(expr.left, attr) + _filter_ids(expr.right, attr)
    if isinstance(expr, Compare) and expr.op == "eq" and expr.ref.sub is not None \
            and expr.ref.sub.name == "value" and isinstance(expr.value, str):
        return [check_text(expr.value, "a member id in the path",
                           attr.sub("value").max_length)]
    raise InvalidPath("members can only be selected with 'value eq \"<id>\"' comparisons, "
                      "optionally joined by 'or'")


def _member_ids(attr: Attribute, value, rtype: ResourceType) -> list[str]:
    """The ids of a `members` value: objects only (RFC 7643 §4.2; Entra always sends
    `{"value": "<id>"}`), a lone object counting as a list of one.

    The checks are those a POST's `members` get from validation.py (known sub-attributes,
    strings within their maximum, no NUL, at most `max_values`), written out here because
    marshmallow costs about 0.1 ms a member: a 1,000-member PATCH took 50 times longer.
    """
    items = value if isinstance(value, list) else [value]
    if len(items) > attr.max_values:
        raise InvalidValue(f"'members' has {len(items):,} values; the appliance accepts at most "
                           f"{attr.max_values:,} per request")
    ids = []
    for position, item in enumerate(items):
        if item is None:
            continue
        if not isinstance(item, dict):
            raise InvalidValue(f"members entry {position} must be an object such as "
                               f"{{\"value\": \"<id>\"}}, not {json_type(item)} "
                               f"('{shown(item, 40)}')")
        member_id = None
        for key, sub_value in item.items():
            sub = attr.sub(key) if isinstance(key, str) else None
            if sub is None:
                raise InvalidSyntax(f"unknown attribute 'members[{position}].{shown(key)}' "
                                    f"for {rtype.name}")
            if sub_value is None or sub.read_only:
                continue  # as a POST: nulls dropped, readOnly values ignored
            problem = (text_problem(sub_value, sub.max_length) if isinstance(sub_value, str)
                       else f"must be a string, not {json_type(sub_value)}")
            if problem:
                raise InvalidValue(f"'members[{position}].{sub.name}' {problem}")
            if sub.name == "value":
                member_id = sub_value
        if member_id is None or not member_id.strip():
            raise InvalidValue(f"members entry {position} has no 'value' (the member's id)")
        ids.append(member_id)
    return list(dict.fromkeys(ids))
