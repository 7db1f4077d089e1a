"""User provisioning operations: create, read, replace, patch, delete.

Every function works inside the caller's transaction and never commits, so an
HTTP request (or a CLI command) is one transaction: a failure anywhere leaves
nothing half-written.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Membership, User
from .clock import utcnow
from .errors import NotFound, PreconditionFailed, Uniqueness
from .patch import apply_patch
from .representation import etag
from .schema import USER_TYPE
from .validation import load_resource, validate_document


def _prepare(doc: dict) -> dict:
    # password is writeOnly and returned "never" (RFC 7643 §4.1.1); the appliance
    # has no use for it, so it is not kept at all.
    doc.pop("password", None)
    return doc


def _check_unique(session: Session, user_name: str, own_id: str | None = None) -> None:
    clash = session.execute(
        select(User.id).where(User.user_name_ci == user_name.lower())
    ).scalar_one_or_none()
    if clash is not None and clash != own_id:
        raise Uniqueness(f"userName '{user_name}' is already taken by another user "
                         "(userName is unique, compared case-insensitively)")


def _store(user: User, doc: dict) -> None:
    user.data = doc
    user.user_name = doc["userName"]
    user.user_name_ci = doc["userName"].lower()
    user.external_id = doc.get("externalId")
    user.active = doc.get("active")


def check_if_match(row, if_match: str | None) -> None:
    """RFC 7644 §3.14: refuse a write based on a stale version with 412."""
    if not if_match:
        return
    wanted = [t.strip() for t in if_match.split(",")]
    current = etag(row.version)
    if "*" in wanted or current in wanted or current[2:] in wanted:
        return
    raise PreconditionFailed(f"the resource has changed (its version is now {current})")


def _flush(session: Session, user_name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        # A concurrent writer took the name between our check and our write.
        raise Uniqueness(f"userName '{user_name}' is already taken by another user") from None


def create_user(session: Session, payload, *, source: str = "scim") -> User:
    doc = _prepare(load_resource(payload, USER_TYPE))
    _check_unique(session, doc["userName"])
    now = utcnow()
    user = User(id=str(uuid.uuid4()), created=now, last_modified=now, version=1, source=source)
    _store(user, doc)
    session.add(user)
    _flush(session, doc["userName"])
    return user


def get_user(session: Session, user_id: str) -> User:
    user = session.get(User, user_id) if isinstance(user_id, str) else None
    if user is None:
        raise NotFound(f"no User with id '{user_id}'")
    return user


def _write(session: Session, user: User, doc: dict) -> User:
    if doc == user.data:
        return user  # nothing changed: keep the version, so ETags stay valid
    if doc["userName"].lower() != user.user_name_ci:
        _check_unique(session, doc["userName"], user.id)
    _store(user, doc)
    user.version += 1
    user.last_modified = utcnow()
    _flush(session, doc["userName"])
    return user


def replace_user(session: Session, user_id: str, payload, if_match: str | None = None) -> User:
    """PUT (RFC 7644 §3.5.1): the body replaces every writable attribute."""
    user = get_user(session, user_id)
    check_if_match(user, if_match)
    return _write(session, user, _prepare(load_resource(payload, USER_TYPE)))


def patch_user(session: Session, user_id: str, body, if_match: str | None = None) -> User:
    """PATCH (RFC 7644 §3.5.2), all operations or none."""
    user = get_user(session, user_id)
    check_if_match(user, if_match)
    patched = apply_patch(user.data, body, USER_TYPE)
    return _write(session, user, _prepare(validate_document(patched, USER_TYPE)))


def delete_user(session: Session, user_id: str, if_match: str | None = None) -> None:
    """DELETE: the user and its group memberships go; filters no longer match it."""
    user = get_user(session, user_id)
    check_if_match(user, if_match)
    session.execute(delete(Membership).where(Membership.member_id == user.id))
    session.delete(user)
    session.flush()
