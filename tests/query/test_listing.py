"""Listings answered by SQL (RFC 7644 §3.4.2.3-§3.4.2.4): paging integers, a filter
evaluated once for the page and its total, pages beyond the end, and the PostgreSQL
form of the same statements (per type and across types at the root)."""

from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from scim_appliance.domain.protocol.errors import InvalidValue
from scim_appliance.domain.protocol.schema import USER_TYPE
from scim_appliance.domain.query.filter_sql import sort_expression, to_sql_clause
from scim_appliance.domain.query.listing import (
    MAX_START_INDEX,
    ordered,
    page_statement,
    parse_list_query,
    parse_paging,
    run_list_query,
)
from scim_appliance.domain.query.mappings import USER_MAPPING
from scim_appliance.domain.query.root_search import (
    parse_root_search,
    root_candidates,
    root_order,
)

from .filter_data import USER_JSON, build_engine, expected_users


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = build_engine(tmp_path_factory.mktemp("listing"))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("params, expected", [
    ({}, (1, 50, False)),
    ({"startindex": "0", "count": "-3"}, (1, 0, False)),
    ({"startindex": " 7 ", "count": "+5"}, (7, 5, False)),
    ({"startindex": 10**23, "count": 10**23}, (MAX_START_INDEX, 50, False)),
    ({"startindex": "9" * 5000, "count": "-" + "9" * 5000}, (MAX_START_INDEX, 0, False)),
    ({"startindex": -(10**30)}, (1, 50, False)),
    ({"startindex": "", "count": "", "sortorder": "Descending"}, (1, 50, True)),
])
def test_paging_values_are_clamped(params, expected):
    paging = parse_paging(params, 50)
    assert (paging.start_index, paging.count, paging.descending) == expected


@pytest.mark.parametrize("value", ["1e3", "1_000", "\u0663", "0x10", "1.0", "--1", "", " ",
                                   1.0, 1e30, True, None, [3], {"n": 3}])
def test_paging_values_that_are_not_decimal_integers_are_invalid_value(value):
    if value in ("", None):  # absent: the default
        assert parse_paging({"count": value}, 50).count == 50
        return
    with pytest.raises(InvalidValue):
        parse_paging({"count": value}, 50)
    with pytest.raises(InvalidValue):
        parse_paging({"startindex": value}, 50)


def _run(engine, params, statements=None):
    def record(_conn, _cursor, statement, *_):
        statements.append(statement)

    if statements is not None:
        event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            query = parse_list_query(params, USER_TYPE, 1000)
            total, rows = run_list_query(session, query, USER_MAPPING, "sqlite")
            return total, [row.id for row in rows]
    finally:
        if statements is not None:
            event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize("start", [1, 2, 40])
def test_a_filtered_page_and_its_total_evaluate_the_filter_once(engine, start):
    """The page and COUNT(*) read one set of matches (before: two statements, each
    testing every row, whenever the page was not a short first one)."""
    statements = []
    text = 'title co "e" or emails.value co "x"'
    total, _ = _run(engine, {"filter": text, "startIndex": str(start), "count": "2"},
                    statements)
    assert total == len(expected_users(text))
    filtering = [s for s in statements if "instr(" in s]
    assert len(filtering) == 1, statements
    assert "count(*)" in filtering[0].lower()


@pytest.mark.parametrize("params", [
    {"filter": "userName pr", "sortBy": "name.familyName"},
    {"filter": "userName pr", "sortBy": "emails.value", "sortOrder": "descending"},
    {"filter": 'not (title co "zz")', "sortBy": "title"},
    {"filter": "userName pr"},
    {"sortBy": "userName", "sortOrder": "descending"},
    {},
])
def test_pages_of_a_filtered_sorted_listing_cover_it_once(engine, params):
    total, everything = _run(engine, {**params, "count": "1000"})
    assert total == len(everything)
    seen = []
    for start in range(1, total + 4, 4):
        page_total, page = _run(engine, {**params, "startIndex": str(start), "count": "4"})
        assert page_total == total
        seen += page
    assert seen == everything


def test_a_page_beyond_the_end_still_has_its_total(engine):
    text = 'userName sw "user"'
    expected = len(expected_users(text))
    assert _run(engine, {"filter": text, "startIndex": "1000"}) == (expected, [])
    assert _run(engine, {"filter": text, "startIndex": str(MAX_START_INDEX)}) == (expected, [])
    assert _run(engine, {"filter": text, "count": "0"}) == (expected, [])
    assert _run(engine, {"filter": 'userName eq "nobody"', "startIndex": "3"}) == (0, [])
    assert _run(engine, {"startIndex": "1000"}) == (len(USER_JSON), [])


def test_the_page_statement_compiles_for_postgresql():
    query = parse_list_query({"filter": 'emails co "x"', "sortBy": "name.familyName"},
                             USER_TYPE, 100)
    candidates = select(USER_MAPPING.model.id.label("id"),
                        sort_expression(query.sort_by, USER_MAPPING, "postgresql").label("k")
                        ).where(to_sql_clause(query.filter, USER_MAPPING, "postgresql"))
    stmt = page_statement(candidates, lambda c: ordered(c, "k", True, "id"), 3, 10)
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert sql.startswith("WITH matches AS") and "LEFT OUTER JOIN" in sql
    assert "NULLS FIRST" in sql and "json_each" not in sql


def test_the_root_statement_compiles_for_postgresql():
    query = parse_root_search({"filter": 'displayName co "a" or userName pr',
                               "sortBy": "userName"}, 100)
    stmt = page_statement(root_candidates(query, "postgresql"), root_order(query), 1, 10)
    sql = str(stmt.compile(dialect=postgresql.dialect()))
    assert "UNION ALL" in sql and "NULL AS k" in sql and "NULLS LAST" in sql
