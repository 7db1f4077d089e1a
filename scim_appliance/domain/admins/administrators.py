"""Administrators: create, list, reset a password, delete (never the last one), and
the sign-in check. The CLI's `admin` commands and the console's pages call these.

There is no default account and no default password: until `admin create` runs, the
console shows only the page that names that command.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...storage.models import Administrator
from ..clock import utcnow
from . import audit, passwords, sessions, throttle

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
NAME_RULE = ("1 to 64 characters: letters, digits and . _ @ -, starting with a letter "
             "or digit")


class AdminError(ValueError):
    """An administrator operation refused; the message says why (shown as it is)."""


class SignInRefused(Exception):
    """Wrong name or password: one message for both, so that a name cannot be probed."""


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_PATTERN.fullmatch(name):
        raise AdminError(f"an administrator name is {NAME_RULE}")
    return name


def find(session: Session, name: str) -> Administrator | None:
    return session.scalar(select(Administrator)
                          .where(Administrator.name_ci == (name or "").strip().casefold()))


def count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Administrator)) or 0


def list_admins(session: Session) -> list[Administrator]:
    return list(session.scalars(select(Administrator).order_by(Administrator.name_ci)))


def create_admin(session: Session, name: str, password: str, actor: audit.Actor) -> Administrator:
    name = _checked_name(name)
    if find(session, name) is not None:
        raise AdminError(f"an administrator named {name!r} exists already")
    try:
        hashed = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AdminError(str(exc)) from None
    now = utcnow()
    admin = Administrator(name=name, name_ci=name.casefold(), password_hash=hashed,
                          created_at=now, password_changed_at=now)
    session.add(admin)
    session.flush()
    audit.record(session, actor, audit.ADMIN_CREATED, name)
    return admin


def _existing(session: Session, name: str) -> Administrator:
    admin = find(session, name)
    if admin is None:
        raise AdminError(f"no administrator named {(name or '').strip()!r}")
    return admin


def reset_password(session: Session, name: str, password: str, actor: audit.Actor) -> Administrator:
    """Set a new password and end every session of that administrator: whoever knew
    the old password must be locked out at once (OWASP Session Management)."""
    admin = _existing(session, name)
    try:
        admin.password_hash = passwords.hash_password(password)
    except passwords.WeakPassword as exc:
        raise AdminError(str(exc)) from None
    admin.password_changed_at = utcnow()
    sessions.end_all(session, admin.id)
    throttle.clear_account(session, admin.name)
    audit.record(session, actor, audit.ADMIN_PASSWORD_RESET, admin.name)
    return admin


def delete_admin(session: Session, name: str, actor: audit.Actor) -> None:
    """Remove an administrator and their sessions; never the last one, which would
    leave the console without anyone able to sign in."""
    admin = _existing(session, name)
    if count(session) <= 1:
        raise AdminError(f"{admin.name!r} is the last administrator; create another one first")
    sessions.end_all(session, admin.id)
    session.delete(admin)
    audit.record(session, actor, audit.ADMIN_DELETED, admin.name)


def sign_in(session: Session, name: str, password: str, client: str) -> tuple[Administrator, str]:
    """Check a sign-in and start a session; returns the administrator and the session
    token for the browser. Throttled (before any password work) or SignInRefused.

    The caller commits in both cases: a failure is recorded for the throttle."""
    throttle.check(session, client, name or "")
    admin = find(session, name) if NAME_PATTERN.fullmatch((name or "").strip()) else None
    if not passwords.verify_password(admin.password_hash if admin else None, password or ""):
        throttle.record_failure(session, client, name or "")
        raise SignInRefused()
    if passwords.needs_rehash(admin.password_hash):
        admin.password_hash = passwords.hash_password(password)
    admin.last_sign_in_at = utcnow()
    throttle.clear_account(session, admin.name)
    token = sessions.start(session, admin, client)
    audit.record(session, audit.Actor(admin.name, client), audit.SIGNED_IN)
    return admin, token
