"""Console sessions kept on the server: the browser holds a random token, the database
its SHA-256, so a session can be ended from the server (sign-out, password change,
administrator removed) and a copy of the database opens none.

A session ends after IDLE_TIMEOUT without a request or LIFETIME after sign-in,
whichever comes first (OWASP Session Management Cheat Sheet: idle and absolute
timeouts); both are settings (CONSOLE_IDLE_TIMEOUT, CONSOLE_SESSION_LIFETIME).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from ...storage.models import Administrator, ConsoleSession
from ..clock import utcnow

# `last_seen_at` is written at most this often: every page view writing would make
# every read a write.
TOUCH_RESOLUTION = timedelta(seconds=30)
TOKEN_BYTES = 32


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=12)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(session: Session, admin: Administrator, client: str | None,
          timeouts: Timeouts = Timeouts()) -> str:
    """A fresh session for `admin`; returns the token the browser keeps. Sessions that
    timed out (anyone's) are deleted on the way, so the table holds live ones only."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.execute(delete(ConsoleSession).where(or_(
        ConsoleSession.last_seen_at < now - timeouts.idle,
        ConsoleSession.created_at < now - timeouts.lifetime)))
    session.add(ConsoleSession(id=_hash(token), administrator_id=admin.id, created_at=now,
                               last_seen_at=now, client=(client or "")[:64] or None))
    return token


@dataclass(frozen=True)
class Resolved:
    administrator: Administrator
    # `last_seen_at` is due to be written (touch), in a short write of its own.
    touch_due: bool


def resolve(session: Session, token: str | None, timeouts: Timeouts) -> Resolved | None:
    """The administrator a live session token belongs to, else None. Only reads: a page
    view is not a write (the caller touches the session when `touch_due`)."""
    if not token or len(token) > 128:
        return None
    row = session.get(ConsoleSession, _hash(token))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.lifetime:
        return None
    admin = session.get(Administrator, row.administrator_id)
    if admin is None:
        return None
    return Resolved(admin, now - row.last_seen_at > TOUCH_RESOLUTION)


def touch(session: Session, token: str) -> None:
    session.execute(update(ConsoleSession).where(ConsoleSession.id == _hash(token))
                    .values(last_seen_at=utcnow()))


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(token)))


def end_all(session: Session, administrator_id: int) -> None:
    session.execute(delete(ConsoleSession)
                    .where(ConsoleSession.administrator_id == administrator_id))


def live_count(session: Session, administrator_id: int) -> int:
    return len(session.scalars(select(ConsoleSession.id)
                               .where(ConsoleSession.administrator_id == administrator_id)).all())
