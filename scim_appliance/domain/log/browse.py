"""The provisioning log as the console browses it: newest first, a page at a time,
filtered by failures, a time range, a user or group (id or name), a request id.

No total count: over a million rows it would cost more than the page. A page reads
one row more than it shows, which says whether there is a next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from ...storage.models import ProvisioningLogEntry
from .failure_kinds import KINDS, OTHER, Kind


@dataclass(frozen=True)
class LogQuery:
    failures_only: bool = False
    since: datetime | None = None
    until: datetime | None = None
    about: str | None = None  # a user's or group's id or name
    request_id: str | None = None


def search(session: Session, query: LogQuery, offset: int,
           limit: int) -> tuple[list[ProvisioningLogEntry], bool]:
    """One page of entries and whether there are more."""
    entry = ProvisioningLogEntry
    statement = select(entry)
    if query.failures_only:
        statement = statement.where(entry.status >= 400)
    if query.since is not None:
        statement = statement.where(entry.at >= query.since)
    if query.until is not None:
        statement = statement.where(entry.at <= query.until)
    if query.about:
        statement = statement.where(or_(entry.resource_id == query.about,
                                        func.lower(entry.resource_name)
                                        == query.about.lower()))
    if query.request_id:
        statement = statement.where(entry.request_id == query.request_id)
    rows = list(session.scalars(statement.order_by(entry.at.desc(), entry.id.desc())
                                .offset(offset).limit(limit + 1)))
    return rows[:limit], len(rows) > limit


def entries_about(session: Session, resource_type: str, resource_id: str,
                  limit: int = 20) -> list[ProvisioningLogEntry]:
    entry = ProvisioningLogEntry
    return list(session.scalars(select(entry).where(entry.resource_type == resource_type,
                                                    entry.resource_id == resource_id)
                                .order_by(entry.at.desc(), entry.id.desc()).limit(limit)))


def advice_for(entry: ProvisioningLogEntry) -> Kind | None:
    """What the failure email says to do about this entry (None for a success)."""
    if entry.status < 400:
        return None
    return KINDS.get(entry.failure_kind or OTHER, KINDS[OTHER])
