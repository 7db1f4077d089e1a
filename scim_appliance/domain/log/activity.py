"""What the console's dashboard says about provisioning: requests and failures over
a period, when Entra last called, the latest failures. Counted by the database over
the indexed `at` column, never by loading rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ...storage.models import ProvisioningLogEntry


@dataclass(frozen=True)
class Activity:
    requests: int
    failures: int
    last_request_at: datetime | None


def activity_since(session: Session, since: datetime) -> Activity:
    entry = ProvisioningLogEntry
    row = session.execute(select(func.count(), func.sum(case((entry.status >= 400, 1), else_=0)))
                          .where(entry.at >= since)).one()
    last = session.scalar(select(func.max(entry.at)))
    return Activity(row[0] or 0, int(row[1] or 0), last)


def latest_failures(session: Session, limit: int = 5) -> list[ProvisioningLogEntry]:
    entry = ProvisioningLogEntry
    return list(session.scalars(select(entry).where(entry.status >= 400)
                                .order_by(entry.at.desc(), entry.id.desc()).limit(limit)))
