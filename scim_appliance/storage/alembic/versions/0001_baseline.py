"""Release 0.1.0: the schema `create_all` made before the appliance had migrations.

A database made by 0.1.0 has no version table; `storage/migrations.py` recognises it
by its tables and columns and stamps it with this revision instead of running it. An
older one (before the name rules: users, groups, memberships and appliance_state only)
gets the name-rule columns and `create_later_tables()`, then the stamp. Constraint
names are left to the database, exactly as `create_all` did. Never edit this file:
installed databases are this schema.

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_first_tables()
    create_later_tables()


def create_first_tables() -> None:
    """The tables of the first schema (before the name rules), in their 0.1.0 form."""
    op.create_table(
        "appliance_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("token_issued_at", sa.DateTime(), nullable=True),
        sa.Column("token_last_used_at", sa.DateTime(), nullable=True),
        sa.Column("sync_enabled", sa.Boolean(), nullable=False),
        sa.Column("sync_changed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "groups",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("display_name_ci", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sanitized_display_name", sa.Text(), nullable=True),
        sa.Column("sanitized_display_name_key", sa.Text(), nullable=True),
        sa.Column("name_adjusted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("display_name_ci"),
        sa.UniqueConstraint("sanitized_display_name_key"),
    )
    op.create_index("ix_groups_external_id", "groups", ["external_id"])
    op.create_index("ix_groups_last_modified", "groups", ["last_modified"])
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_name", sa.Text(), nullable=False),
        sa.Column("user_name_ci", sa.Text(), nullable=False),
        sa.Column("external_id", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created", sa.DateTime(), nullable=False),
        sa.Column("last_modified", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("sanitized_user_name", sa.Text(), nullable=True),
        sa.Column("sanitized_user_name_key", sa.Text(), nullable=True),
        sa.Column("name_adjusted", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_name_ci"),
        sa.UniqueConstraint("sanitized_user_name_key"),
    )
    op.create_index("ix_users_external_id", "users", ["external_id"])
    op.create_index("ix_users_last_modified", "users", ["last_modified"])
    op.create_table(
        "memberships",
        sa.Column("group_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("member_type", sa.String(length=8), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["groups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_id", "member_id"),
    )
    op.create_index("ix_memberships_member", "memberships", ["member_id", "group_id"])


def create_later_tables() -> None:
    """The tables 0.1.0 added to the first schema: the provisioning log, the failure
    digests and the name adjustments."""
    op.create_table(
        "name_adjustments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("resource_type", sa.String(length=8), nullable=False),
        sa.Column("resource_id", sa.String(length=36), nullable=False),
        sa.Column("field", sa.String(length=32), nullable=False),
        sa.Column("original", sa.Text(), nullable=False),
        sa.Column("derived", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("preset", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_name_adjustments_at", "name_adjustments", ["at"])
    op.create_index("ix_name_adjustments_resource_id", "name_adjustments", ["resource_id"])
    op.create_table(
        "notification_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("reported_in", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notification_digests_created_at", "notification_digests",
                    ["created_at"])
    op.create_table(
        "provisioning_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=True),
        sa.Column("resource_id", sa.String(length=200), nullable=True),
        sa.Column("resource_name", sa.Text(), nullable=True),
        sa.Column("operation", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("scim_type", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duration_us", sa.Integer(), nullable=False),
        sa.Column("failure_kind", sa.String(length=24), nullable=True),
        sa.Column("notify_pending", sa.Boolean(), nullable=False),
        sa.Column("digest_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_provisioning_log_at", "provisioning_log", ["at"])
    op.create_index("ix_provisioning_log_digest_id", "provisioning_log", ["digest_id"])
    op.create_index("ix_provisioning_log_pending", "provisioning_log", ["notify_pending", "id"])
    op.create_index("ix_provisioning_log_request_id", "provisioning_log", ["request_id"])
    op.create_index("ix_provisioning_log_resource_id", "provisioning_log", ["resource_id"])


def downgrade() -> None:
    for table in ("memberships", "users", "provisioning_log", "notification_digests",
                  "name_adjustments", "groups", "appliance_state"):
        op.drop_table(table)  # their indexes go with them
