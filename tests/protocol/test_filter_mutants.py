"""The filter grammar of RFC 7644 §3.4.2.2 and its in-memory semantics (`matches`).

These pin what mutation testing (`make mutation`) found unpinned in
domain/protocol/filters.py: what parses to what, what is refused as `invalidFilter`,
and how `matches()` evaluates and/or/not, value paths and the implicit `.value`.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from scim_appliance.domain.protocol.errors import InvalidFilter, InvalidPath, InvalidValue
from scim_appliance.domain.protocol.filters import (
    And,
    Compare,
    Const,
    Not,
    Or,
    ValuePath,
    matches,
    matches_element,
    parse_filter,
    parse_filter_across,
    parse_path,
    try_resolve_attr_path,
)
from scim_appliance.domain.protocol.schema import (
    ENTERPRISE_USER,
    GROUP_TYPE,
    USER_TYPE,
    Attribute,
    ResourceType,
    SchemaDef,
)

ALICE = {
    "userName": "Alice@Contoso.com",
    "title": "Engineer",
    "active": True,
    "emails": [{"value": "alice@contoso.com", "type": "work", "primary": True},
               {"value": "a.l@home.example", "type": "home"}],
    "name": {"givenName": "Alice", "familyName": "Liddell"},
    "meta": {"created": "2024-05-01T10:00:00Z"},
    ENTERPRISE_USER: {"department": "R&D", "manager": {"value": "m-1"}},
}


def parse(text):
    return parse_filter(text, USER_TYPE)


def hits(text, doc=ALICE) -> bool:
    return matches(parse(text), doc)


# -- the tree the parser builds -----------------------------------------------------------
def test_and_binds_tighter_than_or_and_not_wraps_its_group():
    expr = parse('title eq "a" or title eq "b" and not (active eq true)')
    assert isinstance(expr, Or)
    assert isinstance(expr.right, And) and isinstance(expr.right.right, Not)
    assert isinstance(expr.left, Compare) and expr.left.value == "a"


def test_a_complex_attribute_without_sub_attribute_compares_its_value():
    """RFC 7644 §3.4.2.2: `emails co "x"` is `emails.value co "x"`."""
    expr = parse('emails co "contoso"')
    assert expr.ref.attr.name == "emails" and expr.ref.sub.name == "value"
    assert parse("emails pr").ref.sub is None
    assert hits('emails co "CONTOSO"') and not hits('emails co "fabrikam"')


def test_a_value_path_with_a_trailing_sub_attribute_is_one_element_filter():
    expr = parse('emails[type eq "work"].value ew "contoso.com"')
    assert isinstance(expr, ValuePath) and isinstance(expr.filter, And)
    assert hits('emails[type eq "work"].value ew "contoso.com"')
    # Both conditions must hold on the same element: the home address is not work.
    assert not hits('emails[type eq "work"].value ew "home.example"')


@pytest.mark.parametrize("text, value", [
    ('active eq true', True), ('active eq TRUE', True), ('active eq false', False),
    ('active eq "true"', True), ('active eq "False"', False),
])
def test_booleans_quoted_or_not(text, value):
    assert parse(text).value is value


def test_keywords_and_operators_are_case_insensitive():
    expr = parse('title EQ "a" AND NOT (title Co "b") OR title PR')
    assert isinstance(expr, Or) and isinstance(expr.left, And)
    assert expr.right.op == "pr"


def test_string_escapes_are_json_escapes():
    assert parse(r'title eq "a\"b\\c\u00e9"').value == 'a"b\\cé'


def test_datetime_comparisons_are_parsed_to_utc():
    assert parse('meta.created gt "2024-05-01T12:00:00+02:00"').value == \
        datetime(2024, 5, 1, 10, 0)
    assert parse('meta.created sw "2024"').value == "2024"  # substring ops keep the text


def test_null_compares_with_eq_and_ne_only():
    assert parse("title eq null").value is None
    assert parse("title ne null").value is None
    with pytest.raises(InvalidFilter):
        parse("title co null")


@pytest.mark.parametrize("text", [
    '',
    '   ',
    'userName',
    'userName eq',
    'userName eq "a" )',
    'userName eq "a" userName',
    'userName eq "a" and',
    'userName eq "a" or or title pr',
    'not userName eq "a"',
    'not',
    '(userName eq "a"',
    '(userName eq "a"]',
    '(title pr title pr)',
    'userName eq "a")',
    'userName xx "a"',
    'userName eq unquoted',
    '"a" eq userName',
    'userName eq "a" ]',
    'emails[type eq "work"',
    'emails[type eq "work")',
    'emails[type eq "work"].nope eq "x"',
    'emails[emails[type eq "work"]]',
    'emails[name.givenName eq "x"]',
    'title[value eq "x"]',
    'userName eq "a" # comment',
    'userName eq "\\x"',
    'nosuch eq "a"',
    'name.nosuch eq "a"',
    'urn:example:unknown:2.0:User:title eq "a"',
    f'{ENTERPRISE_USER} eq "a"',
    'active eq "yes"',
    'active eq 1',
    'active gt true',
    'title eq 5',
    'title eq true',
    'meta.created gt 5',
    'meta.created gt "yesterday"',
    'name eq "x"',
    'x509Certificates.value gt "AA=="',
])
def test_malformed_filters_are_invalid_filter(text):
    with pytest.raises(InvalidFilter):
        parse(text)


def test_the_filter_must_be_a_string():
    with pytest.raises(InvalidFilter):
        parse_filter(None, USER_TYPE)


def test_binary_attributes_take_equality_but_not_ordering():
    assert parse('x509Certificates.value eq "AA=="').value == "AA=="


# -- matches(): the reference semantics ---------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ('title eq "engineer"', True),  # caseExact false
    ('title eq "Engineer" and active eq true', True),
    ('title eq "Engineer" and active eq false', False),
    ('title eq "nobody" and active eq true', False),
    ('title eq "nobody" or active eq true', True),
    ('title eq "Engineer" or active eq false', True),
    ('title eq "nobody" or active eq false', False),
    ('not (title eq "Engineer")', False),
    ('not (title eq "nobody")', True),
    ('not (not (title pr))', True),
    ('nickName pr', False),
    ('nickName eq null', True),
    ('title ne null', True),
    ('name.givenName sw "Al"', True),
    ('name.familyName ew "dell"', True),
    ('name.givenName gt "B"', False),
    ('emails[type eq "home" and value co "home"]', True),
    ('emails[type eq "home" and primary eq true]', False),
    ('emails[not (type eq "work")]', True),
    ('emails[type eq "work" or type eq "other"]', True),
    ('emails.type eq "home"', True),
    ('emails.primary eq true', True),
    ('emails eq "ALICE@contoso.com"', True),
    ('emails pr', True),
    ('phoneNumbers pr', False),
    ('phoneNumbers eq null', True),
    ('meta.created gt "2024-01-01T00:00:00Z"', True),
    ('meta.created lt "2024-01-01T00:00:00Z"', False),
    (f'{ENTERPRISE_USER}:department eq "r&d"', True),
    (f'{ENTERPRISE_USER}:manager.value eq "m-1"', True),
])
def test_matches(text, expected):
    assert hits(text) is expected


def test_matches_element_evaluates_and_or_not_on_one_element():
    work, home = ALICE["emails"]
    expr = parse_path('emails[type eq "work" and not (primary eq false)]', USER_TYPE).filter
    assert matches_element(expr, work) and not matches_element(expr, home)
    either = parse_path('emails[type eq "home" or primary eq true]', USER_TYPE).filter
    assert matches_element(either, work) and matches_element(either, home)


def test_group_members_filter_is_case_exact_on_value():
    group = {"displayName": "G", "members": [{"value": "abc"}]}
    assert matches(parse_filter('members[value eq "abc"]', GROUP_TYPE), group)
    assert not matches(parse_filter('members[value eq "ABC"]', GROUP_TYPE), group)


def test_unknown_nodes_are_programming_errors():
    with pytest.raises(TypeError):
        matches(object(), ALICE)
    with pytest.raises(TypeError):
        matches_element(object(), {})


# -- PATCH paths (RFC 7644 §3.5.2) --------------------------------------------------------
@pytest.mark.parametrize("text, attr, sub, has_filter", [
    ("userName", "userName", None, False),
    ("name.givenName", "name", "givenName", False),
    ('emails[type eq "work"]', "emails", None, True),
    ('emails[type eq "work"].value', "emails", "value", True),
    (f"{ENTERPRISE_USER}:manager.value", "manager", "value", False),
    (f"  {ENTERPRISE_USER}:department ", "department", None, False),
])
def test_patch_paths(text, attr, sub, has_filter):
    path = parse_path(text, USER_TYPE)
    assert path.attr.name == attr
    assert (path.sub.name if path.sub else None) == sub
    assert (path.filter is not None) is has_filter


def test_a_path_naming_a_whole_extension_carries_its_urn():
    path = parse_path(ENTERPRISE_USER, USER_TYPE)
    assert path.attr is None and path.schema_urn == ENTERPRISE_USER


@pytest.mark.parametrize("text", [
    "", "  ", None, 5, "urn:ietf:params:scim:schemas:core:2.0:User",
    "urn:example:unknown:2.0:User:x", "nosuch", "emails]", 'emails[type eq "work"',
    'emails[type eq "work"]x', 'emails[type eq "work"].', 'emails[type eq "work"].nope',
    'name.givenName[value eq "x"]', 'title[value eq "x"]', "emails[]",
    'emails[type eq "work" title]', 'emails[type eq "work"]xvalue',
    'name.givenName[givenName eq "x"]',
])
def test_malformed_paths_are_invalid_path(text):
    with pytest.raises(InvalidPath):
        parse_path(text, USER_TYPE)


def test_brackets_inside_a_path_filter_string_are_text():
    assert parse_path('emails[value eq "a[b"]', USER_TYPE).filter.value == "a[b"
    assert parse_path('emails[value eq "a]b"]', USER_TYPE).filter.value == "a]b"


# -- found by `make mutation` (second round) ----------------------------------------------
@pytest.mark.parametrize("text", [
    '[type eq "work"]', '"emails"[type eq "work"]', '5[type eq "work"]', '(emails[type eq "work"])',
    'emails[', 'emails[ ', 'emails(type eq "work"]', 'emails]type eq "work"]',
    'emails.type eq "work"]',
])
def test_paths_that_do_not_open_with_a_name_and_a_bracket_are_invalid_path(text):
    """PATH = valuePath [subAttr]: an attribute name, then '[' right after it."""
    with pytest.raises(InvalidPath):
        parse_path(text, USER_TYPE)


def test_a_sort_path_that_no_type_defines_is_none_and_a_malformed_one_is_refused():
    """Root searches resolve sortBy per type (root_search.py): unknown is no value."""
    assert try_resolve_attr_path(USER_TYPE, "nosuch", InvalidValue) is None
    assert try_resolve_attr_path(USER_TYPE, "name.givenName", InvalidValue).sub.name == \
        "givenName"
    for text in ("userName.", "name..x", "ürname", "urn:ietf:params:scim:schemas:core:2.0:User"):
        with pytest.raises(InvalidValue):
            try_resolve_attr_path(USER_TYPE, text, InvalidValue)


def test_substring_operators_on_a_datetime_compare_its_text():
    for op in ("co", "sw", "ew"):
        assert parse(f'meta.created {op} "Z"').value == "Z"


def test_the_nesting_limit_counts_open_groups_only():
    """A closed group no longer counts: eight levels stay allowed after one, nine do not."""
    eight = "(" * 8 + "title pr" + ")" * 8
    assert isinstance(parse(f"(title pr) and {eight}"), And)
    assert isinstance(parse(f"(title pr) and (title pr) and {eight}"), And)
    with pytest.raises(InvalidFilter):
        parse(f"(title pr) and ({eight})")
    with pytest.raises(InvalidFilter):
        parse(f"((title pr)) and ({eight})")


# A resource type with numbers (RFC 7643 §2.3.4, §2.3.5): the appliance's own schemas
# have none, but the parser types every comparison by its attribute's definition.
_DEVICE = SchemaDef("urn:example:params:scim:schemas:2.0:Device", "Device", "", (
    Attribute("serial"), Attribute("count", type="integer"), Attribute("weight", type="decimal"),
))
DEVICE_TYPE = ResourceType("Device", "/Devices", "Device", _DEVICE)


@pytest.mark.parametrize("text, value", [
    ("count gt 5", 5), ("count eq -3", -3), ("count le 9223372036854775807", 2**63 - 1),
    ("weight lt 1.5", 1.5), ("weight ge 2e3", 2000.0), ("weight eq 7", 7), ("count ne null", None),
])
def test_numbers_compare_with_equality_and_ordering(text, value):
    expr = parse_filter(text, DEVICE_TYPE)
    assert expr.value == value and type(expr.value) is type(value)


@pytest.mark.parametrize("text", [
    'count eq "5"', "count eq true", "weight eq false", "count co 5", "count sw 5",
    "count ew 5", "count eq 9223372036854775808", "count eq -9223372036854775809",
    "weight eq 1e400", "serial eq 5",
])
def test_numbers_refuse_strings_booleans_substrings_and_out_of_range_values(text):
    with pytest.raises(InvalidFilter):
        parse_filter(text, DEVICE_TYPE)


def test_a_sub_attribute_after_a_value_path_is_compared_on_the_same_element():
    assert hits('emails[primary eq true].type eq "work"')
    assert not hits('emails[primary eq true].type eq "home"')
    with pytest.raises(InvalidFilter):
        parse('emails[type eq "work"].value xx "a"')


def test_a_simple_attribute_or_a_sub_attribute_takes_no_value_filter():
    for text in ('name.givenName[givenName eq "x"]', 'name.givenName[familyName pr]'):
        with pytest.raises(InvalidFilter):
            parse(text)


def test_a_root_search_value_path_is_false_where_the_type_lacks_the_attribute():
    """RFC 7644 §3.4.2.2: Groups have no emails, so their tree is a constant."""
    trees = parse_filter_across('emails[type eq "work"].value ew "contoso.com"',
                                (USER_TYPE, GROUP_TYPE))
    assert isinstance(trees["User"], ValuePath)
    assert isinstance(trees["Group"], Const) and not matches(trees["Group"], {"displayName": "G"})
    assert matches(trees["User"], ALICE)
