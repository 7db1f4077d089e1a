"""Version bumps for resources whose representation changes through another resource.

A membership is part of two representations: the group's `members` and the user's
read-only `groups`. RFC 7644 §3.14 (with RFC 7232 §2.1) needs the ETag of each to
change when it changes, or a client holding an old ETag is told 304 and keeps a stale
copy. The bumps are set-based UPDATEs, like the membership changes themselves; the
ORM's default synchronisation keeps rows already loaded in the session in step, so a
later ORM write does not overwrite a bump with a stale version.

On PostgreSQL these UPDATEs take row locks, and so do the writes of the resources
themselves (`lock_*` below, docs/architecture.md, "Concurrent writes"): every lock is
taken groups first, then users, each kind in id order, so two requests wait for each
other instead of deadlocking. SQLite has one writer at a time (storage/database.py's
write gate) and renders no FOR UPDATE; the same code runs there unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...storage.models import Group, Membership, User
from ..clock import utcnow

CHUNK = 500


def _bump(model) -> dict:
    return {"version": model.version + 1, "last_modified": utcnow()}


def _locks_rows(session: Session) -> bool:
    # Only where writers run side by side; SQLite's gate already orders them.
    return session.get_bind().dialect.name != "sqlite"


def lock_rows(session: Session, model, ids: Iterable[str]) -> list[str]:
    """Lock the rows of `model` among `ids` in id order (FOR UPDATE) and return their
    ids in that order. An UPDATE ... WHERE id IN (...) locks rows in whatever order its
    plan visits them: two such statements over shared rows could each hold one row the
    other waits for."""
    ordered = sorted(set(ids))
    if not _locks_rows(session):
        return ordered
    for start in range(0, len(ordered), CHUNK):
        session.execute(select(model.id).where(model.id.in_(ordered[start:start + CHUNK]))
                        .order_by(model.id).with_for_update())
    return ordered


def lock_groups_of(session: Session, member_id: str) -> list[str]:
    """Lock the groups listing `member_id`, before the member itself (groups first)."""
    if not _locks_rows(session):
        return []
    return list(session.execute(
        select(Group.id).where(Group.id.in_(
            select(Membership.group_id).where(Membership.member_id == member_id)))
        .order_by(Group.id).with_for_update()).scalars())


def touch_users(session: Session, user_ids: Iterable[str]) -> None:
    """Bump the users among `user_ids` (other ids, e.g. nested groups, match nothing)."""
    ids = lock_rows(session, User, user_ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(update(User).where(User.id.in_(ids[start:start + CHUNK]))
                        .values(**_bump(User)))


def touch_members_of(session: Session, group_id: str) -> None:
    """A group was renamed or deleted: every member user's `groups` changed."""
    members = select(Membership.member_id).where(Membership.group_id == group_id)
    if _locks_rows(session):
        touch_users(session, session.execute(members).scalars().all())
        return
    session.execute(update(User).where(User.id.in_(members)).values(**_bump(User)))


def touch_groups_of(session: Session, member_id: str) -> None:
    """A member was renamed or deleted: every group listing it changed."""
    groups = select(Membership.group_id).where(Membership.member_id == member_id)
    if _locks_rows(session):
        ids = lock_rows(session, Group, session.execute(groups).scalars().all())
        groups = ids
    session.execute(update(Group).where(Group.id.in_(groups)).values(**_bump(Group)))
