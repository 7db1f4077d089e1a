"""Group provisioning operations, with memberships changed set-based.

A group's `members` are rows of the `memberships` table, never part of the group's
JSON document, so reading a group without members (Entra's
`excludedAttributes=members`) costs the same at 10 or 10,000 members, and a PATCH
that adds 1,000 members is a few multi-row INSERTs rather than a rewrite of the
member list. Like users.py, nothing here commits, and a SCIM write adopts a local
group (issue 6) as it adopts a local user.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from ...storage.models import Group, Membership, User
from ..clock import utcnow
from ..events import catalogue as events
from ..events.outbox import changed_paths, record
from ..names.derived import assign_group_name
from ..names.policy import DEFAULT_RULES, NameRules
from ..protocol.errors import InvalidValue, NotFound, Uniqueness
from ..protocol.member_ops import MemberOp
from ..protocol.patch import apply_patch
from ..protocol.schema import APPLIANCE_GROUP, GROUP_TYPE
from ..protocol.validation import load_resource, validate_document
from .representation import render_group
from .users import check_if_match, claim_source
from .versions import touch_groups_of, touch_members_of, touch_users

# Rows per statement: well under SQLite's bound-parameter limit (32,766).
CHUNK = 500


class MemberChanges:
    """The net membership change of one write ({id: type}): a member removed and added
    again by the same PATCH (or a PUT's replace) changed nothing."""

    def __init__(self):
        self.added: dict[str, str] = {}
        self.removed: dict[str, str] = {}

    def add(self, members) -> None:
        for member_id, kind in members:
            if self.removed.pop(member_id, None) is None:
                self.added[member_id] = kind

    def remove(self, members) -> None:
        for member_id, kind in members:
            if self.added.pop(member_id, None) is None:
                self.removed[member_id] = kind


def _record(session: Session, event_type: str, group: Group, data: dict | None = None) -> None:
    """An event about `group` in this transaction (domain/events/outbox.py), the group
    rendered without `members` (they come in group.members_* events)."""
    record(session, event_type, resource_type="Group", resource_id=group.id,
           render=lambda base: render_group(group, base), data=data)


def _record_changes(session: Session, group: Group, before: dict | None,
                    claimed: bool, members: MemberChanges) -> None:
    """group.updated for the document, then the member changes in batches."""
    if before is not None:
        paths = changed_paths(before, group.data)
        if claimed:
            paths.append(f"{APPLIANCE_GROUP}:source")
        if paths:
            _record(session, events.GROUP_UPDATED, group, {"changedAttributes": paths})
    for event_type, items in ((events.GROUP_MEMBERS_REMOVED, members.removed),
                              (events.GROUP_MEMBERS_ADDED, members.added)):
        listed = [{"value": member_id, "type": kind} for member_id, kind in items.items()]
        batches = list(_chunks(listed, events.MEMBER_BATCH))
        for number, batch in enumerate(batches, 1):
            _record(session, event_type, group,
                    {"members": batch, "batch": number, "batches": len(batches)})


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _member_ids(members) -> list[str]:
    """Ids from a validated `members` list, deduplicated, order kept."""
    seen: dict[str, None] = {}
    for member in members or []:
        value = member.get("value") if isinstance(member, dict) else None
        if not isinstance(value, str) or not value:
            raise InvalidValue("every member needs a 'value' with the member's id")
        seen.setdefault(value, None)
    return list(seen)


def _check_unique(session: Session, display_name: str, own_id: str | None = None) -> None:
    clash = session.execute(
        select(Group.id).where(Group.display_name_ci == display_name.lower())
    ).scalar_one_or_none()
    if clash is not None and clash != own_id:
        raise Uniqueness(f"a group named '{display_name}' already exists (displayName is "
                         "unique, compared case-insensitively)")


def _store(group: Group, doc: dict) -> None:
    group.data = doc
    group.display_name = doc["displayName"]
    group.display_name_ci = doc["displayName"].lower()
    group.external_id = doc.get("externalId")


def _flush(session: Session, display_name: str) -> None:
    try:
        session.flush()
    except IntegrityError:
        raise Uniqueness(f"a group named '{display_name}' already exists") from None


def _resolve_members(session: Session, group_id: str, ids: list[str]) -> list[tuple[str, str]]:
    """(id, type) for each id; any id that is neither a user nor a group is refused."""
    kinds: dict[str, str] = {}
    # Locked (FOR UPDATE on PostgreSQL) in id order after the group: a user deleted
    # meanwhile is then either gone here (refused) or deleted after this commits, with
    # the new membership (versions.py has the order).
    for chunk in _chunks(sorted(set(ids))):
        kinds.update({i: "User" for i in session.execute(
            select(User.id).where(User.id.in_(chunk)).order_by(User.id)
            .with_for_update()).scalars()})
    rest = [i for i in ids if i not in kinds]
    for chunk in _chunks(rest):
        kinds.update({i: "Group" for i in session.execute(
            select(Group.id).where(Group.id.in_(chunk))).scalars()})
    missing = [i for i in ids if i not in kinds]
    if missing:
        shown = ", ".join(f"'{m}'" for m in missing[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InvalidValue(f"no user or group with id {shown}{more}; nothing was changed")
    if group_id in kinds:
        raise InvalidValue("a group cannot be a member of itself")
    return [(i, kinds[i]) for i in ids]


def _insert_members(session: Session, group_id: str, members: list[tuple[str, str]],
                    changes: MemberChanges | None = None) -> int:
    """Insert the members not yet present: one SELECT and one executemany per chunk.

    Not a multi-row VALUES statement: SQLAlchemy compiles one of those afresh for every
    batch (1,000 members: ~80 ms of compiling), whereas a single-row INSERT run with
    executemany is compiled once and cached. Writers of one group are serialised
    (SQLite: BEGIN IMMEDIATE; PostgreSQL: the group's row lock), so the set read here
    is the set the INSERT meets; ON CONFLICT stays as a guard.
    """
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Membership.__table__).on_conflict_do_nothing()
    conn = session.connection()
    added = 0
    members = sorted(members)  # the users' version bumps lock rows in id order
    for chunk in _chunks(members):
        present = set(conn.execute(_PRESENT, {"group_id": group_id,
                                              "ids": [m for m, _ in chunk]}).scalars())
        new = [(m, t) for m, t in chunk if m not in present]
        if not new:
            continue
        conn.execute(stmt, [{"group_id": group_id, "member_id": m, "member_type": t}
                            for m, t in new])
        touch_users(session, [m for m, _ in new])
        if changes is not None:
            changes.add(new)
        added += len(new)
    return added


_PRESENT = (select(Membership.member_id)
            .where(Membership.group_id == bindparam("group_id"),
                   Membership.member_id.in_(bindparam("ids", expanding=True))))


def _delete_members(session: Session, group_id: str, ids: list[str] | None,
                    changes: MemberChanges | None = None) -> int:
    if ids is None:
        chunks = [None]
    else:
        chunks = list(_chunks(ids))
    removed = 0
    for chunk in chunks:
        stmt = delete(Membership).where(Membership.group_id == group_id)
        if chunk is not None:
            stmt = stmt.where(Membership.member_id.in_(chunk))
        gone = session.execute(stmt.returning(Membership.member_id,
                                              Membership.member_type)).all()
        touch_users(session, [m for m, _ in gone])
        if changes is not None:
            changes.remove(gone)
        removed += len(gone)
    return removed


def apply_member_ops(session: Session, group_id: str, ops: list[MemberOp],
                     changes: MemberChanges | None = None) -> int:
    """Apply member operations in order; returns how many memberships changed, and
    collects the net change in `changes`."""
    changed = 0
    for op in ops:
        if op.kind == "add":
            changed += _insert_members(session, group_id,
                                       _resolve_members(session, group_id, op.ids), changes)
        elif op.kind == "remove":
            changed += _delete_members(session, group_id, op.ids, changes)
        elif op.kind == "remove_all":
            changed += _delete_members(session, group_id, None, changes)
        elif op.kind == "replace":
            members = _resolve_members(session, group_id, op.ids)
            changed += _delete_members(session, group_id, None, changes)
            changed += _insert_members(session, group_id, members, changes)
        else:  # pragma: no cover - MemberOp kinds are fixed in member_ops.py
            raise ValueError(op.kind)
    return changed


def create_group(session: Session, payload, *, source: str = "scim",
                 rules: NameRules | None = None) -> Group:
    """POST. `rules` (default: cloudsso, sanitize) derive the name used downstream."""
    doc = load_resource(payload, GROUP_TYPE)
    ids = _member_ids(doc.pop("members", None))
    if source == "scim":
        local = session.execute(select(Group).where(
            Group.display_name_ci == doc["displayName"].lower(), Group.source == "local")
            .with_for_update()).scalar_one_or_none()
        if local is not None:
            return _adopt(session, local, doc, ids, rules)
    _check_unique(session, doc["displayName"])
    now = utcnow()
    group = Group(id=str(uuid.uuid4()), created=now, last_modified=now, version=1,
                  source=source)
    _store(group, doc)
    assign_group_name(session, group, (rules or DEFAULT_RULES).group)
    session.add(group)
    _flush(session, doc["displayName"])
    _record(session, events.GROUP_CREATED, group)
    members = MemberChanges()
    if ids:
        _insert_members(session, group.id, _resolve_members(session, group.id, ids), members)
    _record_changes(session, group, None, False, members)
    return group


def _adopt(session: Session, group: Group, doc: dict, ids: list[str],
           rules: NameRules | None) -> Group:
    """Entra's POST names a local group: take it over with the POSTed attributes.

    Its members stay (Entra creates groups empty and adds members by PATCH; dropping
    the local ones would lock people out until Entra's next cycle); POSTed members
    are added.
    """
    before = group.data
    claim_source(group, "scim")
    _write_doc(session, group, doc, rules)
    members = MemberChanges()
    if ids:
        _insert_members(session, group.id, _resolve_members(session, group.id, ids), members)
    _touch(group)
    session.flush()
    _record_changes(session, group, before, True, members)
    return group


def get_group(session: Session, group_id: str, *, lock: bool = False) -> Group:
    """`lock`: read under a row lock, as users.get_user."""
    group = (session.get(Group, group_id, with_for_update=lock or None)
             if isinstance(group_id, str) else None)
    if group is None:
        raise NotFound(f"no Group with id '{group_id}'")
    return group


def _touch(group: Group) -> None:
    group.version += 1
    group.last_modified = utcnow()


def _write_doc(session: Session, group: Group, doc: dict, rules: NameRules | None) -> bool:
    if doc == group.data and group.sanitized_display_name is not None:
        return False
    if doc["displayName"].lower() != group.display_name_ci:
        _check_unique(session, doc["displayName"], group.id)
    previous = group.display_name
    if doc["displayName"] != previous:
        touch_members_of(session, group.id)  # their `groups[].display` changes
        touch_groups_of(session, group.id)  # as a nested member, its `display` changes
    _store(group, doc)
    assign_group_name(session, group, (rules or DEFAULT_RULES).group, previous)
    _flush(session, doc["displayName"])
    return True


def replace_group(session: Session, group_id: str, payload, if_match: str | None = None, *,
                  rules: NameRules | None = None, source: str | None = "scim"):
    """PUT: attributes and the member list are replaced by the body's. `source`: who
    writes; a SCIM client (the default) adopts a local group."""
    group = get_group(session, group_id, lock=True)
    check_if_match(group, if_match)
    doc = load_resource(payload, GROUP_TYPE)
    ids = _member_ids(doc.pop("members", None))
    before = group.data
    claimed = claim_source(group, source)
    changed = _write_doc(session, group, doc, rules) | claimed
    members = MemberChanges()
    changed |= apply_member_ops(session, group.id, [MemberOp("replace", ids)], members) > 0
    if changed:
        _touch(group)
        session.flush()
        _record_changes(session, group, before, claimed, members)
    return group


def patch_group(session: Session, group_id: str, body, if_match: str | None = None, *,
                rules: NameRules | None = None, source: str | None = "scim") -> Group:
    """PATCH: attribute changes on the document, member changes set-based, all or none;
    `source` as for replace_group."""
    group = get_group(session, group_id, lock=True)
    check_if_match(group, if_match)
    member_ops: list[MemberOp] = []
    patched = apply_patch(group.data, body, GROUP_TYPE, member_ops=member_ops)
    before = group.data
    claimed = claim_source(group, source)
    changed = _write_doc(session, group, validate_document(patched, GROUP_TYPE), rules) | claimed
    members = MemberChanges()
    changed |= apply_member_ops(session, group.id, member_ops, members) > 0
    if changed:
        _touch(group)
    session.flush()
    if changed:
        _record_changes(session, group, before, claimed, members)
    return group


def delete_group(session: Session, group_id: str, if_match: str | None = None) -> None:
    """DELETE: the group and its memberships (and its membership in other groups) go."""
    group = get_group(session, group_id, lock=True)
    check_if_match(group, if_match)
    _record(session, events.GROUP_DELETED, group)  # rolled back with the delete if it fails
    touch_members_of(session, group.id)
    touch_groups_of(session, group.id)
    session.execute(delete(Membership).where(Membership.group_id == group.id))
    session.execute(delete(Membership).where(Membership.member_id == group.id))
    session.delete(group)
    session.flush()


def members_of_groups(session: Session, group_ids: list[str],
                      base_url: str) -> dict[str, list[dict]]:
    """The `members` attribute of several groups in one query (a list page is not N+1),
    with each member's display name."""
    if not group_ids:
        return {}
    member_user = aliased(User)
    member_group = aliased(Group)
    display = func.coalesce(
        member_user.data["displayName"].as_string(), member_user.user_name,
        member_group.display_name)
    rows = session.execute(
        select(Membership.group_id, Membership.member_id, Membership.member_type, display)
        .outerjoin(member_user, and_(Membership.member_type == "User",
                                     member_user.id == Membership.member_id))
        .outerjoin(member_group, and_(Membership.member_type == "Group",
                                      member_group.id == Membership.member_id))
        .where(Membership.group_id.in_(group_ids))
        .order_by(Membership.group_id, Membership.member_id)
    )
    out: dict[str, list[dict]] = {group_id: [] for group_id in group_ids}
    for group_id, member_id, member_type, name in rows:
        item = {"value": member_id, "$ref": f"{base_url}/{member_type}s/{member_id}",
                "type": member_type}
        if name is not None:
            item["display"] = name
        out[group_id].append(item)
    return out
