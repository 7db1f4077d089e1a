"""Parse SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2) into resolved trees.

Attribute names are resolved against the resource type while parsing, so an
unknown attribute is an `invalidFilter` that points at the position where it was
written, and later stages (SQL translation, PATCH, in-memory matching) can rely on
every reference carrying its schema definition: type, caseExact, multiValued.

The grammar is RFC 7644's ABNF (attribute names are ASCII, RFC 7643 §2.1), with
explicit limits so that no input costs the parser, the SQL translation or the
database more than a bounded amount of work: a filter or path of at most
MAX_FILTER_LENGTH characters, nesting '(' / 'not (' / '[' at most MAX_FILTER_DEPTH
deep, with at most MAX_FILTER_TERMS comparisons (README, "Query limits").
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from . import json_input
from .errors import InvalidFilter, InvalidPath
from .filter_tree import (
    And,
    AttrRef,
    Compare,
    Const,
    Not,
    Or,
    PatchPath,
    ValuePath,
    matches,
    matches_element,
    parse_datetime,
)
from .schema import Attribute, ResourceType

# The trees are defined in filter_tree.py; callers take them, and the parsers, from here.
__all__ = [
    "MAX_FILTER_DEPTH", "MAX_FILTER_LENGTH", "MAX_FILTER_TERMS", "And", "AttrRef", "Compare",
    "Const", "Not", "Or", "PatchPath", "ValuePath", "matches", "matches_element",
    "parse_datetime", "parse_filter", "parse_filter_across", "parse_path",
    "resolve_attr_path", "try_resolve_attr_path",
]

COMPARE_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
ORDER_OPS = {"gt", "ge", "lt", "le"}

# Entra sends one comparison of a few hundred characters; RFC 7644's examples have at
# most four, nested two deep. The term limit is what bounds the database's work: each
# comparison on the JSON document parses every candidate row's document, 35-50 ms of
# CPU per comparison on a multi-valued attribute over 5,000 users with SQLite 3.40
# (scripts/bench_filters.py; README, "Query limits").
MAX_FILTER_LENGTH = 4096
MAX_FILTER_DEPTH = 8
MAX_FILTER_TERMS = 8
# What SQLite (and PostgreSQL's bigint) can bind: 64-bit integers, finite doubles.
_INTEGER_RANGE = range(-2**63, 2**63)

# re.ASCII: RFC 7643 §2.1 names are ASCII; without it, IGNORECASE lets "\u212a" (KELVIN
# SIGN) match "k" and \w, \d and \s take letters, digits and spaces of any script.
_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<punct>[()\[\]])
  | (?P<number>-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w.:$]))
  | (?P<urn>urn:[^\s()\[\]"]+)
  | (?P<name>[A-Za-z$][\w$-]*(?:\.[A-Za-z$][\w$-]*)?)
  | (?P<subattr>\.[A-Za-z$][\w$-]*)
    """,
    re.VERBOSE | re.IGNORECASE | re.ASCII,
)
# attrPath after its optional schema URN (RFC 7644 §3.10): ATTRNAME *1subAttr.
_ATTR_PATH = re.compile(r"[A-Za-z$][A-Za-z0-9_$-]*(?:\.[A-Za-z$][A-Za-z0-9_$-]*)?")


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


class _Undefined(Exception):
    """A well-formed attribute path that names nothing of this resource type."""


_VOID = Attribute("(undefined)", type="complex")  # the parent inside an undefined `[...]`


