"""The dialect-specific SQL for reading SCIM attributes out of a JSON document.

filter_sql.py builds its clauses from these few operations, so supporting another
database means one more class here, not changes across the filter translation.
SQLite (JSON1) is the tested default; PostgreSQL (jsonb) runs the API tests too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, column, func, literal_column, true
from sqlalchemy.dialects.postgresql import JSONB, TIMESTAMP
from sqlalchemy.sql.elements import ColumnElement

Clause = ColumnElement[bool]
MISSING = "missing"  # the kind of a JSON value that is not there at all


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


class SQLiteJson:
    """SQLite's JSON1: json_extract / json_type / json_each."""

    string_kinds = ("text",)
    number_kinds = ("integer", "real")
    bool_kinds = ("true", "false")

    def root(self, data_column):
        return data_column

    def at(self, doc, path: tuple[str, ...]) -> JsonValue:
        where = "$" + "".join(f'."{name}"' for name in path)
        return JsonValue(func.coalesce(func.json_type(doc, where), MISSING),
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
        # Not strftime("%Y"): glibc writes year 1 as "1", which sorts after "0999".
        return (f"{value.year:04d}-{value.month:02d}-{value.day:02d} {value.hour:02d}:"
                f"{value.minute:02d}:{value.second:02d}.{value.microsecond // 1000:03d}")

    def contains(self, text, value: str) -> Clause:
        return func.instr(text, value) > 0

    def ends_with(self, text, value: str) -> Clause:
        return func.substr(text, -len(value)) == value  # the last len(value) characters

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

    def is_array_element(self, each) -> Clause:
        # json_each walks an array's elements (integer keys), an object's members (text
        # keys) or a lone scalar (NULL key).
        return func.typeof(each.c.key) == "integer"


class PostgresJson:
    """PostgreSQL jsonb: #> / #>> / jsonb_typeof / jsonb_array_elements."""

    string_kinds = ("string",)
    number_kinds = ("number",)
    bool_kinds = ("boolean",)

    def root(self, data_column):
        return cast(data_column, JSONB)

    def at(self, doc, path: tuple[str, ...]) -> JsonValue:
        node = doc[path] if path else doc
        text = node.astext if path else doc.op("#>>")(literal_column("'{}'::text[]"))
        return JsonValue(func.coalesce(func.jsonb_typeof(node), MISSING), text, doc, path)

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

    def contains(self, text, value: str) -> Clause:
        return func.strpos(text, value) > 0

    def ends_with(self, text, value: str) -> Clause:
        return func.right(text, len(value)) == value

    def elements(self, v: JsonValue):
        node = v.doc[v.path] if v.path else v.doc
        # Not cast("[]", JSONB): its bind processor serialises the str, giving the scalar "[]".
        array = case((v.kind == "array", node), else_=func.jsonb_build_array())
        each = func.jsonb_array_elements(array).table_valued(
            column("value", JSONB), with_ordinality="ordinality").alias()
        return each, self.at(each.c.value, ()), each.c.ordinality

    def is_array_element(self, each) -> Clause:
        return true()  # `elements` walks an empty array unless the value is one


_DIALECTS = {"sqlite": SQLiteJson(), "postgresql": PostgresJson()}


def json_dialect(name: str):
    """The JSON functions of a SQL dialect ("sqlite" or "postgresql")."""
    try:
        return _DIALECTS["postgresql" if name == "postgres" else name]
    except KeyError:
        raise ValueError(f"no SCIM filter translation for SQL dialect {name!r}") from None
