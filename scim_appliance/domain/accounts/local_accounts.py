"""Local accounts (issue 6): users and groups the operator brings in, and listings.

Deployments had users before SCIM. `import_users` creates them from a CSV file through
the same `create_user` / `create_group` / `patch_group` calls as the API, so
validation and the name rules apply exactly as for Entra, and marks them `local`:
when Entra later POSTs the same userName it adopts the account (domain/resources/users.py)
instead of failing on a duplicate.

An import is all or nothing: every row runs in its own savepoint so that one bad row
does not hide the next, every error is reported with its line, and the caller
commits only when there was none (or rolls back for a dry run). Half an import would
leave the operator to work out which rows to remove before trying again.

Nothing here imports Flask or commits.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...storage.models import Group, Membership
from ..names.policy import NameRules
from ..protocol.errors import ScimError
from ..protocol.filters import parse_filter, resolve_attr_path
from ..protocol.schema import (
    APPLIANCE_GROUP,
    APPLIANCE_USER,
    CORE_GROUP,
    CORE_USER,
    GROUP_TYPE,
    PATCH_OP,
    USER_TYPE,
)
from ..query.listing import ListQuery, run_list_query
from ..query.mappings import GROUP_MAPPING, USER_MAPPING
from ..resources.groups import create_group, patch_group
from ..resources.users import create_user

COLUMNS = ("userName", "email", "givenName", "familyName", "displayName", "active",
           "externalId", "groups")
SOURCES = ("scim", "local")
# How listings name the sources: what an administrator recognises.
SOURCE_LABELS = {"scim": "SCIM Synchronization", "local": "local"}


# -- import ----------------------------------------------------------------------------
@dataclass
class ImportRow:
    """One CSV record: its line in the file, the SCIM payload built from it, its groups."""

    line: int
    user_name: str
    payload: dict | None
    groups: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class RowResult:
    line: int
    user_name: str
    id: str | None = None
    error: str | None = None


@dataclass
class ImportReport:
    rows: list[RowResult]
    groups_created: list[str] = field(default_factory=list)
    memberships_added: int = 0

    @property
    def errors(self) -> list[RowResult]:
        return [r for r in self.rows if r.error]

    @property
    def created(self) -> int:
        return sum(1 for r in self.rows if r.id and not r.error)


def _boolean(text: str) -> bool:
    """true or false in any case, as SCIM booleans and Entra's "True"/"False" are; an
    empty cell is true (an imported account is active unless the file says otherwise).
    Nothing else: a "0" or "no" is more likely a shifted column than a decision."""
    value = text.strip().lower()
    if value in ("true", ""):
        return True
    if value == "false":
        return False
    raise ValueError(f"active must be true or false, not {text!r}")


def user_payload(record: dict[str, str]) -> tuple[dict, list[str]]:
    """The SCIM User payload and group names for one CSV record (columns as COLUMNS).

    Empty cells are left out, so the stored document holds what an Entra POST with
    the same attributes would hold.
    """
    cell = {k: (v or "").strip() for k, v in record.items()}
    payload: dict = {"schemas": [CORE_USER], "userName": cell.get("userName", "")}
    if cell.get("email"):
        payload["emails"] = [{"value": cell["email"], "type": "work", "primary": True}]
    name = {k: cell[k] for k in ("givenName", "familyName") if cell.get(k)}
    if name:
        payload["name"] = name
    for key in ("displayName", "externalId"):
        if cell.get(key):
            payload[key] = cell[key]
    payload["active"] = _boolean(cell.get("active", ""))
    groups = list(dict.fromkeys(g.strip() for g in cell.get("groups", "").split(";")
                                if g.strip()))
    return payload, groups


def parse_import(text: str) -> list[ImportRow]:
    """Rows of an import CSV (header names any case). Raises ValueError for a header
    problem; a bad row carries its error instead, so all are reported together."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if not header:
        raise ValueError("the file is empty; the first line must name the columns: "
                         + ", ".join(COLUMNS))
    canonical = {c.lower(): c for c in COLUMNS}
    names = []
    for raw in header:
        key = raw.strip().lower()
        if key not in canonical:
            raise ValueError(f"unknown column {raw.strip()!r}; the columns are "
                             + ", ".join(COLUMNS))
        names.append(canonical[key])
    if "userName" not in names:
        raise ValueError("the file has no userName column")
    if len(set(names)) != len(names):
        raise ValueError("a column is named twice")
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        line = reader.line_num
        record = dict(zip(names, values, strict=False))
        if len(values) > len(names):
            rows.append(ImportRow(line, record.get("userName", ""), None,
                                  error=f"{len(values)} cells for {len(names)} columns"))
            continue
        try:
            payload, groups = user_payload(record)
        except ValueError as exc:
            rows.append(ImportRow(line, record.get("userName", ""), None, error=str(exc)))
            continue
        rows.append(ImportRow(line, payload["userName"], payload, groups))
    return rows


