"""Sign-in throttling, in the database so that every server process counts the same
failures: per client address and per account name, over a sliding window.

An attacker guessing one administrator's password is stopped by the per-account limit
whatever addresses they use; one address guessing many names by the per-client one.
While a limit holds, attempts are refused before the password is checked, so they
cost no argon2 work and add no rows; rows older than the window are deleted as new
ones arrive, so the table holds at most a window's worth.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ...storage.models import SignInFailure
from ..clock import utcnow

WINDOW = timedelta(minutes=15)
PER_ACCOUNT = 5
PER_CLIENT = 20


class Throttled(Exception):
    """Too many failures; sign-in is refused until `retry_after` seconds have passed."""

    def __init__(self, retry_after: int):
        super().__init__(f"too many failed sign-ins; retry in {retry_after} s")
        self.retry_after = retry_after


def _key(account: str) -> str:
    return account.strip().casefold()[:64]


def _retry_after(session: Session, column, value: str, limit: int, now: datetime) -> int | None:
    since = now - WINDOW
    times = session.scalars(select(SignInFailure.at).where(column == value,
                                                           SignInFailure.at >= since)
                            .order_by(SignInFailure.at.desc()).limit(limit)).all()
    if len(times) < limit:
        return None
    # The limit-th newest failure leaves the window first.
    return max(1, int((times[-1] + WINDOW - now).total_seconds()) + 1)


def check(session: Session, client: str, account: str, now: datetime | None = None) -> None:
    """Raise Throttled when either limit is reached."""
    now = now or utcnow()
    waits = [_retry_after(session, SignInFailure.account, _key(account), PER_ACCOUNT, now),
             _retry_after(session, SignInFailure.client, client[:64], PER_CLIENT, now)]
    waits = [w for w in waits if w is not None]
    if waits:
        raise Throttled(max(waits))


def record_failure(session: Session, client: str, account: str,
                   now: datetime | None = None) -> None:
    now = now or utcnow()
    session.execute(delete(SignInFailure).where(SignInFailure.at < now - WINDOW))
    session.add(SignInFailure(at=now, client=client[:64], account=_key(account)))


def clear_account(session: Session, account: str) -> None:
    """A successful sign-in (or a password reset) forgets the account's failures."""
    session.execute(delete(SignInFailure).where(SignInFailure.account == _key(account)))


def failures(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(SignInFailure)) or 0
