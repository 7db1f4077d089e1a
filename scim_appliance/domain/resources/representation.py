"""Render stored rows as SCIM JSON (RFC 7643 §3): schemas, id, attributes, meta."""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from sqlalchemy import bindparam, select

from ...storage.models import Group, Membership, User
from ..clock import to_rfc3339
from ..protocol.schema import (
    APPLIANCE_GROUP,
    APPLIANCE_USER,
    CORE_GROUP,
    CORE_USER,
    GROUP_TYPE,
    USER_TYPE,
)
from ..query.direct_reads import Prepared, Reads


def etag(version: int) -> str:
    return f'W/"{version}"'


def _meta(row, resource_type: str, location: str) -> dict:
    return {
        "resourceType": resource_type,
        "created": to_rfc3339(row.created),
        "lastModified": to_rfc3339(row.last_modified),
        "location": location,
        "version": etag(row.version),
    }


def appliance_user(user: User) -> dict:
    """The read-only appliance extension of a User, from its columns (schema.py)."""
    out = {}
    if user.sanitized_user_name is not None:
        out = {"sanitizedUserName": user.sanitized_user_name,
               "nameAdjusted": bool(user.name_adjusted)}
    out["source"] = user.source or "scim"  # rows from before the column held NULL
    return out


def appliance_group(group: Group) -> dict:
    out = {}
    if group.sanitized_display_name is not None:
        out = {"sanitizedDisplayName": group.sanitized_display_name,
               "nameAdjusted": bool(group.name_adjusted)}
    out["source"] = group.source or "scim"
    return out


def render_user(user: User, base_url: str, groups: list[dict] | None = None) -> dict:
    """A User as SCIM JSON; `groups` is the read-only membership list, if fetched."""
    data = user.data
    derived = appliance_user(user)
    schemas = [CORE_USER] + [e.id for e in USER_TYPE.extensions
                             if e.id in data or (e.id == APPLIANCE_USER and derived)]
    out = {"schemas": schemas, "id": user.id}
    out.update(data)
    if derived:
        out[APPLIANCE_USER] = derived
    if groups:
        out["groups"] = groups
    out["meta"] = _meta(user, "User", f"{base_url}/Users/{user.id}")
    return out


def render_group(group: Group, base_url: str, members: list[dict] | None = None) -> dict:
    """A Group as SCIM JSON; `members` is None when the client excluded them."""
    derived = appliance_group(group)
    schemas = [CORE_GROUP] + [e.id for e in GROUP_TYPE.extensions
                              if e.id in group.data or (e.id == APPLIANCE_GROUP and derived)]
    out = {"schemas": schemas, "id": group.id}
    out.update(group.data)
    if derived:
        out[APPLIANCE_GROUP] = derived
    if members is not None:
        out["members"] = members
    out["meta"] = _meta(group, "Group", f"{base_url}/Groups/{group.id}")
    return out


_CHUNK = 512


@lru_cache(maxsize=16)
def _groups_of(size: int) -> Prepared:
    # One prepared statement per power-of-two list length (padded with NULL, which
    # matches nothing), so a page of users costs one query and few compiled forms.
    ids = [bindparam(f"id{n}") for n in range(size)]
    return Prepared(select(Membership.member_id, Group.id, Group.display_name)
                    .join(Group, Group.id == Membership.group_id)
                    .where(Membership.member_id.in_(ids))
                    .order_by(Group.display_name_ci), tuple(f"id{n}" for n in range(size)))


def groups_of_users(reads: Reads, user_ids: list[str], base_url: str) -> dict[str, list]:
    """The `groups` attribute (RFC 7643 §4.1.2) for several users in one query."""
    out: dict[str, list] = defaultdict(list)
    for start in range(0, len(user_ids), _CHUNK):
        chunk = user_ids[start:start + _CHUNK]
        size = 1 << (len(chunk) - 1).bit_length()
        values = {f"id{n}": (chunk[n] if n < len(chunk) else None) for n in range(size)}
        for member_id, group_id, display in reads.all(_groups_of(size), **values):
            out[member_id].append({"value": group_id, "$ref": f"{base_url}/Groups/{group_id}",
                                   "display": display, "type": "direct"})
    return out
