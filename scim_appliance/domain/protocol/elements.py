"""Elements of multi-valued attributes in PATCH: their canonical form, which of them are
the same element, and how many an attribute may hold.

Whether two elements are the same is decided by keys rather than by comparing every pair:
an add of 100 values to 100, or a legacy remove listing 100 values, is then linear, and
with MAX_OPERATIONS operations a request stays cheap (README "Limits").
"""

from __future__ import annotations

from .documents import get_attr
from .errors import InvalidValue
from .schema import Attribute
from .validation import json_type


def canon(attr: Attribute, obj: dict) -> dict:
    """Canonical sub-attribute names (RFC 7643 §2.1); readOnly ones are ignored (§2.2).

    Unknown keys are kept for the caller's validation to report.
    """
    result = {}
    for key, item in obj.items():
        sub = attr.sub(key)
        if sub is None:
            result[key] = item
        elif not sub.read_only:
            result[sub.name] = item
    return result


def strip_none(obj: dict) -> dict:
    """An element without its null sub-attributes ("unassigned", RFC 7643 §2.5)."""
    return {k: v for k, v in obj.items() if v is not None}


def new_element(attr: Attribute, item):
    """An element an add or replace gives, in canonical form; a complex attribute's
    elements must be objects."""
    if not attr.is_complex:
        return item
    if not isinstance(item, dict):
        raise InvalidValue(f"each '{attr.name}' entry must be an object, "
                           f"not {json_type(item)}")
    return strip_none(canon(attr, item))


def check_count(attr: Attribute, count: int) -> None:
    """Refuse more values than `attr` may hold (schema.py `max_values`)."""
    if count > attr.max_values:
        raise InvalidValue(f"'{attr.name}' would have {count:,} values; the appliance accepts "
                           f"at most {attr.max_values:,}")


def listed_elements(attr: Attribute, value) -> list:
    """The elements a legacy remove lists: objects for a complex attribute, as in an add
    (Entra sends `[{"value": "<id>"}]`), and no more than the attribute may hold."""
    listed = value if isinstance(value, list) else [value]
    check_count(attr, len(listed))
    listed = [item for item in listed if item is not None]  # as in an add: nulls dropped
    if attr.is_complex:
        for item in listed:
            if not isinstance(item, dict):
                raise InvalidValue(f"each '{attr.name}' entry to remove must be an object "
                                   f"such as {{\"value\": ...}}, not {json_type(item)}")
    return listed


def identified_by_value(attr: Attribute) -> Attribute | None:
    """The `value` sub-attribute when it is immutable (group members): such elements are
    the same element when their values are; others only when equal as a whole."""
    value_sub = attr.sub("value")
    return value_sub if value_sub is not None and value_sub.mutability == "immutable" else None


def add_key(by_value: Attribute | None, element):
    """What add's duplicate test compares, as a key (see identified_by_value)."""
    if by_value is not None and isinstance(element, dict):
        return ("value", _folded(by_value, get_attr(element, "value")))
    return ("whole", _frozen(element))


def remove_keys(attr: Attribute, listed: list) -> set:
    """What the entries of a legacy remove designate: an element by its `value`, or, for an
    entry without one, the element equal to it as a whole. Keys, so that matching 100
    entries against 100 elements is not 10,000 comparisons."""
    value_sub = attr.sub("value")
    keys = set()
    for target in listed:
        wanted = get_attr(target, "value") if isinstance(target, dict) else target
        if isinstance(target, dict) and wanted is None:
            keys.add(("whole", _frozen(strip_none(canon(attr, target)))))
        else:
            keys.add(("value", _folded(value_sub, wanted)))
    return keys


def is_listed(attr: Attribute, element, keys: set) -> bool:
    """Whether a legacy remove designates `element` (see remove_keys)."""
    actual = get_attr(element, "value") if isinstance(element, dict) else element
    return ("value", _folded(attr.sub("value"), actual)) in keys \
        or (isinstance(element, dict) and ("whole", _frozen(element)) in keys)


def _frozen(value):
    """A hashable stand-in for a JSON value: equal values, equal stand-ins."""
    if isinstance(value, dict):
        try:
            return ("object", frozenset(value.items()))  # flat, as elements are
        except TypeError:
            return ("object", frozenset((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_frozen(v) for v in value))
    return value


def _folded(sub: Attribute | None, value):
    """`value` as a comparison sees it: strings without caseExact lower-cased (RFC 7643
    §2.2), so ids (caseExact) must match exactly."""
    if isinstance(value, str) and not (sub and sub.case_exact):
        return value.lower()
    return _frozen(value)
