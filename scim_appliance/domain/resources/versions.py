"""Version bumps for resources whose representation changes through another resource.

A membership is part of two representations: the group's `members` and the user's
read-only `groups`. RFC 7644 §3.14 (with RFC 7232 §2.1) needs the ETag of each to
change when it changes, or a client holding an old ETag is told 304 and keeps a stale
copy. The bumps are set-based UPDATEs, like the membership changes themselves; the
ORM's default synchronisation keeps rows already loaded in the session in step, so a
later ORM write does not overwrite a bump with a stale version.
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


def touch_users(session: Session, user_ids: Iterable[str]) -> None:
    """Bump the users among `user_ids` (other ids, e.g. nested groups, match nothing)."""
    ids = list(user_ids)
    for start in range(0, len(ids), CHUNK):
        session.execute(update(User).where(User.id.in_(ids[start:start + CHUNK]))
                        .values(**_bump(User)))


def touch_members_of(session: Session, group_id: str) -> None:
    """A group was renamed or deleted: every member user's `groups` changed."""
    members = select(Membership.member_id).where(Membership.group_id == group_id)
    session.execute(update(User).where(User.id.in_(members)).values(**_bump(User))
                    )


def touch_groups_of(session: Session, member_id: str) -> None:
    """A member was renamed or deleted: every group listing it changed."""
    groups = select(Membership.group_id).where(Membership.member_id == member_id)
    session.execute(update(Group).where(Group.id.in_(groups)).values(**_bump(Group))
                    )
