"""The count the seat cap (MAX_ACTIVE_USERS) is about: one SQL count, never rows.

Here rather than beside the cap's check (domain/resources/seats.py) so the seat-cap email
(domain/notify/seats.py) can read it without importing the resources package, which
records events and so reaches notify in turn.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...storage.models import User

# An absent `active` means active (RFC 7643 §4.1.1).
ACTIVE = User.active.is_not(False)

# The share of the cap at which the administrator is warned (domain/notify/seats.py).
WARN_RATIO = 0.9


def active_users(session: Session) -> int:
    """Users counted against the cap."""
    return session.execute(select(func.count()).select_from(User).where(ACTIVE)).scalar_one()


def seat_level(count: int, cap: int | None) -> str | None:
    """"full" at the cap, "near" from WARN_RATIO of it (the seat-cap email's threshold),
    else None; None too when there is no cap. The console's dashboard shows this."""
    if not cap:
        return None
    if count >= cap:
        return "full"
    if count >= WARN_RATIO * cap:
        return "near"
    return None
