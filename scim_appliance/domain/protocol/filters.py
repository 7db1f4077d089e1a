"""Parse SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2) into resolved trees.

Attribute names are resolved against the resource type while parsing, so an
unknown attribute is an `invalidFilter` that points at the position where it was
written, and later stages (SQL translation, PATCH, in-memory matching) can rely on
every reference carrying its schema definition: type, caseExact, multiValued.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import json_input
from .documents import get_attr
from .errors import InvalidFilter, InvalidPath
from .schema import CORE_GROUP, CORE_USER, Attribute, ResourceType

COMPARE_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
ORDER_OPS = {"gt", "ge", "lt", "le"}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<punct>[()\[\]])
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.:$]))
  | (?P<urn>urn:[^\s()\[\]"]+)
  | (?P<name>[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?)
  | (?P<subattr>\.[A-Za-z$][\w$-]*)
    """,
    re.VERBOSE | re.IGNORECASE,
)


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
class PatchPath:
    """A PATCH `path`: attribute, optional element filter, optional sub-attribute."""

    attr: Attribute | None  # None: the path names a whole extension schema
    sub: Attribute | None = None
    filter: Any = None
    schema_urn: str | None = None


@dataclass
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str, error) -> list[_Token]:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match:
            raise error(f"unexpected character {text[pos]!r} at position {pos + 1}")
        kind = match.lastgroup
        if kind != "ws":
            tokens.append(_Token(kind, match.group(), pos + 1))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, text: str, rtype: ResourceType, error=InvalidFilter):
        self.text = text
        self.rtype = rtype
        self.error = error
        self.tokens = _tokenize(text, error)
        self.i = 0

    # -- token helpers -------------------------------------------------------
    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        tok = self.peek()
        if tok is None:
            raise self.error(f"filter ends too early: expected {expected}")
        self.i += 1
        return tok

    def is_word(self, tok: _Token | None, *words: str) -> bool:
        return tok is not None and tok.kind == "name" and tok.text.lower() in words

    def fail(self, tok: _Token | None, expected: str):
        if tok is None:
            raise self.error(f"filter ends too early: expected {expected}")
        raise self.error(f"expected {expected} at position {tok.pos}, found {tok.text!r}")

    # -- grammar ---------------------------------------------------------------
    def parse(self):
        if not self.tokens:
            raise self.error("the filter is empty")
        expr = self.parse_or(None)
        tok = self.peek()
        if tok is not None:
            self.fail(tok, "'and', 'or' or the end of the filter")
        return expr

    def parse_inner(self, parent: Attribute):
        """Parse the body of a PATCH path's `[...]` against its parent attribute."""
        if not self.tokens:
            raise self.error("the '[...]' filter is empty")
        expr = self.parse_or(parent)
        if self.peek() is not None:
            self.fail(self.peek(), "'and', 'or' or ']'")
        return expr

    def parse_or(self, parent):
        expr = self.parse_and(parent)
        while self.is_word(self.peek(), "or"):
            self.i += 1
            expr = Or(expr, self.parse_and(parent))
        return expr

    def parse_and(self, parent):
        expr = self.parse_unary(parent)
        while self.is_word(self.peek(), "and"):
            self.i += 1
            expr = And(expr, self.parse_unary(parent))
        return expr

    def parse_unary(self, parent):
        tok = self.peek()
        if self.is_word(tok, "not"):
            self.i += 1
            nxt = self.peek()
            if nxt is None or nxt.text != "(":
                self.fail(nxt, "'(' after 'not'")
            return Not(self.parse_unary(parent))
        if tok is not None and tok.text == "(":
            self.i += 1
            expr = self.parse_or(parent)
            close = self.next("')'")
            if close.text != ")":
                self.fail(close, "')'")
            return expr
        return self.parse_attr_expr(parent)

    def parse_attr_expr(self, parent):
        tok = self.next("an attribute name")
        if tok.kind not in ("name", "urn"):
            self.fail(tok, "an attribute name")
        nxt = self.peek()
        if nxt is not None and nxt.text == "[":
            if parent is not None:
                raise self.error(f"nested '[' at position {nxt.pos} is not allowed")
            ref = self.resolve(tok, None)
            if ref.sub is not None or not ref.attr.is_complex:
                raise self.error(
                    f"'{tok.text}' at position {tok.pos} is not a complex attribute, "
                    "so it cannot take a '[...]' filter"
                )
            self.i += 1
            inner = self.parse_or(ref.attr)
            close = self.next("']'")
            if close.text != "]":
                self.fail(close, "']'")
            after = self.peek()
            if after is not None and after.kind == "subattr":
                # `emails[type eq "work"].value eq "x"` == `emails[type eq "work" and value eq "x"]`
                self.i += 1
                sub = self.sub_of(ref.attr, after.text[1:], after)
                inner = And(inner, self.parse_comparison(AttrRef(ref.attr, sub), after))
            return ValuePath(ref.attr, inner)
        ref = self.resolve(tok, parent)
        return self.parse_comparison(ref, tok)

    def parse_comparison(self, ref: AttrRef, at: _Token):
        op_tok = self.next("an operator")
        op = op_tok.text.lower()
        if op_tok.kind != "name" or (op not in COMPARE_OPS and op != "pr"):
            self.fail(op_tok, f"an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "
                              f"'{at.text}'")
        if op == "pr":
            return Compare("pr", ref)
        if ref.sub is None and ref.attr.is_complex and ref.attr.sub("value") is not None:
            # RFC 7644 §3.4.2.2: `emails co "@x"` compares the `value` sub-attribute.
            ref = AttrRef(ref.attr, ref.attr.sub("value"))
        val_tok = self.next(f"a value after '{op_tok.text}'")
        value = self.literal(val_tok)
        return Compare(op, ref, self.typed_value(ref, op, value, val_tok))

    def literal(self, tok: _Token):
        if tok.kind == "string":
            try:
                return json_input.loads(tok.text)
            except json_input.UnpairedSurrogate as exc:
                raise self.error(f"the string at position {tok.pos} is not valid: {exc}") \
                    from None
            except ValueError:
                raise self.error(f"malformed string at position {tok.pos}") from None
        if tok.kind == "number":
            return json.loads(tok.text)
        if tok.kind == "name" and tok.text.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[tok.text.lower()]
        self.fail(tok, 'a value (a "quoted string", a number, true, false or null)')

    def typed_value(self, ref: AttrRef, op: str, value, tok: _Token):
        leaf = ref.leaf
        where = f"at position {tok.pos}"
        if value is None:
            if op not in ("eq", "ne"):
                raise self.error(f"null can only be compared with eq or ne ({where})")
            return None
        if leaf.is_complex:
            # RFC 7644 §3.4.2.2: a complex attribute without sub-attribute compares `value`.
            raise self.error(f"'{ref.dotted}' is complex; name a sub-attribute to compare "
                             f"({where})")
        if leaf.type == "boolean":
            if isinstance(value, str) and value.lower() in ("true", "false"):
                value = value.lower() == "true"
            if not isinstance(value, bool):
                raise self.error(f"'{ref.dotted}' is a boolean; compare it with true or false "
                                 f"({where})")
            if op not in ("eq", "ne"):
                raise self.error(f"'{op}' cannot be used on boolean '{ref.dotted}' ({where})")
            return value
        if leaf.type in ("integer", "decimal"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.error(f"'{ref.dotted}' is a number ({where})")
            if op in ("co", "sw", "ew"):
                raise self.error(f"'{op}' cannot be used on number '{ref.dotted}' ({where})")
            return value
        if leaf.type == "dateTime":
            if not isinstance(value, str):
                raise self.error(f"'{ref.dotted}' is a dateTime; give it as a string ({where})")
            if op in ("co", "sw", "ew"):
                return value
            return parse_datetime(value, lambda: self.error(
                f"'{value}' is not an RFC 3339 date-time ({where})"))
        if leaf.type == "binary" and op in ORDER_OPS:
            # RFC 7644 §3.4.2.2: ordering binary values SHALL fail as invalidFilter.
            raise self.error(f"'{op}' cannot be used on binary '{ref.dotted}' ({where})")
        if not isinstance(value, str):
            raise self.error(f"'{ref.dotted}' is a string; quote the value ({where})")
        return value

    # -- attribute resolution ------------------------------------------------
    def sub_of(self, attr: Attribute, name: str, tok: _Token) -> Attribute:
        sub = attr.sub(name)
        if sub is None:
            raise self.error(f"'{attr.name}' has no sub-attribute '{name}' "
                             f"(position {tok.pos})")
        return sub

    def resolve(self, tok: _Token, parent: Attribute | None) -> AttrRef:
        text = tok.text
        if parent is not None:
            if tok.kind == "urn" or "." in text:
                raise self.error(f"inside '[...]' name a sub-attribute of '{parent.name}', "
                                 f"not '{text}' (position {tok.pos})")
            return AttrRef(parent, self.sub_of(parent, text, tok))
        return resolve_attr_path(self.rtype, text, self.error, f" (position {tok.pos})")


def resolve_attr_path(rtype: ResourceType, text: str, error=InvalidFilter,
                      where: str = "") -> AttrRef:
    """Resolve `attr`, `attr.sub` or a URN-qualified path to schema definitions."""
    try:
        schema, rest = rtype.split_urn(text)
    except KeyError:
        raise error(f"unknown schema in '{text}'{where}") from None
    if schema is not None and not rest:
        raise error(f"'{text}' names a schema, not an attribute{where}")
    name, _, sub_name = rest.partition(".")
    if schema is None or schema.id == rtype.core.id:
        attr = rtype.top_level(name)  # the core URN also qualifies id, externalId, meta
    else:
        attr = schema.attribute(name)
    if attr is None:
        raise error(f"unknown attribute '{rest}' for {rtype.name}{where}")
    sub = None
    if sub_name:
        sub = attr.sub(sub_name)
        if sub is None:
            raise error(f"'{attr.name}' has no sub-attribute '{sub_name}'{where}")
    return AttrRef(attr, sub)


def parse_datetime(value: str, error) -> datetime:
    """Parse an RFC 3339 timestamp to naive UTC, the form stored in `meta` columns."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise error() from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def parse_filter(text: str, rtype: ResourceType):
    """Parse a filter expression; raises InvalidFilter with the position of the fault."""
    if not isinstance(text, str):
        raise InvalidFilter("the filter must be a string")
    return _Parser(text, rtype).parse()


def parse_path(text: str, rtype: ResourceType) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 §3.5.2: attrPath / valuePath [subAttr])."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidPath("the PATCH path is empty")
    text = text.strip()
    try:
        schema, rest = rtype.split_urn(text)
    except KeyError:
        raise InvalidPath(f"unknown schema in path '{text}'") from None
    if schema is not None and not rest:
        if schema.id == rtype.core.id:
            raise InvalidPath(f"path '{text}' names the core schema, not an attribute")
        return PatchPath(None, schema_urn=schema.id)
    bracket = rest.find("[")
    if bracket == -1:
        if "]" in rest:
            raise InvalidPath(f"unbalanced ']' in path '{text}'")
        ref = resolve_attr_path(rtype, text, InvalidPath, f" in path '{text}'")
        return PatchPath(ref.attr, ref.sub)
    close = rest.rfind("]")
    if close < bracket:
        raise InvalidPath(f"missing ']' in path '{text}'")
    head = text[: len(text) - len(rest) + bracket]
    ref = resolve_attr_path(rtype, head, InvalidPath, f" in path '{text}'")
    if ref.sub is not None or not ref.attr.is_complex:
        raise InvalidPath(f"'{head}' cannot take a '[...]' filter in path '{text}'")
    try:
        inner = _Parser(rest[bracket + 1: close], rtype, InvalidPath).parse_inner(ref.attr)
    except InvalidPath as exc:
        raise InvalidPath(f"bad filter in path '{text}': {exc.detail}") from None
    tail = rest[close + 1:]
    sub = None
    if tail:
        if not tail.startswith(".") or len(tail) < 2:
            raise InvalidPath(f"unexpected '{tail}' after ']' in path '{text}'")
        sub = ref.attr.sub(tail[1:])
        if sub is None:
            raise InvalidPath(f"'{ref.attr.name}' has no sub-attribute '{tail[1:]}'")
    return PatchPath(ref.attr, sub, inner)


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
