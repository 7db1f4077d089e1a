"""Derived names in the database: assign, deduplicate, record (issue 4).

The SCIM resource keeps exactly what Entra sent (Entra matches on it and re-sends
anything that comes back different); the name valid downstream lives in
`sanitized_*` columns next to it, unique on a `*_key` column. Users keep their derived
name for life, because CloudSSO cannot rename a user (UpdateUser has no user name); a
renamed group is derived afresh (CloudSSO's UpdateGroup can rename). Every change the
appliance makes to a name is written to `name_adjustments`. Nothing here commits.
"""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ...storage.models import Group, NameAdjustment, User
from ..clock import utcnow
from ..protocol.errors import InvalidValue, Uniqueness
from ..query.direct_reads import Prepared, Reads
from .policy import FieldPolicy, NameRules
from .rules import normalize, reject_detail, resolve, sanitize, violation


@lru_cache(maxsize=4)
def _holder_of(column, id_column) -> Prepared:
    return Prepared(select(id_column).where(column == bindparam("key"),
                                            id_column != bindparam("own")).limit(1),
                    ("key", "own"))


def _taken(session: Session, column, id_column, own_id: str):
    statement = _holder_of(column, id_column)

    def taken(key: str) -> bool:
        return Reads.within(session).first(statement, key=key, own=own_id) is not None
    return taken


def _derive(policy: FieldPolicy, original: str, key: str, taken, what: str,
            kind: str) -> tuple[str, str]:
    """(derived name, reason) for `original`; raises in reject mode."""
    rule = policy.rule
    if policy.rejects:
        problem = violation(original, rule)
        if problem:
            raise InvalidValue(reject_detail(original, rule, problem))
        name = normalize(original, rule)
        if taken(rule.key(name)):
            compared = "case-insensitively" if rule.unique == "casefold" else "exactly"
            raise Uniqueness(
                f"{what} {original!r} is unique as sent but not downstream: normalised "
                f"(Unicode NFKC, trimmed) it is {name!r}, which another {kind} already "
                f"holds ('{rule.preset}' names are compared {compared}). Give it a "
                "distinct name in Entra.")
        return name, "normalized"
    base = sanitize(original, rule, key)
    name = resolve(base, key, rule, taken)
    reason = "sanitized" if base != normalize(original, rule) else "normalized"
    if name != base:
        reason = "collision" if reason == "normalized" else "sanitized+collision"
    return name, reason


def _record(session: Session, kind: str, obj_id: str, field: str, original: str,
            derived: str, reason: str, preset: str) -> None:
    session.add(NameAdjustment(at=utcnow(), resource_type=kind, resource_id=obj_id,
                               field=field, original=original, derived=derived,
                               reason=reason, preset=preset))


def assign_user_name(session: Session, user: User, policy: FieldPolicy,
                     previous: str | None = None) -> None:
    """Give `user` (its new userName already stored) a derived name if it has none.

    `previous` is the userName before this write: when it changed, the derived name
    stays (CloudSSO cannot rename), reject mode still checks the new name, and the
    kept name is recorded.
    """
    original = user.user_name
    renamed = previous is not None and previous != original
    if user.sanitized_user_name is not None and not renamed:
        return
    rule = policy.rule
    if user.sanitized_user_name is None:
        taken = _taken(session, User.sanitized_user_name_key, User.id, user.id)
        name, reason = _derive(policy, original, user.external_id or user.id, taken,
                               "userName", "user")
        user.sanitized_user_name = name
        user.sanitized_user_name_key = rule.key(name)
    else:
        if policy.rejects:
            problem = violation(original, rule)
            if problem:
                raise InvalidValue(reject_detail(original, rule, problem))
        reason = "kept"
    user.name_adjusted = user.sanitized_user_name != original
    if user.name_adjusted:
        _record(session, "User", user.id, "userName", original, user.sanitized_user_name,
                reason, rule.preset)


def assign_group_name(session: Session, group: Group, policy: FieldPolicy,
                      previous: str | None = None) -> None:
    """Derive the group's name on creation and whenever its displayName changes.

    The group's own current name never counts as taken, so a rename that derives the
    same name (or a case-only rename) keeps it without a suffix.
    """
    original = group.display_name
    if group.sanitized_display_name is not None and previous == original:
        return
    rule = policy.rule
    taken = _taken(session, Group.sanitized_display_name_key, Group.id, group.id)
    name, reason = _derive(policy, original, group.external_id or group.id, taken,
                           "displayName", "group")
    group.sanitized_display_name = name
    group.sanitized_display_name_key = rule.key(name)
    group.name_adjusted = name != original
    if group.name_adjusted:
        _record(session, "Group", group.id, "displayName", original, name, reason,
                rule.preset)


def list_adjustments(session: Session, limit: int | None = 100) -> list[NameAdjustment]:
    """The newest adjustments first."""
    query = select(NameAdjustment).order_by(NameAdjustment.id.desc())
    if limit:
        query = query.limit(limit)
    return list(session.execute(query).scalars())


def backfill(session: Session, rules: NameRules, batch: int = 500) -> int:
    """Derive the names of users and groups stored before the name rules existed.

    Oldest first, so when two old names sanitise alike the first one created keeps the
    plain name, as it would have had the rules been there. Sanitize mode whatever the
    configured mode: the objects are already stored, and refusing them now would only
    strand them. Returns how many objects got a name.
    """
    done = 0
    for model, assign, policy in ((User, assign_user_name, rules.user),
                                  (Group, assign_group_name, rules.group)):
        policy = dataclasses.replace(policy, mode="sanitize")
        column = (model.sanitized_user_name if model is User
                  else model.sanitized_display_name)
        while True:
            rows = list(session.execute(
                select(model).where(column.is_(None))
                .order_by(model.created, model.id).limit(batch)).scalars())
            if not rows:
                break
            for row in rows:
                assign(session, row, policy)
            session.flush()
            done += len(rows)
    return done
