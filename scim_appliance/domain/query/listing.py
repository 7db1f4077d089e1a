"""Query (RFC 7644 §3.4.2, §3.4.3): filter, sort, page and project, answered by SQL.

The same parsing serves `GET /Users?...` and `POST /Users/.search`, whose body
carries the same parameters as JSON (and, across resource types, `root_search.py`).
A page and its `totalResults` come from one statement that evaluates the filter once
per row (`counted_page`), then the page's rows are read by primary key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache

from sqlalchemy import bindparam, func, select, true
from sqlalchemy.orm import Session

from ..protocol.errors import InvalidValue
from ..protocol.filters import AttrRef, Compare, parse_filter, resolve_attr_path
from ..protocol.projection import Projection, parse_projection
from ..protocol.schema import SEARCH_REQUEST, ResourceType
from .direct_reads import Prepared, Reads
from .filter_sql import order_by_clauses, sort_expression, to_sql_clause
from .mappings import ResourceMapping

# RFC 7644 §3.4.2.4 clamps startIndex < 1 to 1 and a count above the maximum to it; a
# startIndex beyond any directory is clamped too, so every value fits SQLite's integers
# (10^23 was an OverflowError) and the answer is the same: an empty page.
MAX_START_INDEX = 2**31 - 1
_DECIMAL = re.compile(r"[+-]?[0-9]+")  # not int(): it takes "1_0", " ٣ ", 4,300 digits


@dataclass(frozen=True)
class ListQuery:
    filter: object | None = None
    start_index: int = 1
    count: int | None = None
    sort_by: AttrRef | None = None
    descending: bool = False
    projection: Projection = field(default_factory=Projection)


@dataclass(frozen=True)
class Paging:
    """startIndex, count and sortOrder of a query, whatever it searches."""

    start_index: int
    count: int
    descending: bool


def _integer(value, name: str, low: int, high: int) -> int:
    """A decimal integer (a JSON number or a query-string digit string), clamped."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidValue(f"'{name}' must be an integer")
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.fullmatch(text):
            shown = value if len(value) <= 40 else value[:39] + "…"
            raise InvalidValue(f"'{name}' must be an integer, not {shown!r}")
        digits = text.lstrip("+-")
        if len(digits) > 18:  # beyond any bound below; int() would take time or refuse
            return low if text.startswith("-") else high
        value = int(text)
    return min(max(value, low), high)


def parse_paging(lowered: dict, max_results: int) -> Paging:
    """startIndex / count / sortOrder from lower-cased parameter names."""
    start = lowered.get("startindex")
    start_index = 1 if start in (None, "") else _integer(start, "startIndex", 1,
                                                          MAX_START_INDEX)
    raw_count = lowered.get("count")
    # RFC 7644 §3.4.2.4: count < 0 is interpreted as 0, and no more than the maximum.
    count = max_results if raw_count in (None, "") else _integer(raw_count, "count", 0,
                                                                  max_results)
    order = lowered.get("sortorder")
    if order not in (None, "") and (not isinstance(order, str)
                                    or order.lower() not in ("ascending", "descending")):
        raise InvalidValue("'sortOrder' must be 'ascending' or 'descending'")
    return Paging(start_index, count, isinstance(order, str) and order.lower() == "descending")


def parse_list_query(params: dict, rtype: ResourceType, max_results: int) -> ListQuery:
    """Build a ListQuery from query parameters or a SearchRequest body (keys any case)."""
    lowered = {str(k).lower(): v for k, v in params.items()}
    text = lowered.get("filter")
    expr = parse_filter(text, rtype) if text not in (None, "") else None
    paging = parse_paging(lowered, max_results)
    sort_by = None
    sort_text = lowered.get("sortby")
    if sort_text not in (None, ""):
        if not isinstance(sort_text, str):
            raise InvalidValue("'sortBy' must be an attribute name")
        sort_by = resolve_attr_path(rtype, sort_text.strip(), InvalidValue)
    projection = parse_projection(rtype, lowered.get("attributes"),
                                  lowered.get("excludedattributes"))
    return ListQuery(expr, paging.start_index, paging.count, sort_by, paging.descending,
                     projection)