class _Parser:
    """Recursive descent over RFC 7644's FILTER / PATH grammar.

    Recursion is bounded by MAX_FILTER_DEPTH (each level is a '(' or '['), and the tree
    is at most MAX_FILTER_TERMS leaves, so neither the parser nor the code that walks
    the tree (SQL translation, `matches`) can exhaust the stack. With `lenient`, a
    well-formed name the resource type does not define becomes a `Const` and its
    position is kept in `undefined` (see `parse_filter_across`).
    """

    def __init__(self, text: str, rtype: ResourceType, error=InvalidFilter, *,
                 lenient: bool = False, what: str = "filter"):
        if len(text) > MAX_FILTER_LENGTH:
            raise error(f"the {what} is {len(text)} characters long; at most "
                        f"{MAX_FILTER_LENGTH} are accepted")
        self.rtype = rtype
        self.error = error
        self.what = what
        self.lenient = lenient
        self.undefined: dict[int, str | None] = {}
        self.tokens = _tokenize(text, error)
        self.i = 0
        self.depth = 0
        self.terms = 0

    # -- token helpers -------------------------------------------------------
    def peek(self) -> _Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def next(self, expected: str) -> _Token:
        tok = self.peek()
        if tok is None:
            raise self.error(f"{self.what} ends too early: expected {expected}")
        self.i += 1
        return tok

    def is_word(self, tok: _Token | None, *words: str) -> bool:
        return tok is not None and tok.kind == "name" and tok.text.lower() in words

    def fail(self, tok: _Token | None, expected: str):
        if tok is None:
            raise self.error(f"{self.what} ends too early: expected {expected}")
        raise self.error(f"expected {expected} at position {tok.pos}, found {tok.text!r}")

    def open(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_FILTER_DEPTH:
            raise self.error(f"the {self.what} nests '(' and '[' more than "
                             f"{MAX_FILTER_DEPTH} deep (position {tok.pos})")

    def close(self, expected: str) -> _Token:
        tok = self.next(f"'{expected}'")
        if tok.text != expected:
            self.fail(tok, f"'{expected}'")
        self.depth -= 1
        return tok

    def count_term(self, tok: _Token) -> None:
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            raise self.error(f"the {self.what} has more than {MAX_FILTER_TERMS} comparisons "
                             f"(position {tok.pos}); split it into several requests")

    # -- grammar ---------------------------------------------------------------
    def parse(self):
        if not self.tokens:
            raise self.error(f"the {self.what} is empty")
        expr = self.parse_or(None)
        tok = self.peek()
        if tok is not None:
            self.fail(tok, "'and', 'or' or the end of the filter")
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
            self.open(tok)
            expr = self.parse_or(parent)
            self.close(")")
            return expr
        return self.parse_attr_expr(parent)

    def parse_attr_expr(self, parent):
        tok = self.next("an attribute name")
        if tok.kind not in ("name", "urn"):
            self.fail(tok, "an attribute name")
        nxt = self.peek()
        if nxt is None or nxt.text != "[":
            return self.parse_comparison(self.resolve(tok, parent), tok)
        if parent is not None:
            raise self.error(f"nested '[' at position {nxt.pos} is not allowed")
        ref = self.resolve(tok, None)
        self.check_complex(ref, tok)
        attr = ref.attr if ref is not None else _VOID
        self.i += 1
        self.open(nxt)
        inner = self.parse_or(attr)
        self.close("]")
        after = self.peek()
        if after is not None and after.kind == "subattr":
            # `emails[type eq "work"].value eq "x"` == `emails[type eq "work" and value eq "x"]`
            self.i += 1
            sub = self.sub_of(attr, after.text[1:], after)
            inner = And(inner, self.parse_comparison(
                AttrRef(attr, sub) if sub is not None else None, after))
        return ValuePath(attr, inner) if ref is not None else Const(False)

    def parse_comparison(self, ref: AttrRef | None, at: _Token):
        self.count_term(at)
        op_tok = self.next("an operator")
        op = op_tok.text.lower()
        if op_tok.kind != "name" or (op not in COMPARE_OPS and op != "pr"):
            self.fail(op_tok, f"an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "
                              f"'{at.text}'")
        if op == "pr":
            return Compare("pr", ref) if ref is not None else Const(False)
        val_tok = self.next(f"a value after '{op_tok.text}'")
        value = self.literal(val_tok)
        if ref is None:
            if value is None and op not in ("eq", "ne"):
                raise self.error(f"null can only be compared with eq or ne "
                                 f"(position {val_tok.pos})")
            return Const(op == "eq" and value is None)
        if ref.sub is None and ref.attr.is_complex and ref.attr.sub("value") is not None:
            # RFC 7644 §3.4.2.2: `emails co "@x"` compares the `value` sub-attribute.
            ref = AttrRef(ref.attr, ref.attr.sub("value"))
        return Compare(op, ref, self.typed_value(ref, op, value, val_tok))

    def parse_patch_path(self) -> PatchPath:
        """PATH = valuePath [subAttr] (RFC 7644 §3.5.2), nothing around it."""
        tok = self.next("an attribute name")
        if tok.kind not in ("name", "urn"):
            self.fail(tok, "an attribute name")
        ref = self.resolve(tok, None)
        nxt = self.peek()  # (`parse_path` resolves bracket-less paths without tokens)
        if nxt is None or nxt.text != "[" or not _adjacent(tok, nxt):
            self.fail(nxt, "'[' right after the attribute name, or the end of the path")
        self.check_complex(ref, tok)
        self.i += 1
        self.open(nxt)
        if self.peek() is not None and self.peek().text == "]":
            raise self.error("the '[...]' filter is empty")
        inner = self.parse_or(ref.attr)
        close = self.close("]")
        sub = None
        after = self.peek()
        if after is not None and after.kind == "subattr" and _adjacent(close, after):
            self.i += 1
            sub = self.sub_of(ref.attr, after.text[1:], after)
        if self.peek() is not None:
            self.fail(self.peek(), "a '.sub-attribute' right after ']', or the end of the path")
        return PatchPath(ref.attr, sub, inner)

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
            try:
                return _number(tok.text)
            except ValueError:
                raise self.error(f"the number at position {tok.pos} is beyond what can be "
                                 "compared (64-bit integers, finite decimals)") from None
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
                f"'{value}' is not an RFC 3339 date-time between 0001-01-01 and 9999-12-31 "
                f"UTC ({where})"))
        if leaf.type == "binary" and op in ORDER_OPS:
            # RFC 7644 §3.4.2.2: ordering binary values SHALL fail as invalidFilter.
            raise self.error(f"'{op}' cannot be used on binary '{ref.dotted}' ({where})")
        if not isinstance(value, str):
            raise self.error(f"'{ref.dotted}' is a string; quote the value ({where})")
        return value

    # -- attribute resolution ------------------------------------------------
    def check_complex(self, ref: AttrRef | None, tok: _Token) -> None:
        if ref is not None and (ref.sub is not None or not ref.attr.is_complex):
            raise self.error(f"'{tok.text}' at position {tok.pos} is not a complex attribute, "
                             "so it cannot take a '[...]' filter")

    def undefine(self, tok: _Token, detail: str | None) -> None:
        """Strict: the error. Lenient: remember where, and let the caller decide."""
        if not self.lenient:
            raise self.error(detail)
        self.undefined[tok.pos] = detail
        return None

    def sub_of(self, attr: Attribute, name: str, tok: _Token) -> Attribute | None:
        if attr is _VOID:
            return self.undefine(tok, None)
        sub = attr.sub(name)
        if sub is None:
            return self.undefine(tok, f"'{attr.name}' has no sub-attribute '{name}' "
                                      f"(position {tok.pos})")
        return sub

    def resolve(self, tok: _Token, parent: Attribute | None) -> AttrRef | None:
        text = tok.text
        if parent is not None:
            if tok.kind == "urn" or "." in text:
                raise self.error(f"inside '[...]' name a sub-attribute of '{parent.name}', "
                                 f"not '{text}' (position {tok.pos})")
            sub = self.sub_of(parent, text, tok)
            return AttrRef(parent, sub) if sub is not None else None
        try:
            return _resolve(self.rtype, text, self.error, f" (position {tok.pos})")
        except _Undefined as exc:
            return self.undefine(tok, str(exc))


