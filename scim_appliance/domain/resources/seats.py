"""The seat cap: how many users may be active at once (`MAX_ACTIVE_USERS`).

Entra's "Sync all users and groups" scope pushes a whole tenant; an appliance licensed or
sized for a few hundred people should refuse the excess with an error Entra shows in its
provisioning logs, not take it silently. A user counts while its `active` is not false
(an absent `active` means active, RFC 7643 §4.1.1). Only a write that turns a user
active (a create, or `active` false -> true) is checked: renames, disables and deletes
of existing users never are, so an appliance over its cap (the cap was lowered) keeps
working for everyone it already holds.

The count and the write are one transaction. On SQLite the write gate already lets one
writer in at a time; on PostgreSQL a transaction-scoped advisory lock does the same for
the writes that are checked, so two creates racing for the last seat cannot both win.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ..protocol.errors import ScimError
from ..query.seats import active_users

# pg_advisory_xact_lock key for "a write that takes a seat" (any constant unique to us).
_PG_SEAT_LOCK = 76437644


class SeatCapReached(ScimError):
    """403: the write would make more users active than MAX_ACTIVE_USERS allows.

    403 ("not permitted", RFC 7644 §3.12) rather than 409, which Entra reads as "the
    user exists" and tries to match, or 429/5xx, which it retries at once and which can
    put its provisioning job into quarantine. The wording is what
    domain/log/failure_kinds.classify recognises.
    """

    status = 403


def describe_usage(session: Session, cap: int | None) -> str:
    """One line for people (`users list`, the console): active users against the cap."""
    count = active_users(session)
    noun = "user is" if count == 1 else "users are"
    if not cap:
        return f"{count} {noun} active (no seat cap: MAX_ACTIVE_USERS is 0)."
    return (f"{count} {noun} active of MAX_ACTIVE_USERS {cap} "
            f"({100 * count // cap}%, {max(cap - count, 0)} seats free).")


def refusal_detail(cap: int, count: int) -> str:
    return (f"seat cap reached: {count} users are active and MAX_ACTIVE_USERS is {cap}, so "
            "this user cannot be made active. The appliance's administrator can raise "
            "MAX_ACTIVE_USERS in instance/config.py (then restart), or narrow the scope "
            "in Entra to assigned users and groups")


def take_seat(session: Session, cap: int | None) -> None:
    """Refuse (SeatCapReached) when one more active user would exceed `cap`.

    Call before the write that makes a user active; `cap` None or 0 is no cap.
    """
    if not cap:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_SEAT_LOCK})
    count = active_users(session)
    if count >= cap:
        raise SeatCapReached(refusal_detail(cap, count))


def is_active(doc: dict | None) -> bool:
    return doc is not None and doc.get("active") is not False