def search_parameters(body) -> dict:
    """The parameters of a SearchRequest body (RFC 7644 §3.4.3), `schemas` checked."""
    if not isinstance(body, dict):
        raise InvalidValue("the search request must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidValue(f"a search request's 'schemas' must contain {SEARCH_REQUEST}")
    return {k: v for k, v in body.items() if k.lower() != "schemas"}


def parse_search_request(body, rtype: ResourceType, max_results: int) -> ListQuery:
    """POST /.search (RFC 7644 §3.4.3)."""
    return parse_list_query(search_parameters(body), rtype, max_results)


@cache
def _base_select(model):
    # Building a SELECT coerces every column; doing it once per table, not per request.
    return select(*model.__table__.c)


def _indexed_equality(query: ListQuery, mapping: ResourceMapping):
    """(column, literal) when the query is Entra's match: `attr eq "v"` on an indexed
    column, first page, no sort. Those get a prebuilt statement (below)."""
    expr = query.filter
    if not (isinstance(expr, Compare) and expr.op == "eq" and expr.ref.sub is None
            and isinstance(expr.value, str) and query.sort_by is None
            and query.start_index == 1 and query.count > 0):
        return None
    attr = expr.ref.attr
    if attr.multi_valued or attr.schema not in ("", mapping.core_schema):
        return None
    spec = mapping.columns.get(attr.name.lower())
    if spec is None or attr.type != "string":
        return None
    if spec.folded:
        return spec.column, expr.value.lower()
    return (spec.column, expr.value) if attr.case_exact else None


@lru_cache(maxsize=64)
def _lookup(model, column) -> Prepared:
    # Built once per column: statement building and cache-key generation were about a
    # fifth of a filter GET; the prepared form also skips SQLAlchemy's execution path.
    return Prepared(_base_select(model).where(column == bindparam("v"))
                    .order_by(model.id).limit(bindparam("n")), ("v", "n"))


def read_by_id(reads: Reads, model, resource_id: str):
    """One resource as a read-only row (GET by id), or None."""
    return reads.first(_lookup(model, model.__table__.c.id), v=resource_id, n=1)


def ordered(columns, key: str | None, descending: bool, *ties: str) -> list:
    """ORDER BY over the named `columns` (of a CTE or subquery): the sort key, if any,
    without a value last when ascending and first when descending (RFC 7644 §3.4.2.3),
    then the tie-breakers, so that pages are stable."""
    order = [columns[name] for name in ties]
    if key is not None:
        column = columns[key]
        order.insert(0, column.desc().nulls_first() if descending else column.asc().nulls_last())
    return order


def counted_page(conn, candidates, order_of, start_index: int, count: int):
    """(totalResults, rows of the page) for the SELECT `candidates` (its filter applied).

    One statement: the matches are a CTE that both the COUNT(*) and the page read;
    SQLite (3.35+) and PostgreSQL materialise a CTE read twice, so the filter is
    evaluated once per row, not once for the page and again for the total. The count
    is LEFT JOINed so that a page beyond the end still tells the total.
    `order_of(columns)` gives the ORDER BY over the candidates' named columns.
    """
    rows = list(conn.execute(page_statement(candidates, order_of, start_index, count)))
    return (rows[0].total if rows else 0), [row for row in rows if row.id is not None]


def page_statement(candidates, order_of, start_index: int, count: int):
    """The statement `counted_page` runs: `total` and the candidates' columns."""
    matches = candidates.cte("matches")
    total = select(func.count().label("total")).select_from(matches).subquery("total")
    page = (select(matches).order_by(*order_of(matches.c))
            .offset(start_index - 1).limit(count).subquery("page"))
    return (select(total.c.total, *page.c).select_from(total.outerjoin(page, true()))
            .order_by(*order_of(page.c)))


def run_list_query(session: Session, query: ListQuery, mapping: ResourceMapping,
                   dialect: str, reads: Reads | None = None) -> tuple[int, list]:
    """Return (totalResults, the rows of the requested page).

    Rows are read-only rows with the table's columns as attributes (`id`, `data`,
    `created`, ...), not ORM objects: skipping the ORM's identity map halves the cost
    of Entra's match-by-userName queries, which go through `reads` when given.
    """
    model = mapping.model
    lookup = _indexed_equality(query, mapping)
    if lookup is not None:
        column, value = lookup
        rows = (reads or Reads.within(session)).all(_lookup(model, column), v=value,
                                                    n=query.count)
        if len(rows) < query.count:
            return len(rows), rows
    conn = session.connection()
    if query.filter is None:
        # An index scan for the page and an index count: cheaper than a CTE.
        total = conn.execute(select(func.count()).select_from(model)).scalar_one()
        if query.count == 0:
            return total, []
        order = (order_by_clauses(query.sort_by, mapping, query.descending, dialect)
                 if query.sort_by is not None else [model.id])
        page = conn.execute(_base_select(model).order_by(*order)
                            .offset(query.start_index - 1).limit(query.count))
        return total, list(page)
    columns = [model.id.label("id")]
    if query.sort_by is not None:
        columns.append(sort_expression(query.sort_by, mapping, dialect).label("k"))
    candidates = select(*columns).where(to_sql_clause(query.filter, mapping, dialect))
    if query.count == 0:
        total = conn.execute(select(func.count()).select_from(candidates.subquery()))
        return total.scalar_one(), []
    key = "k" if query.sort_by is not None else None
    total, page = counted_page(conn, candidates,
                               lambda c: ordered(c, key, query.descending, "id"),
                               query.start_index, query.count)
    return total, read_rows(conn, model, [row.id for row in page])


def read_rows(conn, model, ids: list[str]) -> list:
    """Whole rows for `ids` (a page: at most SCIM_MAX_RESULTS), in that order."""
    found = {}
    for start in range(0, len(ids), _ID_CHUNK):
        chunk = ids[start:start + _ID_CHUNK]
        found.update((row.id, row) for row in conn.execute(
            _base_select(model).where(model.__table__.c.id.in_(chunk))))
    return [found[i] for i in ids if i in found]


_ID_CHUNK = 500  # well under SQLite's bound-parameter limit (999 before 3.32)
