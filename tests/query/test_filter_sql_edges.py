"""SQL translation at the edges of what filters can say: substring tests that must not
depend on LIKE's backtracking, dates at the ends of the calendar, comparisons decided
while parsing (`Const`, root search), and the PostgreSQL forms of the same."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select
from sqlalchemy.dialects import postgresql

from scim_appliance.domain.protocol.filters import (
    AttrRef,
    Compare,
    Const,
    Not,
    Or,
    ValuePath,
    parse_filter,
    parse_filter_across,
)
from scim_appliance.domain.protocol.schema import CORE_USER, GROUP_TYPE, USER_TYPE, Attribute
from scim_appliance.domain.query.filter_sql import to_sql_clause
from scim_appliance.domain.query.mappings import GROUP_MAPPING, USER_MAPPING
from scim_appliance.storage.models import Group, User

from .filter_data import ALL_USERS, USER_JSON, build_engine, reference, user_ids


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("filter_sql_edges"))
    yield engine
    engine.dispose()


def _ids(engine, expr, model=User, mapping=USER_MAPPING) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(select(model.id).where(to_sql_clause(expr, mapping))))


def _agrees(engine, expr) -> set[str]:
    found = _ids(engine, expr)
    assert found == {rid for rid, res in USER_JSON.items() if reference(expr, res)}, expr
    return found


@pytest.mark.parametrize("text", [
    'title co ""', 'title ew ""', 'title sw ""',
    'userName co ""', 'userName ew ""',
    'title ew "Engineer"', 'title ew "ENGINEER"', 'title ew "r"',
    'title ew "a much longer literal than any title"',
    'userName ew "@contoso.com"', 'userName ew "M"', 'emails.value ew ".COM"',
    'title co "gine"', 'userName co "ÅSA"', 'displayName co "Öberg"',
    'name.formatted ew "smith"', 'emails[value ew "x.se"]',
])
def test_contains_and_ends_with_agree_with_the_reference(engine, text):
    assert user_ids(engine, text) == _agrees(engine, parse_filter(text, USER_TYPE))


def test_ends_with_counts_characters_not_bytes(engine):
    # "ÅSA@x.se": the 8-character suffix is the whole name; UTF-8 would be 9 bytes.
    assert "U03" in user_ids(engine, 'userName ew "åsa@x.se"')
    assert "U03" not in user_ids(engine, 'userName ew "xåsa@x.se"')


def test_json_dates_compare_with_years_before_1000(engine):
    """The SQLite literal was strftime("%Y"): year 5 became "5-01-01", after "2024"."""
    nick = Attribute("nickName", type="dateTime", schema=CORE_USER)
    later = _agrees(engine, Compare("gt", AttrRef(nick), datetime(5, 1, 1)))
    assert later == {"u19", "u20"}
    assert _agrees(engine, Compare("lt", AttrRef(nick), datetime(999, 12, 31))) == set()
    assert _agrees(engine, Compare("ge", AttrRef(nick), datetime(1, 1, 1))) == later


def test_column_dates_compare_at_the_ends_of_the_calendar(engine):
    for text, expected in (('meta.created gt "0001-01-01T00:00:00Z"', ALL_USERS),
                           ('meta.created lt "0001-01-01T00:00:00.001Z"', set()),
                           ('meta.lastModified lt "9999-12-31T23:59:59Z"', ALL_USERS)):
        assert user_ids(engine, text) == expected, text


@pytest.mark.parametrize("value", [True, False])
def test_constants_select_every_row_or_none(engine, value):
    expected = ALL_USERS if value else set()
    assert _ids(engine, Const(value)) == expected
    assert _ids(engine, Not(Const(value))) == ALL_USERS - expected
    emails = USER_TYPE.core.attribute("emails")
    inside = _ids(engine, ValuePath(emails, Const(value)))
    assert inside == {rid for rid, res in USER_JSON.items()
                      if reference(ValuePath(emails, Const(value)), res)}


def test_a_root_filter_runs_per_type(engine):
    trees = parse_filter_across('userName sw "a" or displayName co "admins"',
                                (USER_TYPE, GROUP_TYPE))
    users = _ids(engine, trees["User"])
    assert users == _agrees(engine, trees["User"]) and "u01" in users
    groups = _ids(engine, trees["Group"], Group, GROUP_MAPPING)
    assert groups == {"G-Admins"}
    assert isinstance(trees["Group"], Or) and trees["Group"].left == Const(False)


def test_postgresql_forms_of_substring_tests_and_constants():
    tree = parse_filter('title co "x" and userName ew "y" and emails[value ew "z"]', USER_TYPE)
    sql = str(select(User.id).where(to_sql_clause(tree, USER_MAPPING, "postgresql"))
              .compile(dialect=postgresql.dialect()))
    assert "strpos(" in sql and "right(" in sql and "LIKE" not in sql
    # The empty array for rows without one: cast("[]", JSONB) bound the JSON *string*
    # "[]", and jsonb_array_elements failed on it ("cannot extract elements from a scalar").
    assert "jsonb_build_array()" in sql
    root = parse_filter_across("members pr", (USER_TYPE, GROUP_TYPE))["User"]
    sql = str(select(User.id).where(to_sql_clause(root, USER_MAPPING, "postgresql"))
              .compile(dialect=postgresql.dialect()))
    assert sql.rstrip().endswith("false")
