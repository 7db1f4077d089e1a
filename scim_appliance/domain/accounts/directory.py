"""Users and groups as the console pages them: one page at a time, searched by plain
text or a SCIM filter, counted and paged by the database (query/listing.py, the same
statements as a SCIM list), never by loading every row; and one object's groups or
members, paged the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import Session

from ...storage.models import Group, Membership, User
from ..protocol.errors import ScimError
from ..protocol.filters import parse_filter, resolve_attr_path
from ..protocol.schema import GROUP_TYPE, USER_TYPE
from ..query.filter_sql import to_sql_clause
from ..query.listing import ListQuery, counted_page, ordered, read_rows, run_list_query
from ..query.mappings import GROUP_MAPPING, USER_MAPPING
from .local_accounts import SOURCE_LABELS, display_email

MAX_SEARCH = 1000
_PLAIN = {"User": ("userName", "displayName", "emails.value"), "Group": ("displayName",)}


class SearchRefused(ValueError):
    """The search text is neither usable plain text nor a valid SCIM filter."""


@dataclass(frozen=True)
class Search:
    """What the administrator typed, as the filter text it became."""

    text: str
    filter_text: str | None
    is_filter: bool

    @property
    def plain(self) -> str | None:
        """The plain text, when that is what was typed."""
        return self.text if self.text and not self.is_filter else None


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_search(text: str | None, rtype_name: str) -> Search:
    """A SCIM filter when the text parses as one (RFC 7644 §3.4.2.2, e.g.
    `active eq false`), else plain text matched (`co`) against the names and email."""
    text = (text or "").strip()
    if not text:
        return Search("", None, False)
    if len(text) > MAX_SEARCH:
        raise SearchRefused(f"the search is longer than {MAX_SEARCH} characters")
    if "\x00" in text:
        raise SearchRefused("the search must not contain a NUL character")
    rtype = USER_TYPE if rtype_name == "User" else GROUP_TYPE
    try:
        parse_filter(text, rtype)
        return Search(text, text, True)
    except ScimError:
        pass
    plain = " or ".join(f"{attr} co {_quoted(text)}" for attr in _PLAIN[rtype_name])
    return Search(text, plain, False)


@dataclass(frozen=True)
class UserRow:
    id: str
    user_name: str
    display_name: str | None
    email: str | None
    active: bool | None
    source: str
    derived_name: str | None
    adjusted: bool


@dataclass(frozen=True)
class GroupRow:
    id: str
    display_name: str
    members: int
    source: str
    derived_name: str | None
    adjusted: bool


def source_label(source: str | None) -> str:
    return SOURCE_LABELS.get(source or "scim", source or "scim")


def _prefilter(model, text: str, dialect: str):
    """A cheap first test for plain text: the stored document's JSON text holds every
    attribute the `co` filter looks at, so a row whose text lacks the search cannot
    match and the JSON functions run only on the few that have it. Text that JSON may
    escape (quotes, backslashes, controls; non-ASCII, which the stdlib encoder of
    release 0.1.0 wrote as \\u escapes) cannot be found that way: no prefilter."""
    if not text.isascii() or any(c in text for c in '"\\') or \
            any(ord(c) < 0x20 for c in text):
        return None
    escaped = text.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    document = cast(model.data, Text)
    if dialect == "sqlite":  # SQLite's LIKE ignores ASCII case itself: no lower() copy
        return document.like(f"%{escaped}%", escape="!")
    return document.ilike(f"%{escaped}%", escape="!")


def _page(session, rtype, mapping, sort, search: Search, offset: int, limit: int,
          dialect: str):
    try:
        tree = parse_filter(search.filter_text, rtype) if search.filter_text else None
    except ScimError as exc:
        raise SearchRefused(exc.detail) from None
    prefilter = _prefilter(mapping.model, search.plain, dialect) if search.plain else None
    if prefilter is not None:
        model = mapping.model
        key = model.user_name_ci if model is User else model.display_name_ci
        candidates = select(model.id.label("id"), key.label("k")).where(
            prefilter, to_sql_clause(tree, mapping, dialect))
        conn = session.connection()
        total, page = counted_page(conn, candidates, lambda c: ordered(c, "k", False, "id"),
                                   offset + 1, limit)
        return total, read_rows(conn, model, [row.id for row in page])
    query = ListQuery(filter=tree, start_index=offset + 1, count=limit,
                      sort_by=resolve_attr_path(rtype, sort))
    try:
        return run_list_query(session, query, mapping, dialect)
    except ScimError as exc:
        raise SearchRefused(exc.detail) from None


def page_users(session: Session, search: Search, offset: int, limit: int,
               dialect: str = "sqlite") -> tuple[int, list[UserRow]]:
    total, rows = _page(session, USER_TYPE, USER_MAPPING, "userName", search, offset, limit,
                        dialect)
    return total, [UserRow(r.id, r.user_name, (r.data or {}).get("displayName"),
                           display_email(r.data or {}), r.active, source_label(r.source),
                           r.sanitized_user_name, bool(r.name_adjusted)) for r in rows]


def page_groups(session: Session, search: Search, offset: int, limit: int,
                dialect: str = "sqlite") -> tuple[int, list[GroupRow]]:
    total, rows = _page(session, GROUP_TYPE, GROUP_MAPPING, "displayName", search, offset,
                        limit, dialect)
    ids = [r.id for r in rows]
    counts = dict(session.execute(select(Membership.group_id, func.count())
                                  .where(Membership.group_id.in_(ids))
                                  .group_by(Membership.group_id)).all()) if ids else {}
    return total, [GroupRow(r.id, r.display_name, counts.get(r.id, 0), source_label(r.source),
                            r.sanitized_display_name, bool(r.name_adjusted)) for r in rows]


@dataclass(frozen=True)
class Related:
    id: str
    type: str
    name: str | None


def groups_of_user(session: Session, user_id: str, offset: int,
                   limit: int) -> tuple[int, list[Related]]:
    where = (Membership.member_id == user_id) & (Membership.member_type == "User")
    total = session.scalar(select(func.count()).select_from(Membership).where(where)) or 0
    rows = session.execute(select(Group.id, Group.display_name)
                           .join(Membership, Membership.group_id == Group.id).where(where)
                           .order_by(Group.display_name_ci).offset(offset).limit(limit))
    return total, [Related(gid, "Group", name) for gid, name in rows]


def members_of_group(session: Session, group_id: str, offset: int,
                     limit: int) -> tuple[int, list[Related]]:
    where = Membership.group_id == group_id
    total = session.scalar(select(func.count()).select_from(Membership).where(where)) or 0
    name = func.coalesce(User.user_name, Group.display_name)
    rows = session.execute(
        select(Membership.member_id, Membership.member_type, name)
        .outerjoin(User, (Membership.member_type == "User") & (User.id == Membership.member_id))
        .outerjoin(Group, (Membership.member_type == "Group")
                   & (Group.id == Membership.member_id))
        .where(where).order_by(Membership.member_id).offset(offset).limit(limit))
    return total, [Related(mid, mtype, mname) for mid, mtype, mname in rows]
