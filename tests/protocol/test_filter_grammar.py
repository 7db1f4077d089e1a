"""The filter and PATCH path grammar (RFC 7644 §3.4.2.2, §3.5.2, §3.10) at its edges:
explicit limits on length, nesting and comparisons, literals that Python or the database
cannot hold, and attribute paths the ABNF does not allow. The parser must refuse all of
them as `invalidFilter` / `invalidPath`, never with another exception."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest

from scim_appliance.domain.protocol import filters
from scim_appliance.domain.protocol.errors import InvalidFilter, InvalidPath, InvalidValue
from scim_appliance.domain.protocol.filters import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_FILTER_TERMS,
    Const,
    matches,
    parse_filter,
    parse_filter_across,
    parse_path,
    resolve_attr_path,
)
from scim_appliance.domain.protocol.schema import ENTERPRISE_USER, GROUP_TYPE, USER_TYPE

ENT = ENTERPRISE_USER
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _terms(n: int, joiner: str = " and ", term: str = 'title co "x"') -> str:
    return joiner.join([term] * n)


def _nested(depth: int, opener: str = "(", inner: str = 'userName eq "x"') -> str:
    return opener * depth + inner + ")" * depth


# -- limits ----------------------------------------------------------------------------
def test_the_limits_are_generous_for_real_clients_and_far_below_recursion():
    # RFC 7644's own examples use up to 4 comparisons nested 2 deep; Entra sends one.
    assert MAX_FILTER_TERMS >= 8 and MAX_FILTER_DEPTH >= 4 and MAX_FILTER_LENGTH >= 2048
    # Each level costs the recursive-descent parser a few frames; the tree it builds is
    # at most MAX_FILTER_TERMS deep: both far from Python's recursion limit.
    assert MAX_FILTER_DEPTH * 5 + MAX_FILTER_TERMS * 3 < sys.getrecursionlimit() // 4


@pytest.mark.parametrize("joiner", [" and ", " or "])
def test_as_many_comparisons_as_the_limit_allow_parse(joiner):
    tree = parse_filter(_terms(MAX_FILTER_TERMS, joiner), USER_TYPE)
    assert tree is not None


@pytest.mark.parametrize("text", [
    _terms(MAX_FILTER_TERMS + 1),
    _terms(MAX_FILTER_TERMS + 1, " or "),
    # Comparisons inside a value path count too.
    " or ".join(['emails[type eq "work" and value co "x"]'] * (MAX_FILTER_TERMS // 2 + 1)),
    _terms(MAX_FILTER_TERMS + 1, " and ", "title pr"),
])
def test_more_comparisons_than_the_limit_are_invalid_filter(text):
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text, USER_TYPE)
    assert str(MAX_FILTER_TERMS) in caught.value.detail


@pytest.mark.parametrize("joiner", [" and ", " or "])
def test_thousands_of_comparisons_are_invalid_filter(joiner):
    """Was RecursionError (a 500 and thousands of traceback lines in the log)."""
    with pytest.raises(InvalidFilter):
        parse_filter(_terms(3000, joiner, "title pr"), USER_TYPE)


@pytest.mark.parametrize("opener", ["(", "not (", "not("])
def test_nesting_up_to_the_limit_parses(opener):
    tree = parse_filter(_nested(MAX_FILTER_DEPTH, opener), USER_TYPE)
    user = {"userName": "x"}
    assert matches(tree, user) == (opener == "(" or MAX_FILTER_DEPTH % 2 == 0)


@pytest.mark.parametrize("text", [
    _nested(MAX_FILTER_DEPTH + 1),
    _nested(MAX_FILTER_DEPTH + 1, "not ("),
    _nested(400, "not("),  # was RecursionError
    _nested(1000),
    "(" * MAX_FILTER_DEPTH + 'emails[type eq "work"]' + ")" * MAX_FILTER_DEPTH,
    'emails[' + _nested(MAX_FILTER_DEPTH, inner='type eq "work"') + "]",
])
def test_nesting_deeper_than_the_limit_is_invalid_filter(text):
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(text, USER_TYPE)
    assert str(MAX_FILTER_DEPTH) in caught.value.detail


def test_a_filter_longer_than_the_limit_is_invalid_filter():
    at_limit = 'userName eq "' + "a" * (MAX_FILTER_LENGTH - len('userName eq ""')) + '"'
    assert len(at_limit) == MAX_FILTER_LENGTH
    assert parse_filter(at_limit, USER_TYPE).value == "a" * (MAX_FILTER_LENGTH - 14)
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(at_limit[:-1] + 'a"', USER_TYPE)
    assert str(MAX_FILTER_LENGTH) in caught.value.detail


@pytest.mark.parametrize("path", [
    "members[" + _terms(MAX_FILTER_TERMS + 1, " or ", 'value eq "x"') + "]",
    "members[" + _nested(MAX_FILTER_DEPTH, inner='value eq "x"') + "]",
    "members[" + _nested(500, "not(", 'value eq "x"') + "]",  # was RecursionError
    'members[value eq "' + "x" * MAX_FILTER_LENGTH + '"]',
])
def test_patch_paths_have_the_same_limits_as_invalid_path(path):
    with pytest.raises(InvalidPath):
        parse_path(path, GROUP_TYPE)


def test_parse_errors_never_escape_as_other_exceptions():
    """Every prefix of a tricky filter fails as InvalidFilter or parses."""
    text = ('not ((emails[type eq "work" and value co "@x"] or title pr) and '
            f'{ENT}:manager.value eq "m" and meta.created gt "2024-01-01T00:00:00Z")')
    for end in range(len(text) + 1):
        try:
            parse_filter(text[:end], USER_TYPE)
        except InvalidFilter:
            pass


# -- literals beyond what Python or the database hold --------------------------------------
@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00+14:00",   # 0000-12-31 in UTC: before datetime.min
    "9999-12-31T23:59:59-14:00",   # 10000-01-01 in UTC: after datetime.max
    "0000-06-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
])
@pytest.mark.parametrize("op", ["eq", "gt", "le"])
def test_dates_outside_the_representable_range_are_invalid_filter(value, op):
    with pytest.raises(InvalidFilter) as caught:
        parse_filter(f'meta.created {op} "{value}"', USER_TYPE)
    assert value in caught.value.detail


def test_dates_at_the_ends_of_the_range_parse():
    low = parse_filter('meta.created ge "0001-01-01T00:00:00Z"', USER_TYPE)
    high = parse_filter('meta.lastModified le "9999-12-31T09:59:59-14:00"', USER_TYPE)
    assert low.value == datetime(1, 1, 1) and high.value == datetime(9999, 12, 31, 23, 59, 59)


def test_in_memory_date_comparison_with_an_unrepresentable_stored_value_is_false():
    tree = parse_filter('meta.created gt "2024-01-01T00:00:00Z"', USER_TYPE)
    assert matches(tree, {"meta": {"created": "0001-01-01T00:00:00+14:00"}}) is False


@pytest.mark.parametrize("literal", [
    "1" * 5000,            # more digits than int() converts: was ValueError, a 500
    "01",                  # not a JSON number: was json.JSONDecodeError, a 500
    "-0012",
    "\u0663",              # ARABIC-INDIC DIGIT THREE: str.isdigit(), not JSON
    "1e99999",             # float('inf')
    "99999999999999999999",  # beyond SQLite's 64-bit integers
    "1.",
    ".5",
])
def test_numbers_json_or_sqlite_cannot_hold_are_invalid_filter(literal):
    with pytest.raises(InvalidFilter):
        parse_filter(f"title eq {literal}", USER_TYPE)


def test_numbers_that_fit_are_read_as_json():
    assert filters._number("-12") == -12 and filters._number("2.5e3") == 2500.0
    assert filters._number(str(2**63 - 1)) == 2**63 - 1
    with pytest.raises(ValueError):
        filters._number(str(2**63))


# -- attribute names: RFC 7643 §2.1 ATTRNAME is ASCII --------------------------------------
@pytest.mark.parametrize("text", [
    'nic\u212aName eq "x"',      # KELVIN SIGN: lower() is ASCII "k", so it resolved to nickName
    'userName\u00a0eq "x"',      # NO-BREAK SPACE is not SP
    'user\u0131d eq "x"',
    'userName. eq "x"',
    'name..givenName eq "x"',
    'name.givenName. eq "x"',
    f'{ENT}:department. eq "x"',
    f'{ENT}: eq "x"',
    f'{CORE}:name..givenName eq "x"',
    f'{ENT}:manager.value.x eq "x"',
])
def test_names_outside_the_abnf_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        parse_filter(text, USER_TYPE)


@pytest.mark.parametrize("text", [
    "userName.", "name..givenName", ".userName", "user name", "nic\u212aName",
    f"{ENT}:department.", f"{ENT}:", "emails.value.", "x-y.",
])
def test_resolve_attr_path_follows_the_abnf(text):
    with pytest.raises(InvalidValue):
        resolve_attr_path(USER_TYPE, text, InvalidValue)


# -- PATCH paths: RFC 7644 §3.5.2 PATH = attrPath / valuePath [subAttr] --------------------
@pytest.mark.parametrize("path", [
    "userName.",                                # the issue: it rewrote userName
    "nic\u212aName",
    "name.givenName.",
    "name..givenName",
    ".title",
    "title.",
    "name.givenName.x",
    f"{ENT}:",                                  # a trailing ':' is not the extension
    f"{ENT}:department.",
    f"{ENT}:manager.value.",
    f"{CORE}:",
    f"{CORE}:userName.",
    'emails [type eq "work"]',                  # no SP between attrPath and "["
    'emails[type eq "work"] .value',            # nor between "]" and subAttr
    'emails[type eq "work"].',
    'emails[type eq "work"]value',
    'emails[type eq "work"].value.x',
    'emails[type eq "work"][value eq "x"]',
    'emails[type eq "work"]]',
    'emails[type eq "work"] or title pr',
    'emails[value eq "a]b"',                    # the "]" is inside the string
    "emails[]",
    "user name",
    "title pr",
    '"title"',
    "(title)",
    "urn:ietf:params:scim:schemas:core:2.0:User:emails[type eq \"work\"].value.",
])
def test_paths_outside_the_abnf_are_invalid_path(path):
    rtype = USER_TYPE
    with pytest.raises(InvalidPath):
        parse_path(path, rtype)


@pytest.mark.parametrize("path, attr, sub, has_filter", [
    ("userName", "userName", None, False),
    ("name.givenName", "name", "givenName", False),
    ('emails[type eq "work"]', "emails", None, True),
    ('emails[type eq "work"].value', "emails", "value", True),
    ('emails[value eq "a]b"].display', "emails", "display", True),
    (f"{ENT}:manager.value", "manager", "value", False),
    (f"{CORE}:name.familyName", "name", "familyName", False),
    (f'{CORE}:addresses[type eq "work"].locality', "addresses", "locality", True),
    ("  title  ", "title", None, False),  # surrounding whitespace is trimmed
])
def test_paths_the_abnf_allows(path, attr, sub, has_filter):
    parsed = parse_path(path, USER_TYPE)
    assert parsed.attr.name == attr
    assert (parsed.sub.name if parsed.sub else None) == sub
    assert (parsed.filter is not None) == has_filter


def test_a_whole_extension_path_is_exactly_its_urn():
    assert parse_path(ENT, USER_TYPE).schema_urn == ENT
    assert parse_path(ENT.upper(), USER_TYPE).schema_urn == ENT
    with pytest.raises(InvalidPath):
        parse_path(ENT + ":", USER_TYPE)
    with pytest.raises(InvalidPath):
        parse_path(ENT + '[department eq "x"]', USER_TYPE)


def test_members_value_path_as_entra_sends_it():
    parsed = parse_path('members[value eq "2819c223-7f76-453a-919d-413861904646"]', GROUP_TYPE)
    assert parsed.attr.name == "members" and parsed.filter.value.startswith("2819c223")


# -- filters across resource types (root search, RFC 7644 §3.4.2.2) --------------------------
def test_an_attribute_one_type_lacks_is_absent_there():
    trees = parse_filter_across('userName eq "a"', (USER_TYPE, GROUP_TYPE))
    assert trees["Group"] == Const(False)
    assert matches(trees["User"], {"userName": "A"})


@pytest.mark.parametrize("text, group_result", [
    ("userName pr", False),
    ('userName eq "a"', False),
    ('userName ne "a"', False),
    ("userName eq null", True),
    ("userName ne null", False),
    ('not (userName eq "a")', True),
    ('emails[type eq "work"]', False),
    ('not (emails[type eq "work"])', True),
    (f'{ENT}:department eq "x"', False),
    (f'{CORE}:userName sw "a"', False),
    ('name.givenName co "a"', False),
])
def test_undefined_attributes_compare_as_having_no_value(text, group_result):
    trees = parse_filter_across(text, (USER_TYPE, GROUP_TYPE))
    assert matches(trees["Group"], {"displayName": "g"}) is group_result


def test_mixed_filters_keep_the_defined_parts_per_type():
    trees = parse_filter_across('userName eq "a" or displayName eq "Ops"',
                                (USER_TYPE, GROUP_TYPE))
    assert matches(trees["Group"], {"displayName": "ops"})
    assert not matches(trees["Group"], {"displayName": "dev"})
    assert matches(trees["User"], {"userName": "a"})
    assert matches(trees["User"], {"userName": "b", "displayName": "Ops"})


@pytest.mark.parametrize("text", [
    'noSuchAttribute eq "x"',
    'userName eq "a" or nothing pr',
    'emails[nothing eq "x"]',
    'members[nothing eq "x"]',
    'urn:example:unknown:1.0:Thing:a eq "x"',
    'name.nothing pr',
])
def test_an_attribute_no_type_defines_is_still_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        parse_filter_across(text, (USER_TYPE, GROUP_TYPE))


@pytest.mark.parametrize("text", [
    'active eq "maybe"',       # typed where it is defined
    "userName eq",             # grammar
    "userName. pr",
    _terms(MAX_FILTER_TERMS + 1),
    _nested(MAX_FILTER_DEPTH + 1),
])
def test_across_types_the_grammar_and_the_types_still_apply(text):
    with pytest.raises(InvalidFilter):
        parse_filter_across(text, (USER_TYPE, GROUP_TYPE))
