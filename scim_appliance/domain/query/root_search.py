"""Search at the server root (RFC 7644 §3.4.2.1, §3.4.3): Users and Groups in one list.

"A query against a server root indicates that all resources within the server SHALL be
included, subject to filtering." The filter is parsed once per resource type
(`filters.parse_filter_across`): an attribute a type does not define has no value
there, as RFC 7644 §3.4.2.2 asks, and a name no type defines is an invalidFilter.
`sortBy` works the same way: resources without the attribute sort as having no value.

Paging is SQL: each type contributes the ids (and sort keys) of its matches to a
UNION ALL, which one statement pages and counts (`listing.counted_page`); only the
page's rows are then read, per type, by primary key. Without `sortBy` Users come
first, then Groups, each in id order; with it, ties keep that order.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal_column, null, select, union_all
from sqlalchemy.orm import Session

from ..protocol.errors import InvalidValue
from ..protocol.filters import AttrRef, Const, parse_filter_across, try_resolve_attr_path
from ..protocol.projection import Projection, parse_projection
from ..protocol.schema import GROUP_TYPE, USER_TYPE
from .filter_sql import sort_expression, to_sql_clause
from .listing import counted_page, ordered, parse_paging, read_rows, search_parameters
from .mappings import GROUP_MAPPING, USER_MAPPING

# In the order their resources are listed.
ROOT_TYPES = ((USER_TYPE, USER_MAPPING), (GROUP_TYPE, GROUP_MAPPING))
_NOTHING = Const(False)


@dataclass(frozen=True)
class RootQuery:
    """A SearchRequest at the root; `filters`, `sort_by` and `projections` by type name."""

    filters: dict[str, object | None]
    start_index: int
    count: int
    sort_by: dict[str, AttrRef | None] | None
    descending: bool
    projections: dict[str, Projection]


def parse_root_search(body, max_results: int) -> RootQuery:
    """POST /.search (RFC 7644 §3.4.3) over every resource type."""
    lowered = {str(k).lower(): v for k, v in search_parameters(body).items()}
    rtypes = tuple(rtype for rtype, _ in ROOT_TYPES)
    text = lowered.get("filter")
    filters = (parse_filter_across(text, rtypes) if text not in (None, "")
               else dict.fromkeys((rtype.name for rtype in rtypes), None))
    paging = parse_paging(lowered, max_results)
    sort_by = None
    sort_text = lowered.get("sortby")
    if sort_text not in (None, ""):
        if not isinstance(sort_text, str):
            raise InvalidValue("'sortBy' must be an attribute name")
        sort_by = {rtype.name: try_resolve_attr_path(rtype, sort_text.strip(), InvalidValue)
                   for rtype in rtypes}
        if all(ref is None for ref in sort_by.values()):
            raise InvalidValue(f"cannot sort by '{sort_text.strip()}': no resource type "
                               f"({', '.join(rtype.name for rtype in rtypes)}) defines it")
    projections = {rtype.name: parse_projection(rtype, lowered.get("attributes"),
                                                lowered.get("excludedattributes"))
                   for rtype in rtypes}
    return RootQuery(filters, paging.start_index, paging.count, sort_by, paging.descending,
                     projections)


def root_candidates(query: RootQuery, dialect: str):
    """The UNION ALL of each type's matches: (rank, id[, k]); None when no type can match."""
    branches = []
    for rank, (rtype, mapping) in enumerate(ROOT_TYPES):
        expr = query.filters[rtype.name]
        if expr == _NOTHING:  # e.g. `userName eq "x"` for Groups
            continue
        columns = [literal_column(str(rank)).label("rank"), mapping.id_column.label("id")]
        if query.sort_by is not None:
            ref = query.sort_by[rtype.name]
            # An untyped NULL takes the other branches' type (SQLite and PostgreSQL).
            key = sort_expression(ref, mapping, dialect) if ref is not None else null()
            columns.append(key.label("k"))
        branch = select(*columns)
        if expr is not None:
            branch = branch.where(to_sql_clause(expr, mapping, dialect))
        branches.append(branch)
    if not branches:
        return None
    return select((union_all(*branches) if len(branches) > 1 else branches[0]).subquery())


def root_order(query: RootQuery):
    key = "k" if query.sort_by is not None else None
    return lambda columns: ordered(columns, key, query.descending, "rank", "id")


def run_root_search(session: Session, query: RootQuery,
                    dialect: str) -> tuple[int, list[tuple[str, object]]]:
    """(totalResults, [(resource type name, row)] of the page, in order)."""
    candidates = root_candidates(query, dialect)
    if candidates is None:
        return 0, []
    conn = session.connection()
    if query.count == 0:
        total = conn.execute(select(func.count()).select_from(candidates.subquery()))
        return total.scalar_one(), []
    total, page = counted_page(conn, candidates, root_order(query), query.start_index,
                               query.count)
    rows: dict[tuple[int, str], object] = {}
    for rank, (_, mapping) in enumerate(ROOT_TYPES):
        ids = [entry.id for entry in page if entry.rank == rank]
        rows.update(((rank, row.id), row) for row in read_rows(conn, mapping.model, ids))
    return total, [(ROOT_TYPES[entry.rank][0].name, rows[(entry.rank, entry.id)])
                   for entry in page if (entry.rank, entry.id) in rows]
