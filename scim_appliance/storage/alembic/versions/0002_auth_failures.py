"""Refused requests counted per minute, client and reason; digests report the count.

Requests that fail the token check are no longer one provisioning-log row each (an
attacker chose how many): `auth_failures` holds a count and the first few examples,
and `notification_digests.unauthenticated` says how many a digest reported.

Revision ID: 0002_auth_failures
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_auth_failures"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "auth_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.DateTime(), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(), nullable=False),
        sa.Column("last_at", sa.DateTime(), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("digest_id", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("minute", "client", "reason", "digest_id",
                            name="uq_auth_failures_count"),
    )
    with op.batch_alter_table("notification_digests") as batch:
        batch.add_column(sa.Column("unauthenticated", sa.Integer(), server_default="0",
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notification_digests") as batch:
        batch.drop_column("unauthenticated")
    op.drop_table("auth_failures")
