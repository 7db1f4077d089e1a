"""User provisioning operations: create, read, replace, patch, delete.

Every function works inside the caller's transaction and never commits, so an
HTTP request (or a CLI command) is one transaction: a failure anywhere leaves
nothing half-written.

Adoption (issue 6): accounts that existed before provisioning are `local`. When
Entra's POST carries the userName of a local account, Entra adopts it instead of
failing on a 409 forever: the account keeps its id, takes the POSTed attributes and
becomes `scim`. Any later SCIM write to a local account (Entra matched it by filter
and PATCHes it) adopts it the same way.
"""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from ...storage.models import Membership, User
from ..clock import utcnow
from ..events import catalogue as events
from ..events.outbox import changed_paths, record
from ..names.derived import assign_user_name
from ..names.policy import DEFAULT_RULES, NameRules, check_required
from ..protocol.errors import InvalidValue, NotFound, PreconditionFailed, Uniqueness
from ..protocol.patch import apply_patch
from ..protocol.schema import APPLIANCE_USER, USER_TYPE
from ..protocol.validation import check_text, load_resource, validate_document
from ..query.direct_reads import Prepared, Reads
from .representation import etag, render_user
from .seats import is_active, take_seat
from .versions import lock_groups_of, touch_groups_of

USER_NAME = USER_TYPE.core.attribute("userName")


def _prepare(doc: dict) -> dict:
    # password is writeOnly and returned "never" (RFC 7643 §4.1.1); the appliance
    # has no use for it, so it is not kept at all.
    doc.pop("password", None)
    return doc


_HOLDER = Prepared(select(User.id, User.source).where(User.user_name_ci == bindparam("v")),
                   ("v",))


def _holder(session: Session, user_name: str):
    """(id, source) of the user holding `user_name` (any case), or None."""
    return Reads.within(session).first(_HOLDER, v=user_name.lower())


def _taken_error(user_name: str) -> Uniqueness:
    return Uniqueness(f"userName '{user_name}' is already taken by another user "
                      "(userName is unique, compared case-insensitively)")


def _check_unique(session: Session, user_name: str, own_id: str | None = None) -> None:
    holder = _holder(session, user_name)
    if holder is not None and holder.id != own_id:
        raise _taken_error(user_name)


def claim_source(row, source: str | None) -> bool:
    """Mark a user or group as managed by `source`; True if that changed it (a SCIM
    write adopts a local account)."""
    if source is None or row.source == source:
        return False
    row.source = source
    return True


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


def create_user(session: Session, payload, *, source: str = "scim",
                rules: NameRules | None = None, seats: int | None = None) -> User:
    """POST. `rules` (default: cloudsso, sanitize) derive the name used downstream;
    `seats` is MAX_ACTIVE_USERS (domain/resources/seats.py)."""
    rules = rules or DEFAULT_RULES
    doc = _prepare(load_resource(payload, USER_TYPE))
    check_required(doc, rules)
    holder = _holder(session, doc["userName"])
    if holder is not None:
        if source == "scim" and holder.source == "local":
            return _adopt(session, get_user(session, holder.id, lock=True), doc, rules, seats)
        raise _taken_error(doc["userName"])
    if is_active(doc):
        take_seat(session, seats)
    now = utcnow()
    user = User(id=str(uuid.uuid4()), created=now, last_modified=now, version=1, source=source)
    _store(user, doc)
    assign_user_name(session, user, rules.user)
    _insert(session, user)
    _record(session, events.USER_CREATED, user)
    return user


def _record(session: Session, event_type: str, user: User, data: dict | None = None) -> None:
    """An event about `user` in this transaction (domain/events/outbox.py); the
    resource as GET renders it without `groups` (membership has its own events)."""
    record(session, event_type, resource_type="User", resource_id=user.id,
           render=lambda base: render_user(user, base), data=data)


def _record_write(session: Session, user: User, before: dict, was_active, claimed: bool) -> None:
    """user.disabled / user.enabled when `active` flipped, user.updated when anything
    else changed; each names every changed attribute path."""
    paths = changed_paths(before, user.data)
    if claimed:
        paths.append(f"{APPLIANCE_USER}:source")
    data = {"changedAttributes": paths}
    flipped = None
    if was_active is not False and user.active is False:
        flipped = events.USER_DISABLED
    elif was_active is False and user.active is not False:
        flipped = events.USER_ENABLED
    if flipped:
        _record(session, flipped, user, data)
    if (paths and not flipped) or any(p != "active" for p in paths):
        _record(session, events.USER_UPDATED, user, data)


_INSERT = insert(User.__table__)
_COLUMNS = tuple(c.key for c in User.__table__.columns)


