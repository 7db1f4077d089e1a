"""Store, find and prune provisioning-log entries (the `provisioning_log` table).

Called by the log writer's thread with its own session, never inside a SCIM request's
transaction; the caller commits. Failures become *pending* notifications here, in the
same transaction that stores them, so a failure is on disk before any email is tried.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, insert, or_, select, update
from sqlalchemy.orm import Session

from ...storage.models import Group, NotificationDigest, ProvisioningLogEntry, User
from .entries import Entry
from .failure_kinds import TOKEN

# One 401 is a typo in Test Connection or a stray scanner; this many within the hour
# is Entra running a cycle with the wrong token, and worth an email.
TOKEN_REPEATS = 3
TOKEN_WINDOW = timedelta(hours=1)

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.I)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


_INSERT_ENTRIES = insert(ProvisioningLogEntry.__table__)


def record_entries(session: Session, entries: list[Entry], *, notify: bool) -> None:
    """Insert entries in order; mark notifiable failures pending when `notify` is on.

    A failure is notifiable when it passed the token check (so scanners probing
    unknown URLs send no email) or when it is one of repeated 401s. One multi-row
    INSERT per batch: the writer shares the CPU and SQLite's write lock with requests.
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
            "notify_pending": bool(notify and entry.failure_kind and entry.authenticated
                                   and entry.failure_kind != TOKEN),
            "digest_id": None})
    if rows:
        # Core executemany on a cached statement: the ORM's bulk insert was half of
        # the writer's time, and the writer shares the GIL with the requests.
        session.connection().execute(_INSERT_ENTRIES, rows)
    token_failures = [e.at for e in entries if e.failure_kind == TOKEN]
    if notify and token_failures:
        _mark_repeated_token_failures(session, max(token_failures))


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


def _mark_repeated_token_failures(session: Session, at: datetime) -> None:
    start = at - TOKEN_WINDOW
    recent = ProvisioningLogEntry.failure_kind == TOKEN, ProvisioningLogEntry.at >= start
    count = session.execute(select(func.count()).where(*recent)).scalar_one()
    if count >= TOKEN_REPEATS:
        session.execute(update(ProvisioningLogEntry).where(
            *recent, ProvisioningLogEntry.notify_pending.is_(False),
            ProvisioningLogEntry.digest_id.is_(None)).values(notify_pending=True))


def prune(session: Session, now: datetime, retention_days: float) -> int:
    """Delete entries older than the retention; failures not yet mailed are kept."""
    if not retention_days or retention_days <= 0:
        return 0
    cutoff = now - timedelta(days=retention_days)
    result = session.execute(delete(ProvisioningLogEntry).where(
        ProvisioningLogEntry.at < cutoff, ProvisioningLogEntry.notify_pending.is_(False)))
    session.execute(delete(NotificationDigest).where(
        NotificationDigest.created_at < cutoff, NotificationDigest.state != "sending"))
    return result.rowcount or 0


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