def read_import_file(path: str | Path) -> list[ImportRow]:
    """parse_import on a UTF-8 file (a BOM, as Excel writes, is fine)."""
    return parse_import(Path(path).read_text(encoding="utf-8-sig"))


def _member_patch(ids: list[str]) -> dict:
    return {"schemas": [PATCH_OP], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": i} for i in ids]}]}


def import_users(session: Session, rows: Iterable[ImportRow], *,
                 rules: NameRules | None = None) -> ImportReport:
    """Create each row's user as `local`, then its groups (missing ones as `local`
    groups) and memberships. Never commits: commit only if `report.errors` is empty."""
    results: list[RowResult] = []
    wanted: dict[str, list[tuple[str, RowResult]]] = {}  # lower name -> members
    group_names: dict[str, str] = {}  # lower name -> name as first written
    first_line: dict[str, int] = {}  # lower userName -> the line that has it
    for row in rows:
        result = RowResult(row.line, row.user_name, error=row.error)
        results.append(result)
        if row.payload is None:
            continue
        earlier = first_line.setdefault(row.user_name.lower(), row.line)
        if earlier != row.line:
            result.error = (f"the same userName as line {earlier} (userNames are unique "
                            "case-insensitively)")
            continue
        try:
            with session.begin_nested():
                user = create_user(session, row.payload, source="local", rules=rules)
            result.id = user.id
        except ScimError as exc:
            result.error = exc.detail
            continue
        for name in row.groups:
            group_names.setdefault(name.lower(), name)
            wanted.setdefault(name.lower(), []).append((user.id, result))
    report = ImportReport(results)
    for key, members in wanted.items():
        name = group_names[key]
        try:
            with session.begin_nested():
                group = session.execute(
                    select(Group).where(Group.display_name_ci == key)).scalar_one_or_none()
                if group is None:
                    group = create_group(session, {"schemas": [CORE_GROUP],
                                                   "displayName": name},
                                         source="local", rules=rules)
                    report.groups_created.append(name)
                before = _member_count(session, group.id)
                # source=None: adding local members does not make a group local.
                patch_group(session, group.id, _member_patch([m for m, _ in members]),
                            rules=rules, source=None)
                report.memberships_added += _member_count(session, group.id) - before
        except ScimError as exc:
            for _, result in members:
                result.error = result.error or f"group {name!r}: {exc.detail}"
    return report


def _member_count(session: Session, group_id: str) -> int:
    return session.execute(select(func.count()).select_from(Membership)
                           .where(Membership.group_id == group_id)).scalar_one()


# -- listings --------------------------------------------------------------------------
def _source_filter(urn: str, source: str | None, text: str | None) -> str | None:
    if source is None:
        return text
    clause = f'{urn}:source eq "{source}"'
    return f"({text}) and {clause}" if text else clause


def display_email(doc: dict) -> str | None:
    """The address to show: the primary one, else the work one, else the first."""
    emails = [e for e in doc.get("emails") or [] if isinstance(e, dict)
              and isinstance(e.get("value"), str)]
    for test in (lambda e: e.get("primary") is True, lambda e: e.get("type") == "work",
                 lambda e: True):
        for email in emails:
            if test(email):
                return email["value"]
    return None


def list_users(session: Session, *, filter_text: str | None = None,
               source: str | None = None, limit: int | None = None,
               dialect: str = "sqlite") -> list[dict]:
    """Users as {id, userName, email, active, source}, by a SCIM filter (listing.py)."""
    text = _source_filter(APPLIANCE_USER, source, filter_text)
    query = ListQuery(filter=parse_filter(text, USER_TYPE) if text else None,
                      count=limit or 2**62, sort_by=resolve_attr_path(USER_TYPE, "userName"))
    _, rows = run_list_query(session, query, USER_MAPPING, dialect)
    return [{"id": r.id, "userName": r.user_name, "email": display_email(r.data or {}),
             "active": r.active, "source": r.source or "scim"} for r in rows]


def list_groups(session: Session, *, filter_text: str | None = None,
                source: str | None = None, limit: int | None = None,
                dialect: str = "sqlite") -> list[dict]:
    """Groups as {id, displayName, members (a count), source}."""
    text = _source_filter(APPLIANCE_GROUP, source, filter_text)
    query = ListQuery(filter=parse_filter(text, GROUP_TYPE) if text else None,
                      count=limit or 2**62,
                      sort_by=resolve_attr_path(GROUP_TYPE, "displayName"))
    _, rows = run_list_query(session, query, GROUP_MAPPING, dialect)
    counts: dict[str, int] = {}
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):  # well under SQLite's parameter limit
        counts.update(session.execute(
            select(Membership.group_id, func.count()).group_by(Membership.group_id)
            .where(Membership.group_id.in_(ids[start:start + 500]))).all())
    return [{"id": r.id, "displayName": r.display_name, "members": counts.get(r.id, 0),
             "source": r.source or "scim"} for r in rows]