def _insert(session: Session, user: User) -> None:
    """INSERT the new row with Core, then attach it to the session as persistent: the
    ORM's unit of work cost a fifth of a POST to insert one row."""
    values = {key: getattr(user, key) for key in _COLUMNS}
    try:
        session.connection().execute(_INSERT, values)
    except IntegrityError:
        # A concurrent writer took the name between our check and our write.
        raise _taken_error(user.user_name) from None
    make_transient_to_detached(user)
    session.add(user)


def get_user(session: Session, user_id: str, *, lock: bool = False) -> User:
    """`lock`: a write reads the document under a row lock (FOR UPDATE; nothing on
    SQLite, whose writers are serialised), so no concurrent writer changes it between
    this read and the UPDATE: no lost update, one version per acknowledged write."""
    user = (session.get(User, user_id, with_for_update=lock or None)
            if isinstance(user_id, str) else None)
    if user is None:
        raise NotFound(f"no User with id '{user_id}'")
    return user


def _adopt(session: Session, user: User, doc: dict, rules: NameRules,
           seats: int | None) -> User:
    """Entra's POST found a local account with its userName: take it over (a PUT of the
    POSTed document), so Entra gets its 201 and its later PATCHes land here."""
    return _write(session, user, doc, rules, claimed=claim_source(user, "scim"), seats=seats)


def _display(doc: dict):
    """What a group's `members[].display` shows for this user (see groups.members_of)."""
    return doc.get("displayName") or doc.get("userName")


def _write(session: Session, user: User, doc: dict, rules: NameRules | None,
           claimed: bool = False, seats: int | None = None) -> User:
    if doc == user.data and user.sanitized_user_name is not None and not claimed:
        return user  # nothing changed: keep the version, so ETags stay valid
    if is_active(doc) and not is_active(user.data):
        take_seat(session, seats)
    rules = rules or DEFAULT_RULES
    check_required(doc, rules, before=user.data)
    if doc["userName"].lower() != user.user_name_ci:
        _check_unique(session, doc["userName"], user.id)
    previous = user.user_name
    before, was_active = user.data, user.active
    if _display(doc) != _display(user.data):
        touch_groups_of(session, user.id)  # their `members[].display` shows this name
    _store(user, doc)
    assign_user_name(session, user, rules.user, previous)
    user.version += 1
    user.last_modified = utcnow()
    _flush(session, doc["userName"])
    _record_write(session, user, before, was_active, claimed)
    return user


def replace_user(session: Session, user_id: str, payload, if_match: str | None = None, *,
                 rules: NameRules | None = None, source: str | None = "scim",
                 seats: int | None = None) -> User:
    """PUT (RFC 7644 §3.5.1): the body replaces every writable attribute.

    `source`: who writes; a SCIM client (the default) adopts a local account.
    """
    user = get_user(session, user_id, lock=True)
    check_if_match(user, if_match)
    doc = _prepare(load_resource(payload, USER_TYPE))
    return _write(session, user, doc, rules, claimed=claim_source(user, source), seats=seats)


def patch_user(session: Session, user_id: str, body, if_match: str | None = None, *,
               rules: NameRules | None = None, source: str | None = "scim",
               seats: int | None = None) -> User:
    """PATCH (RFC 7644 §3.5.2), all operations or none; `source` as for replace_user."""
    user = get_user(session, user_id, lock=True)
    check_if_match(user, if_match)
    patched = apply_patch(user.data, body, USER_TYPE)
    doc = _prepare(validate_document(patched, USER_TYPE))
    return _write(session, user, doc, rules, claimed=claim_source(user, source), seats=seats)


def rename_user(session: Session, user: User, user_name: str, *,
                rules: NameRules | None = None) -> User:
    """Change only the userName (the userid migration, issue 6), with a PATCH's checks
    and bookkeeping: uniqueness, version and lastModified; the derived name is kept
    (names/derived.py). The source is left as it is."""
    if not isinstance(user_name, str) or not user_name.strip():
        raise InvalidValue("userName must be a non-empty string")
    check_text(user_name, "userName", USER_NAME.max_length)
    return _write(session, user, {**user.data, "userName": user_name}, rules)


def delete_user(session: Session, user_id: str, if_match: str | None = None) -> None:
    """DELETE: the user and its group memberships go; filters no longer match it."""
    lock_groups_of(session, user_id)  # groups first, then the user (versions.py)
    user = get_user(session, user_id, lock=True)
    check_if_match(user, if_match)
    _record(session, events.USER_DELETED, user)  # rolled back with the delete if it fails
    touch_groups_of(session, user.id)  # their `members` lose this user
    session.execute(delete(Membership).where(Membership.member_id == user.id))
    session.delete(user)
    session.flush()
