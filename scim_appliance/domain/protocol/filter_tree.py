"""Filter trees (RFC 7644 §3.4.2.2) and what they mean, evaluated in memory.

`filters.py` builds these trees from filter and PATCH path text; `query/filter_sql.py`
translates them to SQL. `matches` is the reference semantics the SQL agrees with (the
query tests check it row for row); PATCH uses `matches_element` for value paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .documents import get_attr
from .schema import CORE_GROUP, CORE_USER, Attribute


@dataclass(frozen=True)
class AttrRef:
    """A resolved attribute reference: a top-level attribute and maybe a sub-attribute."""

    attr: Attribute
    sub: Attribute | None = None

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attr

    @property
    def dotted(self) -> str:
        return f"{self.attr.name}.{self.sub.name}" if self.sub else self.attr.name


@dataclass(frozen=True)
class Compare:
    op: str
    ref: AttrRef
    value: Any = None


@dataclass(frozen=True)
class And:
    left: Any
    right: Any


@dataclass(frozen=True)
class Or:
    left: Any
    right: Any


@dataclass(frozen=True)
class Not:
    expr: Any


@dataclass(frozen=True)
class ValuePath:
    """`attr[filter]`: some element of a multi-valued attribute satisfies `filter`.

    References inside `filter` carry `attr` as their parent and a sub-attribute.
    """

    attr: Attribute
    filter: Any


@dataclass(frozen=True)
class Const:
    """A comparison decided while parsing a filter for several resource types: an
    attribute a type does not define has no value there (RFC 7644 §3.4.2.2), so of all
    comparisons on it only `eq null` holds."""

    value: bool


@dataclass(frozen=True)
class PatchPath:
    """A PATCH `path`: attribute, optional element filter, optional sub-attribute."""

    attr: Attribute | None  # None: the path names a whole extension schema
    sub: Attribute | None = None
    filter: Any = None
    schema_urn: str | None = None


def parse_datetime(value: str, error) -> datetime:
    """Parse an RFC 3339 timestamp to naive UTC, the form stored in `meta` columns.

    `error()` is raised for anything else, including instants that fall outside
    Python's years 1-9999 once converted to UTC (`0001-01-01T00:00:00+14:00`).
    """
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    except (ValueError, OverflowError):
        raise error() from None
    return parsed


# -- in-memory evaluation ------------------------------------------------------
def _compare_one(op: str, leaf: Attribute, actual, expected) -> bool:
    if op == "pr":
        return actual not in (None, "", [], {})
    if expected is None:
        present = actual not in (None, "", [], {})
        return not present if op == "eq" else present
    if actual is None:
        return False
    if leaf.type == "boolean":
        if isinstance(actual, str):
            actual = actual.lower() == "true"
        return (actual == expected) if op == "eq" else (actual != expected)
    if leaf.type == "dateTime" and isinstance(expected, datetime):
        if isinstance(actual, datetime):
            actual_dt = actual
        else:
            try:
                actual_dt = parse_datetime(str(actual), lambda: ValueError())
            except ValueError:
                return False
        actual, expected = actual_dt, expected
    elif isinstance(expected, str):
        if not isinstance(actual, str):
            return False
        if not leaf.case_exact:
            actual, expected = actual.lower(), expected.lower()
    ops = {
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "co": lambda a, b: b in a,
        "sw": lambda a, b: a.startswith(b),
        "ew": lambda a, b: a.endswith(b),
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
    }
    try:
        return ops[op](actual, expected)
    except TypeError:
        return False


def matches_element(expr, element: dict) -> bool:
    """Evaluate a `[...]` filter against one element of a multi-valued attribute."""
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, And):
        return matches_element(expr.left, element) and matches_element(expr.right, element)
    if isinstance(expr, Or):
        return matches_element(expr.left, element) or matches_element(expr.right, element)
    if isinstance(expr, Not):
        return not matches_element(expr.expr, element)
    if isinstance(expr, Compare):
        leaf = expr.ref.leaf
        actual = get_attr(element, leaf.name) if expr.ref.sub is not None else element
        return _compare_one(expr.op, leaf, actual, expr.value)
    raise TypeError(f"unexpected filter node {expr!r}")


def matches(expr, resource: dict) -> bool:
    """Evaluate a filter against a resource rendered as SCIM JSON.

    The database answers filters in production (see filter_sql.py); this is the
    reference semantics, used for PATCH value paths and to check the SQL in tests.
    """
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, And):
        return matches(expr.left, resource) and matches(expr.right, resource)
    if isinstance(expr, Or):
        return matches(expr.left, resource) or matches(expr.right, resource)
    if isinstance(expr, Not):
        return not matches(expr.expr, resource)
    if isinstance(expr, ValuePath):
        value = _value_of(resource, expr.attr)
        elements = value if isinstance(value, list) else ([value] if value else [])
        return any(isinstance(e, dict) and matches_element(expr.filter, e) for e in elements)
    if isinstance(expr, Compare):
        value = _value_of(resource, expr.ref.attr)
        leaf = expr.ref.leaf
        if expr.ref.attr.multi_valued:
            elements = value if isinstance(value, list) else []
            if expr.ref.sub is not None:
                values = [get_attr(e, expr.ref.sub.name) for e in elements]
            elif expr.ref.attr.is_complex and expr.op != "pr" and expr.value is not None:
                values = [get_attr(e, "value") for e in elements]
                leaf = expr.ref.attr.sub("value") or leaf
            else:
                values = elements
            present = any(v not in (None, "", [], {}) for v in values)
            if expr.op == "pr":
                return present
            if expr.value is None:
                return not present if expr.op == "eq" else present
            return any(_compare_one(expr.op, leaf, v, expr.value) for v in values)
        if expr.ref.sub is not None:
            value = get_attr(value, expr.ref.sub.name)
        return _compare_one(expr.op, leaf, value, expr.value)
    raise TypeError(f"unexpected filter node {expr!r}")


def _value_of(resource: dict, attr: Attribute):
    """Core and common attributes sit at the top level; extension ones under their URN."""
    if attr.schema and attr.schema not in (CORE_USER, CORE_GROUP):
        return get_attr(get_attr(resource, attr.schema), attr.name)
    return get_attr(resource, attr.name)
