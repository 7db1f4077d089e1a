"""Where each resource's attributes are stored, for the SQL translation of filters.

A few attributes have indexed columns (see storage/models.py), `groups` / `members` are rows
of `memberships`, and everything else lives in the `data` JSON document.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...storage.models import Group, Membership, User
from ..protocol.schema import APPLIANCE_GROUP, APPLIANCE_USER, CORE_GROUP, CORE_USER


@dataclass(frozen=True)
class ColumnSpec:
    """An indexed column that holds one attribute.

    `folded` columns hold `value.lower()` (userName, group displayName): for a
    caseExact=false attribute the literal is lowered in Python and compared with
    the bare column, which keeps `eq` an index look-up.
    """

    column: Any
    folded: bool = False


@dataclass(frozen=True)
class ElementTable:
    """A multi-valued attribute whose elements are rows of another table.

    `owner` is the column holding the id of the resource the element belongs to;
    `subs` maps lower-cased sub-attribute names to the columns that hold them.
    Sub-attributes not listed (e.g. `display`, `$ref`) are not filterable.
    """

    owner: Any
    subs: dict[str, ColumnSpec]


@dataclass(frozen=True)
class ResourceMapping:
    """How one resource type is laid out in the database.

    `columns` is keyed by lower-cased attribute path (`username`, `meta.created`);
    core and common attributes are looked up there by name, extension attributes by
    `<urn>:<name>` (the appliance's read-only extension). `meta.resourceType` is
    the constant `resource_type`; `meta.location` and `meta.version` are not
    stored and so not filterable.
    """

    model: Any
    data_column: Any
    resource_type: str
    core_schema: str
    columns: dict[str, ColumnSpec]
    element_tables: dict[str, ElementTable] = field(default_factory=dict)

    @property
    def id_column(self):
        return self.columns["id"].column


USER_MAPPING = ResourceMapping(
    model=User,
    data_column=User.data,
    resource_type="User",
    core_schema=CORE_USER,
    columns={
        "id": ColumnSpec(User.id),
        "username": ColumnSpec(User.user_name_ci, folded=True),
        "externalid": ColumnSpec(User.external_id),
        "active": ColumnSpec(User.active),
        "meta.created": ColumnSpec(User.created),
        "meta.lastmodified": ColumnSpec(User.last_modified),
        f"{APPLIANCE_USER}:sanitizedusername".lower(): ColumnSpec(User.sanitized_user_name),
        f"{APPLIANCE_USER}:nameadjusted".lower(): ColumnSpec(User.name_adjusted),
        f"{APPLIANCE_USER}:source".lower(): ColumnSpec(User.source),
    },
    element_tables={
        "groups": ElementTable(Membership.member_id, {"value": ColumnSpec(Membership.group_id)}),
    },
)

GROUP_MAPPING = ResourceMapping(
    model=Group,
    data_column=Group.data,
    resource_type="Group",
    core_schema=CORE_GROUP,
    columns={
        "id": ColumnSpec(Group.id),
        "displayname": ColumnSpec(Group.display_name_ci, folded=True),
        "externalid": ColumnSpec(Group.external_id),
        "meta.created": ColumnSpec(Group.created),
        "meta.lastmodified": ColumnSpec(Group.last_modified),
        f"{APPLIANCE_GROUP}:sanitizeddisplayname".lower():
            ColumnSpec(Group.sanitized_display_name),
        f"{APPLIANCE_GROUP}:nameadjusted".lower(): ColumnSpec(Group.name_adjusted),
        f"{APPLIANCE_GROUP}:source".lower(): ColumnSpec(Group.source),
    },
    element_tables={
        "members": ElementTable(Membership.group_id, {
            "value": ColumnSpec(Membership.member_id),
            "type": ColumnSpec(Membership.member_type),
        }),
    },
)