def _adjacent(before: _Token, after: _Token) -> bool:
    return before.pos + len(before.text) == after.pos


def _number(text: str) -> int | float:
    """A JSON number the database can compare with; ValueError for any other."""
    value = json.loads(text)  # ValueError beyond int()'s digit limit
    if isinstance(value, int) and value not in _INTEGER_RANGE:
        raise ValueError(f"{text} is beyond 64-bit integers")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{text} is beyond double precision")
    return value


def _resolve(rtype: ResourceType, text: str, error, where: str) -> AttrRef:
    """`error` for malformed paths; `_Undefined` for well-formed ones `rtype` lacks."""
    if not text.isascii():
        raise error(f"'{text}' is not an attribute path: names are ASCII (RFC 7643 §2.1)"
                    f"{where}")
    try:
        schema, rest = rtype.split_urn(text)
    except KeyError:
        raise _Undefined(f"unknown schema in '{text}'{where}") from None
    if schema is not None and not rest:
        raise error(f"'{text}' names a schema, not an attribute{where}")
    if not _ATTR_PATH.fullmatch(rest):
        raise error(f"'{text}' is not an attribute path ([schema URN ':'] name "
                    f"['.' sub-attribute], RFC 7644 §3.10){where}")
    name, _, sub_name = rest.partition(".")
    if schema is None or schema.id == rtype.core.id:
        attr = rtype.top_level(name)  # the core URN also qualifies id, externalId, meta
    else:
        attr = schema.attribute(name)
    if attr is None:
        raise _Undefined(f"unknown attribute '{rest}' for {rtype.name}{where}")
    sub = None
    if sub_name:
        sub = attr.sub(sub_name)
        if sub is None:
            raise _Undefined(f"'{attr.name}' has no sub-attribute '{sub_name}'{where}")
    return AttrRef(attr, sub)


