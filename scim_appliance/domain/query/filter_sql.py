"""Translate parsed SCIM filters (RFC 7644 §3.4.2.2) and sortBy (§3.4.2.3) into SQL.

The database answers every filter: rows are never loaded into Python to be
tested. `filters.matches` is the reference semantics and the clauses built here
agree with it row for row (the tests check this with generated filters), with one
known difference on odd data (see `_compare_elements`).

Where a resource's attributes live (see storage/models.py):

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
from datetime import datetime

from sqlalchemy import (
    and_,
    case,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.elements import ColumnElement

from ..protocol.errors import InvalidFilter, InvalidValue
from ..protocol.filter_tree import And, AttrRef, Compare, Const, Not, Or, ValuePath, matches
from ..protocol.schema import CORE_GROUP, CORE_USER, Attribute
from .json_sql import MISSING, JsonValue, json_dialect
from .mappings import ColumnSpec, ElementTable, ResourceMapping

Clause = ColumnElement[bool]
_LIKE_ESCAPE = "/"
_ORDERING = {
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


# -- comparisons shared by all locations --------------------------------------
def _prefix_pattern(value: str) -> str:
    """`sw` as a LIKE pattern; `%` and `_` in the literal match themselves.

    The pattern is built here rather than in SQL (`? || '%'`) so SQLite can still
    turn `sw` on an indexed column into an index range.
    """
    escaped = "".join(_LIKE_ESCAPE + ch if ch in "%_" + _LIKE_ESCAPE else ch for ch in value)
    return f"{escaped}%"


def _string_op(d, lhs, op: str, value) -> Clause:
    """eq/ne/co/sw/ew/gt/ge/lt/le on two non-NULL values (RFC 7644 §3.4.2.2).

    `co` and `ew` are substring tests rather than LIKE '%…%' / '%…': SQLite matches a
    leading '%' by backtracking, about 1 s per 5,000 rows for `co "aaa…ab"` against
    values of a few hundred repeated letters (scripts/bench_filters.py).
    """
    if op == "eq":
        return lhs == value
    if op == "ne":
        return lhs != value
    if op == "sw":
        return lhs.like(_prefix_pattern(value), escape=_LIKE_ESCAPE)
    if op == "co":
        return d.contains(lhs, value)
    if op == "ew":
        return d.ends_with(lhs, value) if value else lhs.like("%")
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

    def __init__(self, spec: ColumnSpec, label: str, dialect):
        self.spec = spec
        self.label = label
        self.d = dialect
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
            return self._guard(_string_op(self.d, self.column, op, value))
        if isinstance(value, str):
            lhs, value = self._folded(leaf, value)
            return self._guard(_string_op(self.d, lhs, op, value))
        return self._guard(_string_op(self.d, self.column, op, value))

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

    def __init__(self, mapping: ResourceMapping, dialect):
        self.mapping = mapping
        self.d = dialect

    def present(self) -> Clause:
        return true()

    def compare(self, op: str, leaf: Attribute, value) -> Clause:
        if _is_presence_test(op, value):
            return _presence(self.present(), op)
        raise InvalidFilter("'meta' is complex; name a sub-attribute to compare")

    def sub(self, attr: Attribute) -> _Loc:
        key = f"meta.{attr.name.lower()}"
        if key in self.mapping.columns:
            return _ColumnLoc(self.mapping.columns[key], f"meta.{attr.name}", self.d)
        if key == "meta.resourcetype":
            return _ConstLoc(self.mapping.resource_type, "meta.resourceType")
        raise InvalidFilter(f"'meta.{attr.name}' is not filterable")

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        return build(self)


class _RowLoc(_Loc):
    """One row of an element table (one membership)."""

    def __init__(self, table: ElementTable, label: str, dialect):
        self.table = table
        self.label = label
        self.d = dialect

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
        return _ColumnLoc(spec, f"{self.label}.{attr.name}", self.d)


class _ElementTableLoc(_Loc):
    """A multi-valued attribute kept as rows (`groups`, `members`).

    `id IN (SELECT owner FROM memberships WHERE ...)` rather than a correlated
    EXISTS: the sub-select runs once and the outer side is a primary-key probe.
    """

    def __init__(self, mapping: ResourceMapping, table: ElementTable, label: str, dialect):
        self.mapping = mapping
        self.table = table
        self.label = label
        self.d = dialect

    def any_element(self, build: Callable[[_Loc], Clause]) -> Clause:
        rows = select(self.table.owner).where(build(_RowLoc(self.table, self.label, self.d)))
        return self.mapping.id_column.in_(rows)

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        return self.any_element(build)

    def first_sort_key(self, pick, leaf: Attribute, primary: Attribute | None):
        # Memberships have no order and no primary: the least value is "first".
        key = pick(_RowLoc(self.table, self.label, self.d)).sort_key(leaf)
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
        return and_(self._kind_in(self.d.string_kinds), _string_op(self.d, lhs, op, value))

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
        return and_(v.kind.not_in((MISSING, "null")), not_(equal))

    def _compare_number(self, op: str, value) -> Clause:
        """Numbers (and booleans, as in Python) compare numerically; strings never
        equal a number, and `ne` is true for any present non-equal value."""
        numeric = self._kind_in(self.d.number_kinds + self.d.bool_kinds)
        if op == "ne":
            equal = and_(numeric, self.d.number(self.v) == value)
            return and_(self.v.kind.not_in((MISSING, "null")), not_(equal))
        return and_(numeric, _string_op(self.d, self.d.number(self.v), op, value))

    def _compare_datetime(self, op: str, value: datetime) -> Clause:
        if op not in ("eq", "ne", *_ORDERING):
            raise InvalidFilter(f"'{op}' cannot be used on dateTime '{self.label}'")
        stamp = self.d.timestamp(self.v)
        return and_(stamp.is_not(None),
                    _string_op(self.d, stamp, op, self.d.timestamp_literal(value)))

    def sub(self, attr: Attribute) -> _Loc:
        return _JsonLoc(self.d, self.d.at(self.v.doc, self.v.path + (attr.name,)),
                        f"{self.label}.{attr.name}")

    def any_element(self, build: Callable[[_Loc], Clause]) -> Clause:
        """Some element of the array here satisfies `build` (FALSE when it is no array).

        One pass over the document: the dialect's element walk itself tells array
        elements apart, rather than a separate type test that parses it again.
        """
        each, element, _ = self.d.elements(self.v)
        inner = and_(self.d.is_array_element(each), build(_JsonLoc(self.d, element, self.label)))
        return select(literal_column("1")).select_from(each).where(inner).exists()

    def some(self, build: Callable[[_Loc], Clause]) -> Clause:
        # Only object elements can satisfy `[...]`; and like `matches`, a non-empty
        # object where a list was expected counts as a one-element list. CASE on the
        # kind evaluates (and parses the document for) it once.
        in_list = self.any_element(lambda e: and_(e.v.kind == "object", build(e)))
        return case({"array": in_list, "object": and_(self.v.scalar != "{}", build(self))},
                    value=self.v.kind, else_=false())

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
        self.d = json_dialect(dialect)

    def location(self, attr: Attribute) -> _Loc:
        """Where a top-level attribute lives: a column, memberships, meta or JSON."""
        _check_filterable(attr)
        m, key = self.mapping, attr.name.lower()
        if attr.schema in ("", m.core_schema):
            if key in m.columns:
                return _ColumnLoc(m.columns[key], attr.name, self.d)
            if key in m.element_tables:
                return _ElementTableLoc(m, m.element_tables[key], attr.name, self.d)
            if attr.schema == "" and key == "meta":
                return _MetaLoc(m, self.d)
        elif f"{attr.schema.lower()}:{key}" in m.columns:
            return _ColumnLoc(m.columns[f"{attr.schema.lower()}:{key}"], attr.name, self.d)
        value = self.d.at(self.d.root(m.data_column), _json_path(attr))
        return _JsonLoc(self.d, value, attr.name)

    def clause(self, expr) -> Clause:
        if isinstance(expr, Const):
            return _bool_result(expr.value)
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
    if isinstance(expr, Const):
        return _bool_result(expr.value)
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
