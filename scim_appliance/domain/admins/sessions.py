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

from sqlalchemy import delete, select
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


def start(session: Session, admin: Administrator, client: str | None) -> str:
    """A fresh session for `admin`; returns the token the browser keeps."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    session.add(ConsoleSession(id=_hash(token), administrator_id=admin.id, created_at=now,
                               last_seen_at=now, client=(client or "")[:64] or None))
    return token


def resolve(session: Session, token: str | None, timeouts: Timeouts) -> Administrator | None:
    """The administrator a live session token belongs to, else None (an expired
    session is deleted on the way)."""
    if not token or len(token) > 128:
        return None
    row = session.get(ConsoleSession, _hash(token))
    if row is None:
        return None
    now = utcnow()
    if now - row.last_seen_at > timeouts.idle or now - row.created_at > timeouts.lifetime:
        session.delete(row)
        return None
    if now - row.last_seen_at > TOUCH_RESOLUTION:
        row.last_seen_at = now
    return session.get(Administrator, row.administrator_id)


def end(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(ConsoleSession).where(ConsoleSession.id == _hash(token)))


def end_all(session: Session, administrator_id: int) -> None:
    session.execute(delete(ConsoleSession)
                    .where(ConsoleSession.administrator_id == administrator_id))


def live_count(session: Session, administrator_id: int) -> int:
    return len(session.scalars(select(ConsoleSession.id)
                               .where(ConsoleSession.administrator_id == administrator_id)).all())