def resolve_attr_path(rtype: ResourceType, text: str, error=InvalidFilter,
                      where: str = "") -> AttrRef:
    """Resolve `attr`, `attr.sub` or a URN-qualified path to schema definitions."""
    try:
        return _resolve(rtype, text, error, where)
    except _Undefined as exc:
        raise error(str(exc)) from None


def try_resolve_attr_path(rtype: ResourceType, text: str, error=InvalidFilter) -> AttrRef | None:
    """As `resolve_attr_path`, but None for a well-formed path `rtype` does not define."""
    try:
        return _resolve(rtype, text, error, "")
    except _Undefined:
        return None


def parse_filter(text: str, rtype: ResourceType):
    """Parse a filter expression; raises InvalidFilter with the position of the fault."""
    if not isinstance(text, str):
        raise InvalidFilter("the filter must be a string")
    return _Parser(text, rtype).parse()


def parse_filter_across(text: str, rtypes: tuple[ResourceType, ...]) -> dict[str, Any]:
    """One filter for several resource types (a search at the server root), by type name.

    RFC 7644 §3.4.2.2: an attribute that is not part of a resource type is treated as
    having no value there (a `Const` in that type's tree). A name that no type defines
    is still an invalidFilter, and so is anything malformed or mistyped where defined.
    """
    if not isinstance(text, str):
        raise InvalidFilter("the filter must be a string")
    parsers = [_Parser(text, rtype, lenient=True) for rtype in rtypes]
    trees = {parser.rtype.name: parser.parse() for parser in parsers}
    nowhere = set.intersection(*(set(parser.undefined) for parser in parsers))
    if nowhere:
        pos = min(nowhere)
        detail = next((p.undefined[pos] for p in parsers if p.undefined[pos]),
                      f"unknown attribute at position {pos}")
        names = ", ".join(rtype.name for rtype in rtypes)
        raise InvalidFilter(f"{detail}; no resource type ({names}) defines it")
    return trees


def _attr_path(text: str, rtype: ResourceType) -> PatchPath:
    """PATH = attrPath: `_resolve` checks its form; a bare extension URN is the whole
    extension (RFC 7644 §3.5.2.1), but not the URN followed by ':'."""
    try:
        schema, _ = rtype.split_urn(text)
    except KeyError:
        schema = None
    if schema is not None and text.lower() == schema.id.lower():
        if schema.id == rtype.core.id:
            raise InvalidPath(f"'{text}' names the core schema, not an attribute")
        return PatchPath(None, schema_urn=schema.id)
    try:
        ref = _resolve(rtype, text, InvalidPath, "")
    except _Undefined as exc:
        raise InvalidPath(str(exc)) from None
    return PatchPath(ref.attr, ref.sub)


def parse_path(text: str, rtype: ResourceType) -> PatchPath:
    """Parse a PATCH `path` (RFC 7644 §3.5.2: attrPath / valuePath [subAttr]).

    Surrounding whitespace is ignored; anything else outside the ABNF is refused,
    e.g. `userName.`, `urn:…:User:`, `emails [type eq "work"]`, `emails[…] .value`.
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidPath("the PATCH path is empty")
    text = text.strip()
    try:
        if "[" not in text and "]" not in text and len(text) <= MAX_FILTER_LENGTH:
            return _attr_path(text, rtype)  # most paths: no tokens needed
        return _Parser(text, rtype, InvalidPath, what="path").parse_patch_path()
    except InvalidPath as exc:
        shown = text if len(text) <= 200 else text[:199] + "…"
        raise InvalidPath(f"{exc.detail} in path '{shown}'") from None
