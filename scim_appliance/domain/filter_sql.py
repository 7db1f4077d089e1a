"""Translate parsed SCIM filters (RFC 7644 §3.4.2.2) and sortBy (§3.4.2.3) into SQL.

The database answers every filter: rows are never loaded into Python to be
tested. `filters.matches` is the reference semantics and the clauses built here
agree with it row for row (the tests check this with generated filters), with one
known difference on odd data (see `_compare_elements`).

Where a resource's attributes live (see models.py):

* a few attributes have indexed columns (`id`, `userName`, `externalId`,
  `active`, group `displayName`, `meta.created`, `meta.lastModified`); filters on
  them must become plain column comparisons so they are index look-ups;
* `groups` (User) and `members` (Group) are rows of `memberships`;
* everything else is in the `data` JSON document, core attributes at the top level
  and extension attributes under their schema URN.

Every clause built here is two-valued: it is TRUE or FALSE, never NULL, even
where the attribute is absent. SQL comparisons with NULL yield NULL and `NOT NULL`
is NULL too, so without this `not (title eq "x")` would drop the users without a
title, which `matches` (and RFC 7644) count as matching.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Numeric,
    and_,
    case,
    cast,
    column,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.sql.elements import ColumnElement

from ..models import Group, Membership, User
from .errors import InvalidFilter, InvalidValue
from .filters import And, AttrRef, Compare, Not, Or, ValuePath, matches
from .schema import APPLIANCE_GROUP, APPLIANCE_USER, CORE_GROUP, CORE_USER, Attribute

Clause = ColumnElement[bool]
_MISSING = "missing"  # the kind of a JSON value that is not there at all
_LIKE_ESCAPE = "/"
_ORDERING = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


# -- where attributes are stored -------------------------------------------------
@dataclass(frozen=True)
class ColumnSpec:
    """An indexed column that holds one attribute.

    `folded` columns hold `value.lower()` (userName, group displayName): for a
    caseExact=false attribute the literal is lowered in Python and compared with
    the bare column, which keeps `eq` an index look-up.
    """

    column: Any
    folded: bool = False


@dataclass(frozen=True)
class ElementTable:
    """A multi-valued attribute whose elements are rows of another table.

    `owner` is the column holding the id of the resource the element belongs to;
    `subs` maps lower-cased sub-attribute names to the columns that hold them.
    Sub-attributes not listed (e.g. `display`, `$ref`) are not filterable.
    """

    owner: Any
    subs: dict[str, ColumnSpec]


@dataclass(frozen=True)
class ResourceMapping:
    """How one resource type is laid out in the database.

    `columns` is keyed by lower-cased attribute path (`username`, `meta.created`);
    core and common attributes are looked up there by name, extension attributes by
    `<urn>:<name>` (the appliance's read-only extension). `meta.resourceType` is
    the constant `resource_type`; `meta.location` and `meta.version` are not
    stored and so not filterable.
    """

    model: Any
    data_column: Any
    resource_type: str
    core_schema: str
    columns: dict[str, ColumnSpec]
    element_tables: dict[str, ElementTable] = field(default_factory=dict)

    @property
    def id_column(self):
        return self.columns["id"].column


USER_MAPPING = ResourceMapping(
    model=User,
    data_column=User.data,
    resource_type="User",
    core_schema=CORE_USER,
    columns={
        "id": ColumnSpec(User.id),
        "username": ColumnSpec(User.user_name_ci, folded=True),
        "externalid": ColumnSpec(User.external_id),
        "active": ColumnSpec(User.active),
        "meta.created": ColumnSpec(User.created),
        "meta.lastmodified": ColumnSpec(User.last_modified),
        f"{APPLIANCE_USER}:sanitizedusername".lower(): ColumnSpec(User.sanitized_user_name),
        f"{APPLIANCE_USER}:nameadjusted".lower(): ColumnSpec(User.name_adjusted),
        f"{APPLIANCE_USER}:source".lower(): ColumnSpec(User.source),
    },
    element_tables={
        "groups": ElementTable(Membership.member_id, {"value": ColumnSpec(Membership.group_id)}),
    },
)

GROUP_MAPPING = ResourceMapping(
    model=Group,
    data_column=Group.data,
    resource_type="Group",
    core_schema=CORE_GROUP,
    columns={
        "id": ColumnSpec(Group.id),
        "displayname": ColumnSpec(Group.display_name_ci, folded=True),
        "externalid": ColumnSpec(Group.external_id),
        "meta.created": ColumnSpec(Group.created),
        "meta.lastmodified": ColumnSpec(Group.last_modified),
        f"{APPLIANCE_GROUP}:sanitizeddisplayname".lower():
            ColumnSpec(Group.sanitized_display_name),
        f"{APPLIANCE_GROUP}:nameadjusted".lower(): ColumnSpec(Group.name_adjusted),
        f"{APPLIANCE_GROUP}:source".lower(): ColumnSpec(Group.source),
    },
    element_tables={
        "members": ElementTable(Membership.group_id, {
            "value": ColumnSpec(Membership.member_id),
            "type": ColumnSpec(Membership.member_type),
        }),
    },
)


# -- the dialect-specific JSON bits ---------------------------------------------
@dataclass(frozen=True)
class JsonValue:
    """One value in a JSON document: what kind it is, its SQL value, its address.

    `kind` is never NULL (`missing` when absent), so tests on it are two-valued.
    `scalar` is the native SQL value for strings and numbers (SQLite) or the text
    rendering (PostgreSQL); for arrays and objects it is their compact JSON text.
    """

    kind: Any
    scalar: Any
    doc: Any
    path: tuple[str, ...]


class _SQLiteJson:
    """SQLite's JSON1: json_extract / json_type / json_each."""

    string_kinds = ("text",)
    number_kinds = ("integer", "real")
    bool_kinds = ("true", "false")

    def root(self, data_column):
        return data_column

    def at(self, doc, path: tuple[str, ...]) -> JsonValue:
        where = "$" + "".join(f'."{name}"' for name in path)
        return JsonValue(func.coalesce(func.json_type(doc, where), _MISSING),
                         func.json_extract(doc, where), doc, path)

    def is_bool(self, v: JsonValue, flag: bool) -> Clause:
        return v.kind == ("true" if flag else "false")

    def number(self, v: JsonValue):
        return v.scalar  # json_extract gives JSON true/false as 1/0, as Python's True == 1

    def timestamp(self, v: JsonValue):
        # strftime() normalises RFC 3339 offsets to UTC; NULL when it cannot parse.
        looks_like_date = v.scalar.op("GLOB")("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*")
        return case((and_(v.kind == "text", looks_like_date),
                     func.strftime("%Y-%m-%d %H:%M:%f", v.scalar)))

    def timestamp_literal(self, value: datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"

    def elements(self, v: JsonValue):
        """(FROM item, element, order column) for the array at `v`.

        json_each over a non-array walks an object's members, so callers guard
        with `kind == 'array'`. An element's sub-attributes are only read when it
        is an object: json_extract would parse a string element as JSON.
        """
        where = "$" + "".join(f'."{name}"' for name in v.path)
        each = func.json_each(v.doc, where).table_valued("key", "value", "type").alias()
        element = JsonValue(each.c.type, each.c.value,
                            case((each.c.type == "object", each.c.value)), ())
        return each, element, each.c.key


class _PostgresJson:
    """PostgreSQL jsonb: #> / #>> / jsonb_typeof / jsonb_array_elements."""

    string_kinds = ("string",)
    number_kinds = ("number",)
    bool_kinds = ("boolean",)

    def root(self, data_column):
        return cast(data_column, JSONB)

    def at(self, doc, path: tuple[str, ...]) -> JsonValue:
        node = doc[path] if path else doc
        text = node.astext if path else doc.op("#>>")(literal_column("'{}'::text[]"))
        return JsonValue(func.coalesce(func.jsonb_typeof(node), _MISSING), text, doc, path)

    def is_bool(self, v: JsonValue, flag: bool) -> Clause:
        return and_(v.kind == "boolean", v.scalar == ("true" if flag else "false"))

    def number(self, v: JsonValue):
        return case((v.kind == "number", cast(v.scalar, Numeric)),
                    (v.kind == "boolean", case((v.scalar == "true", 1), else_=0)))

    def timestamp(self, v: JsonValue):
        looks_like_date = v.scalar.op("~")(r"^\d{4}-\d\d-\d\d")
        return case((and_(v.kind == "string", looks_like_date),
                     func.timezone("UTC", cast(v.scalar, TIMESTAMP(timezone=True)))))

    def timestamp_literal(self, value: datetime):
        return value

    def elements(self, v: JsonValue):
        node = v.doc[v.path] if v.path else v.doc
        array = case((v.kind == "array", node), else_=cast("[]", JSONB))
        each = func.jsonb_array_elements(array).table_valued(
            column("value", JSONB), with_ordinality="ordinality").alias()
        return each, self.at(each.c.value, ()), each.c.ordinality


_DIALECTS = {"sqlite": _SQLiteJson(), "postgresql": _PostgresJson()}


def _json_dialect(name: str):
    try:
        return _DIALECTS["postgresql" if name == "postgres" else name]
    except KeyError:
        raise ValueError(f"no SCIM filter translation for SQL dialect {name!r}") from None


# -- comparisons shared by all locations --------------------------------------
def _like_pattern(op: str, value: str) -> str:
    """co/sw/ew as a LIKE pattern; `%` and `_` in the literal match themselves.

    The pattern is built here rather than in SQL (`? || '%'`) so SQLite can still
    turn `sw` on an indexed column into an index range.
    """
    escaped = "".join(_LIKE_ESCAPE + ch if ch in "%_" + _LIKE_ESCAPE else ch for ch in value)
    return {"co": f"%{escaped}%", "sw": f"{escaped}%", "ew": f"%{escaped}"}[op]


def _string_op(lhs, op: str, value) -> Clause:
    """eq/ne/co/sw/ew/gt/ge/lt/le on two non-NULL values (RFC 7644 §3.4.2.2)."""
    if op == "eq":
        return lhs == value
    if op == "ne":
        return lhs != value
    if op in ("co", "sw", "ew"):
        return lhs.like(_like_pattern(op, value), escape=_LIKE_ESCAPE)
    return _ORDERING[op](lhs, value)


def _presence(present: Clause, op: str) -> Clause:
    """`pr` and `ne null` are "present"; `eq null` is "not present"."""
    return not_(present) if op == "eq" else present


def _is_presence_test(op: str, value) -> bool:
    return op == "pr" or value is None


def _bool_result(flag: bool) -> Clause:
    return true() if flag else false()


# -- locations: where one value lives and how to test it ---------------------------
class _Loc:
    """Where one attribute value (or one element of a multi-valued one) lives."""

    label = "this attribute"

    def present(self) -> Clause:
        raise NotImplementedError

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        raise NotImplementedError

    def sub(self, attr: Attribute) -> _Loc:
        raise InvalidFilter(f"'{self.label}.{attr.name}' is not filterable")

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        """`attr[filter]` semantics: some element (or the object itself) satisfies it."""
        raise InvalidFilter(f"'{self.label}' cannot take a '[...]' filter")

    def any_element(self, build: Callable[[_Loc], Clause]) -> Clause:
        """Some element of a multi-valued attribute satisfies `build`."""
        raise InvalidFilter(f"'{self.label}' is not multi-valued")

    def sort_key(self, leaf: Attribute):
        raise InvalidValue(f"cannot sort by '{self.label}'")

    def first_sort_key(self, pick, leaf: Attribute, primary: Attribute | None):
        raise InvalidValue(f"cannot sort by '{self.label}'")


class _ColumnLoc(_Loc):
    """An attribute copied into an indexed column: compare the column itself."""

    def __init__(self, spec: ColumnSpec, label: str):
        self.spec = spec
        self.label = label
        col = spec.column
        self.column = col
        self.nullable = getattr(getattr(col, "expression", col), "nullable", True)

    def _guard(self, clause: Clause) -> Clause:
        # col <op> x is NULL when col is NULL; make it FALSE so NOT(...) agrees.
        return and_(self.column.is_not(None), clause) if self.nullable else clause

    def present(self) -> Clause:
        """Present: not NULL and, for text columns, not "" (as `pr` in `matches`)."""
        return self._guard(self.column != "" if _column_is_text(self.column) else true())

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        if _is_presence_test(op, value):
            return _presence(self.present(), op)
        if leaf.type == "boolean":
            return self._guard(self.column == value if op == "eq" else self.column != value)
        if leaf.type == "dateTime":
            if not isinstance(value, datetime):
                raise InvalidFilter(f"'{op}' cannot be used on dateTime '{self.label}'; "
                                    "use eq, ne, gt, ge, lt or le")
            return self._guard(_string_op(self.column, op, value))
        if isinstance(value, str):
            lhs, value = self._folded(leaf, value)
            return self._guard(_string_op(lhs, op, value))
        return self._guard(_string_op(self.column, op, value))

    def _folded(self, leaf: Attribute, value: str):
        """caseExact=false compares lower-cased values (RFC 7643 §2.2)."""
        if leaf.case_exact:
            return self.column, value
        lhs = self.column if self.spec.folded else func.lower(self.column)
        return lhs, value.lower()

    def sort_key(self, leaf: Attribute):
        if leaf.type in ("string", "reference", "binary") and not leaf.case_exact \
                and not self.spec.folded:
            return func.lower(self.column)
        return self.column


def _column_is_text(col) -> bool:
    try:
        return col.type.python_type is str
    except NotImplementedError:
        return False


class _ConstLoc(_Loc):
    """A value that is the same for every row (`meta.resourceType`)."""

    def __init__(self, value, label: str):
        self.value = value
        self.label = label

    def present(self) -> Clause:
        return _bool_result(self.value not in (None, "", [], {}))

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        # Decide in Python with the reference semantics; SQL gets TRUE or FALSE.
        probe = Compare(op, AttrRef(leaf), value)
        return _bool_result(matches(probe, {leaf.name: self.value}))

    def sort_key(self, leaf: Attribute):
        return literal(self.value)


class _MetaLoc(_Loc):
    """`meta`: always present; its sub-attributes are columns or constants."""

    label = "meta"

    def __init__(self, mapping: ResourceMapping):
        self.mapping = mapping

    def present(self) -> Clause:
        return true()

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        if _is_presence_test(op, value):
            return _presence(self.present(), op)
        raise InvalidFilter("'meta' is complex; name a sub-attribute to compare")

    def sub(self, attr: Attribute) -> _Loc:
        key = f"meta.{attr.name.lower()}"
        if key in self.mapping.columns:
            return _ColumnLoc(self.mapping.columns[key], f"meta.{attr.name}")
        if key == "meta.resourcetype":
            return _ConstLoc(self.mapping.resource_type, "meta.resourceType")
        raise InvalidFilter(f"'meta.{attr.name}' is not filterable")

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        return build(self)


class _RowLoc(_Loc):
    """One row of an element table (one membership)."""

    def __init__(self, table: ElementTable, label: str):
        self.table = table
        self.label = label

    def present(self) -> Clause:
        return true()

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        if _is_presence_test(op, value):
            return _presence(self.present(), op)
        raise InvalidFilter(f"'{self.label}' is complex; name a sub-attribute to compare")

    def sub(self, attr: Attribute) -> _Loc:
        spec = self.table.subs.get(attr.name.lower())
        if spec is None:
            raise InvalidFilter(f"'{self.label}.{attr.name}' is not filterable")
        return _ColumnLoc(spec, f"{self.label}.{attr.name}")


class _ElementTableLoc(_Loc):
    """A multi-valued attribute kept as rows (`groups`, `members`).

    `id IN (SELECT owner FROM memberships WHERE ...)` rather than a correlated
    EXISTS: the sub-select runs once and the outer side is a primary-key probe.
    """

    def __init__(self, mapping: ResourceMapping, table: ElementTable, label: str):
        self.mapping = mapping
        self.table = table
        self.label = label

    def any_element(self, build: Callable[[_Loc], Clause]) -> Clause:
        rows = select(self.table.owner).where(build(_RowLoc(self.table, self.label)))
        return self.mapping.id_column.in_(rows)

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        return self.any_element(build)

    def first_sort_key(self, pick, leaf: Attribute, primary: Attribute | None):
        # Memberships have no order and no primary: the least value is "first".
        key = pick(_RowLoc(self.table, self.label)).sort_key(leaf)
        owner_is_row = self.table.owner == self.mapping.id_column
        return select(func.min(key)).where(owner_is_row).scalar_subquery()


class _JsonLoc(_Loc):
    """A value inside the `data` JSON document (or one element of a JSON array)."""

    def __init__(self, dialect, value: JsonValue, label: str):
        self.d = dialect
        self.v = value
        self.label = label

    def _kind_in(self, kinds: tuple[str, ...]) -> Clause:
        return self.v.kind == kinds[0] if len(kinds) == 1 else self.v.kind.in_(kinds)

    def present(self) -> Clause:
        """Present and not null, "", [] or {} (RFC 7644 §3.4.2.2 `pr`; `matches`)."""
        v = self.v
        return or_(
            self._kind_in(self.d.number_kinds + self.d.bool_kinds),
            and_(self._kind_in(self.d.string_kinds), v.scalar != ""),
            and_(self._kind_in(("array", "object")), v.scalar.not_in(("[]", "{}"))),
        )

    def nonempty_object(self) -> Clause:
        return and_(self.v.kind == "object", self.v.scalar != "{}")

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        if _is_presence_test(op, value):
            return _presence(self.present(), op)
        if leaf.type == "boolean":
            return self._compare_bool(op, value)
        if leaf.type == "dateTime" and isinstance(value, datetime):
            return self._compare_datetime(op, value)
        if isinstance(value, str):
            return self._compare_string(op, leaf, value)
        return self._compare_number(op, value)

    def _compare_string(self, op: str, leaf: Attribute, value: str) -> Clause:
        """Only JSON strings compare with strings; caseExact=false lowers both sides."""
        lhs = self.v.scalar
        if not leaf.case_exact:
            lhs, value = func.lower(lhs), value.lower()
        return and_(self._kind_in(self.d.string_kinds), _string_op(lhs, op, value))

    def _compare_bool(self, op: str, value: bool) -> Clause:
        """As `matches`: "True"/"false" strings count, 1/0 equal true/false."""
        v = self.v
        text_match = (func.lower(v.scalar) == "true") if value \
            else (func.lower(v.scalar) != "true")
        equal = or_(
            self.d.is_bool(v, value),
            and_(self._kind_in(self.d.string_kinds), text_match),
            and_(self._kind_in(self.d.number_kinds), self.d.number(v) == int(value)),
        )
        if op == "eq":
            return equal
        return and_(v.kind.not_in((_MISSING, "null")), not_(equal))

    def _compare_number(self, op: str, value) -> Clause:
        """Numbers (and booleans, as in Python) compare numerically; strings never
        equal a number, and `ne` is true for any present non-equal value."""
        numeric = self._kind_in(self.d.number_kinds + self.d.bool_kinds)
        if op == "ne":
            equal = and_(numeric, self.d.number(self.v) == value)
            return and_(self.v.kind.not_in((_MISSING, "null")), not_(equal))
        return and_(numeric, _string_op(self.d.number(self.v), op, value))

    def _compare_datetime(self, op: str, value: datetime) -> Clause:
        if op not in ("eq", "ne", *_ORDERING):
            raise InvalidFilter(f"'{op}' cannot be used on dateTime '{self.label}'")
        stamp = self.d.timestamp(self.v)
        return and_(stamp.is_not(None),
                    _string_op(stamp, op, self.d.timestamp_literal(value)))

    def sub(self, attr: Attribute) -> _Loc:
        return _JsonLoc(self.d, self.d.at(self.v.doc, self.v.path + (attr.name,)),
                        f"{self.label}.{attr.name}")

    def _exists(self, build: Callable[[_Loc], Clause]) -> Clause:
        each, element, _ = self.d.elements(self.v)
        inner = build(_JsonLoc(self.d, element, self.label))
        return select(literal_column("1")).select_from(each).where(inner).exists()

    def any_element(self, build: Callable[[_Loc], Clause]) -> Clause:
        return and_(self.v.kind == "array", self._exists(build))

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        # Only object elements can satisfy `[...]`; and like `matches`, a non-empty
        # object where a list was expected counts as a one-element list.
        in_list = self.any_element(lambda e: and_(e.v.kind == "object", build(e)))
        return or_(in_list, and_(self.nonempty_object(), build(self)))

    def sort_key(self, leaf: Attribute):
        d, v = self.d, self.v
        if leaf.type == "boolean":
            return case((d.is_bool(v, True), 1), (d.is_bool(v, False), 0))
        if leaf.type in ("integer", "decimal"):
            return case((self._kind_in(d.number_kinds), d.number(v)))
        if leaf.type == "dateTime":
            return d.timestamp(v)
        text = v.scalar if leaf.case_exact else func.lower(v.scalar)
        return case((self._kind_in(d.string_kinds), text))

    def first_sort_key(self, pick, leaf: Attribute, primary: Attribute | None):
        """RFC 7644 §3.4.2.3: the primary element's value, else the first one's."""
        each, element, position = self.d.elements(self.v)
        loc = _JsonLoc(self.d, element, self.label)
        order = [position]
        if primary is not None:
            order.insert(0, case((loc.sub(primary).compare("eq", primary, True), 0), else_=1))
        query = select(pick(loc).sort_key(leaf)).select_from(each)
        return query.where(self.v.kind == "array").order_by(*order).limit(1).scalar_subquery()


# -- the translation -------------------------------------------------------------
def _check_filterable(attr: Attribute) -> None:
    # Filtering on a returned=never attribute (password) would let a client
    # guess it one `sw` at a time.
    if attr.returned == "never":
        raise InvalidFilter(f"'{attr.name}' cannot be used in a filter")


def _json_path(attr: Attribute) -> tuple[str, ...]:
    """Core and common attributes sit at the top of `data`; extensions under their URN."""
    if attr.schema and attr.schema not in (CORE_USER, CORE_GROUP):
        return (attr.schema, attr.name)
    return (attr.name,)


class _Context:
    def __init__(self, mapping: ResourceMapping, dialect: str):
        self.mapping = mapping
        self.d = _json_dialect(dialect)

    def location(self, attr: Attribute) -> _Loc:
        """Where a top-level attribute lives: a column, memberships, meta or JSON."""
        _check_filterable(attr)
        m, key = self.mapping, attr.name.lower()
        if attr.schema in ("", m.core_schema):
            if key in m.columns:
                return _ColumnLoc(m.columns[key], attr.name)
            if key in m.element_tables:
                return _ElementTableLoc(m, m.element_tables[key], attr.name)
            if attr.schema == "" and key == "meta":
                return _MetaLoc(m)
        elif f"{attr.schema.lower()}:{key}" in m.columns:
            return _ColumnLoc(m.columns[f"{attr.schema.lower()}:{key}"], attr.name)
        value = self.d.at(self.d.root(m.data_column), _json_path(attr))
        return _JsonLoc(self.d, value, attr.name)

    def clause(self, expr) -> Clause:
        if isinstance(expr, And):
            return and_(self.clause(expr.left), self.clause(expr.right))
        if isinstance(expr, Or):
            return or_(self.clause(expr.left), self.clause(expr.right))
        if isinstance(expr, Not):
            return not_(self.clause(expr.expr))
        if isinstance(expr, ValuePath):
            return self.location(expr.attr).some(lambda elem: _element_clause(expr.filter, elem))
        if isinstance(expr, Compare):
            return self.compare(expr)
        raise TypeError(f"unexpected filter node {expr!r}")

    def compare(self, expr: Compare) -> Clause:
        ref = expr.ref
        loc = self.location(ref.attr)
        if ref.attr.multi_valued:
            return _compare_elements(loc, ref, expr.op, expr.value)
        if ref.sub is not None:
            loc = loc.sub(ref.sub)
        return loc.compare(expr.op, ref.leaf, expr.value)


def _element_clause(expr, element: _Loc) -> Clause:
    """The inside of `attr[...]`, evaluated on one element (one json_each row)."""
    if isinstance(expr, And):
        return and_(_element_clause(expr.left, element), _element_clause(expr.right, element))
    if isinstance(expr, Or):
        return or_(_element_clause(expr.left, element), _element_clause(expr.right, element))
    if isinstance(expr, Not):
        return not_(_element_clause(expr.expr, element))
    if isinstance(expr, Compare):
        target = element.sub(expr.ref.sub) if expr.ref.sub is not None else element
        return target.compare(expr.op, expr.ref.leaf, expr.value)
    raise TypeError(f"unexpected filter node {expr!r}")


def _element_target(ref: AttrRef):
    """What each element of a multi-valued attribute contributes to a comparison.

    RFC 7644 §3.4.2.2: a complex attribute named without a sub-attribute compares
    its `value` sub-attribute. A complex attribute that has no `value` (addresses)
    can only be tested for presence; its elements themselves are what is present.
    """
    attr = ref.attr
    if ref.sub is not None:
        return (lambda e: e.sub(ref.sub)), ref.sub
    value_attr = attr.sub("value") if attr.is_complex else None
    if value_attr is not None:
        return (lambda e: e.sub(value_attr)), value_attr
    return (lambda e: e), attr


def _compare_elements(loc: _Loc, ref: AttrRef, op: str, value) -> Clause:
    """A multi-valued attribute matches when some element does (RFC 7644 §3.4.2.2).

    `pr` is "some element has a present value", and `eq null` is its negation,
    `ne null` the same as `pr`. Known difference: `emails pr` (no sub-attribute)
    looks at the elements' `value` here, while `filters.matches` counts any
    non-empty element (RFC 7644: "a non-empty node"), so `[{"type": "work"}]`
    is present there and absent here. Validated documents rarely hold such
    elements; the property test in test_filter_sql.py accounts for it.
    """
    pick, leaf = _element_target(ref)
    if _is_presence_test(op, value):
        some_present = loc.any_element(lambda e: pick(e).present())
        return _presence(some_present, op)
    return loc.any_element(lambda e: pick(e).compare(op, leaf, value))


def to_sql_clause(expr, mapping: ResourceMapping, dialect: str = "sqlite") -> Clause:
    """A WHERE clause selecting the rows of `mapping.model` that match `expr`.

    `expr` is a tree from `filters.parse_filter` (None selects every row).
    Raises InvalidFilter for attributes that cannot be filtered on here
    (`meta.location`, `meta.version`, `members.display`, `password`, ...).
    `dialect` is "sqlite" or "postgresql".
    """
    if expr is None:
        return true()
    return _Context(mapping, dialect).clause(expr)


def sort_expression(ref: AttrRef, mapping: ResourceMapping, dialect: str = "sqlite"):
    """The ORDER BY expression for `sortBy` (RFC 7644 §3.4.2.3).

    Indexed columns where there are any; caseExact=false strings lower-cased; a
    multi-valued attribute sorts by the `value` (or the named sub-attribute) of its
    primary element, else its first. A row without a value gives NULL: use
    `order_by_clauses` to put those last when ascending, as the RFC asks. Raises
    InvalidValue for what cannot be sorted on (a complex attribute without a
    sub-attribute, `meta.location`).
    """
    ctx = _Context(mapping, dialect)
    try:
        loc = ctx.location(ref.attr)
        if ref.attr.multi_valued:
            pick, leaf = _element_target(ref)
            if leaf.is_complex:
                raise InvalidValue(f"sort by a sub-attribute of '{ref.attr.name}'")
            return loc.first_sort_key(pick, leaf, ref.attr.sub("primary"))
        if ref.sub is not None:
            loc = loc.sub(ref.sub)
        elif ref.attr.is_complex:
            raise InvalidValue(f"'{ref.attr.name}' is complex; sort by a sub-attribute, "
                               f"e.g. '{ref.attr.name}.{ref.attr.sub_attributes[0].name}'")
        return loc.sort_key(ref.leaf)
    except InvalidFilter as exc:
        raise InvalidValue(f"cannot sort by '{ref.dotted}': {exc.detail}") from None


def order_by_clauses(ref: AttrRef, mapping: ResourceMapping, descending: bool = False,
                     dialect: str = "sqlite") -> list:
    """ORDER BY list for sortBy/sortOrder: rows without a value last when ascending,
    first when descending (RFC 7644 §3.4.2.3), then `id` so pages are stable."""
    key = sort_expression(ref, mapping, dialect)
    ordered = key.desc().nulls_first() if descending else key.asc().nulls_last()
    return [ordered, mapping.id_column]
