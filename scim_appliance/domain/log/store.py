"""Store, find and prune provisioning-log entries (the `provisioning_log` table).

Called by the log writer's thread with its own session, never inside a SCIM request's
transaction; the caller commits. Failures become *pending* notifications here, in the
same transaction that stores them, so a failure is on disk before any email is tried.

Only requests that passed the token check become entries; the others are counted
(log/auth_failures.py). The table has a hard size bound, LOG_MAX_ROWS: `prune`
deletes the oldest entries beyond it, pending or not, because a bound that waits for
the mail server is no bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import Session

from ...storage.models import (
    Group,
    NotificationDigest,
    ProvisioningLogEntry,
    User,
)
from . import auth_failures
from .entries import Entry

# Digests are what the failure email's timing is decided by (a notice about refused
# requests at most once a day): kept at least this long whatever the retention.
DIGESTS_KEPT = timedelta(days=2)
PRUNE_CHUNK = 5000

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


_INSERT_ENTRIES = insert(ProvisioningLogEntry.__table__)


def record_entries(session: Session, entries: list[Entry], *, notify: bool) -> None:
    """Insert entries in order; mark failures pending for email when `notify` is on.

    Only failures that passed the token check are mailed this way (a refused token is
    counted and reported from auth_failures). One multi-row INSERT per batch: the
    writer shares the CPU and SQLite's write lock with requests.
    """
    names: dict[tuple, str] = {}  # names seen earlier in this batch (create, then delete)
    rows = []
    for entry in entries:
        key = (entry.resource_type, entry.resource_id)
        if entry.resource_name is None and entry.resource_id:
            entry.resource_name = _known_name(session, *key) if key not in names \
                else names[key]
        if entry.resource_name is not None and entry.resource_id:
            names[key] = entry.resource_name
        rows.append({
            "at": entry.at, "request_id": entry.request_id, "client": entry.client,
            "method": entry.method, "path": entry.path, "resource_type": entry.resource_type,
            "resource_id": entry.resource_id, "resource_name": entry.resource_name,
            "operation": entry.operation, "action": entry.action, "changes": entry.changes,
            "status": entry.status, "scim_type": entry.scim_type, "detail": entry.detail,
            "duration_us": entry.duration_us, "failure_kind": entry.failure_kind,
            "notify_pending": bool(notify and entry.failure_kind and entry.authenticated),
            "digest_id": None})
    if rows:
        # Core executemany on a cached statement: the ORM's bulk insert was half of
        # the writer's time, and the writer shares the GIL with the requests.
        session.connection().execute(_INSERT_ENTRIES, rows)


def _known_name(session: Session, rtype: str | None, resource_id: str) -> str | None:
    """The object's name now, or the last one logged (a deleted object has no row)."""
    if rtype == "User":
        name = session.execute(select(User.user_name).where(User.id == resource_id)).scalar()
    elif rtype == "Group":
        name = session.execute(
            select(Group.display_name).where(Group.id == resource_id)).scalar()
    else:
        return None
    if name is not None:
        return name
    return session.execute(
        select(ProvisioningLogEntry.resource_name)
        .where(ProvisioningLogEntry.resource_type == rtype,
               ProvisioningLogEntry.resource_id == resource_id,
               ProvisioningLogEntry.resource_name.is_not(None))
        # By time, not id: with several worker processes ids follow batches.
        .order_by(ProvisioningLogEntry.at.desc(), ProvisioningLogEntry.id.desc()).limit(1)
    ).scalar()


@dataclass
class Pruned:
    """What one `prune` call removed; `more` says a chunk was full (call it again)."""

    old: int = 0  # entries past the retention
    beyond_bound: int = 0  # the oldest entries past LOG_MAX_ROWS
    unmailed: int = 0  # of those, failures still waiting for an email
    refusal_rows: int = 0  # auth_failures rows
    more: bool = False

    @property
    def entries(self) -> int:
        return self.old + self.beyond_bound


def prune(session: Session, now: datetime, retention_days: float, max_rows: int = 0, *,
          chunk: int = PRUNE_CHUNK) -> Pruned:
    """Delete entries older than the retention (failures not yet mailed are kept),
    then the oldest beyond `max_rows` whatever they are, and the same for the counts
    of refused requests. At most `chunk` rows of each per call, so no transaction
    holds the write lock for long; the caller repeats while `more`."""
    e = ProvisioningLogEntry
    done = Pruned()
    if retention_days and retention_days > 0:
        cutoff = now - timedelta(days=retention_days)
        old = select(e.id).where(e.at < cutoff, e.notify_pending.is_(False)) \
            .order_by(e.id).limit(chunk)
        done.old = session.execute(delete(e).where(e.id.in_(old))).rowcount or 0
        session.execute(delete(NotificationDigest).where(
            NotificationDigest.created_at < min(cutoff, now - DIGESTS_KEPT),
            NotificationDigest.state != "sending"))
    if max_rows and max_rows > 0:
        # Ids grow with every batch, so the highest `max_rows` ids are the newest.
        boundary = session.execute(select(e.id).order_by(e.id.desc()).offset(max_rows)
                                   .limit(1)).scalar()
        if boundary is not None:
            oldest = select(e.id).where(e.id <= boundary).order_by(e.id).limit(chunk)
            done.unmailed = session.execute(select(func.count()).where(
                e.id.in_(oldest), e.notify_pending.is_(True))).scalar_one()
            done.beyond_bound = session.execute(
                delete(e).where(e.id.in_(oldest))).rowcount or 0
    done.refusal_rows = auth_failures.prune_counts(session, now, retention_days,
                                                   chunk=chunk)
    done.more = chunk in (done.old, done.beyond_bound) or done.refusal_rows >= chunk
    return done


def list_entries(session: Session, *, failures_only: bool = False,
                 since: datetime | None = None, users: tuple[str, ...] = (),
                 groups: tuple[str, ...] = (), limit: int = 50) -> list[ProvisioningLogEntry]:
    """Entries newest first; `users`/`groups` match an id or a name (any case)."""
    query = select(ProvisioningLogEntry)
    if failures_only:
        query = query.where(ProvisioningLogEntry.status >= 400)
    if since is not None:
        query = query.where(ProvisioningLogEntry.at >= since)
    about = [_about("User", v) for v in users] + [_about("Group", v) for v in groups]
    if about:
        query = query.where(or_(*about))
    query = query.order_by(ProvisioningLogEntry.at.desc(), ProvisioningLogEntry.id.desc())
    return list(session.execute(query.limit(limit)).scalars())


def _about(rtype: str, value: str):
    return (ProvisioningLogEntry.resource_type == rtype) & or_(
        ProvisioningLogEntry.resource_id == value,
        func.lower(ProvisioningLogEntry.resource_name) == value.lower())


def parse_since(text: str, now: datetime) -> datetime:
    """`2h`, `30m`, `7d`, `1w`, or an ISO 8601 date/time (naive means UTC).

    Returns naive UTC, as stored. Raises ValueError with a message for the operator.
    """
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"--since {text!r}: use an ISO date/time (2025-05-01, "
                         "2025-05-01T08:00Z) or a relative age like 30m, 2h, 7d") from None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value
