"""Storage: the tables behind SCIM resources, the appliance state and memberships.

A resource keeps the attributes exactly as the client sent them in one JSON
document (`data`), because Entra re-sends anything that comes back different. The
attributes that are looked up on every provisioning cycle (`userName`,
`externalId`, group `displayName`) are also copied into indexed columns, so the
filters Entra sends are index look-ups rather than scans of the JSON.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_name: Mapped[str] = mapped_column(Text)
    # userName is caseExact=false (RFC 7643 §4.1.1): uniqueness and `eq` use this.
    user_name_ci: Mapped[str] = mapped_column(Text, unique=True)
    external_id: Mapped[str | None] = mapped_column(Text, index=True)
    active: Mapped[bool | None] = mapped_column(Boolean)
    data: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_modified: Mapped[datetime] = mapped_column(DateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # `scim` for users Entra created, `local` for those that existed before.
    source: Mapped[str] = mapped_column(String(16), default="scim")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    display_name: Mapped[str] = mapped_column(Text)
    display_name_ci: Mapped[str] = mapped_column(Text, unique=True)
    external_id: Mapped[str | None] = mapped_column(Text, index=True)
    data: Mapped[dict] = mapped_column(JSON)
    created: Mapped[datetime] = mapped_column(DateTime)
    last_modified: Mapped[datetime] = mapped_column(DateTime, index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source: Mapped[str] = mapped_column(String(16), default="scim")


class Membership(Base):
    """One member of one group; indexed both ways so either side is a look-up."""

    __tablename__ = "memberships"

    group_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    member_type: Mapped[str] = mapped_column(String(8), default="User")

    __table_args__ = (Index("ix_memberships_member", "member_id", "group_id"),)


class ApplianceState(Base):
    """The single row of operator state: the Secret Token's hash and the sync switch."""

    __tablename__ = "appliance_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    token_issued_at: Mapped[datetime | None] = mapped_column(DateTime)
    token_last_used_at: Mapped[datetime | None] = mapped_column(DateTime)
    sync_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    sync_changed_at: Mapped[datetime | None] = mapped_column(DateTime)
