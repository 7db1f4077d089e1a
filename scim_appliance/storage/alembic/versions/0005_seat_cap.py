"""The seat cap's email state: which alert was last sent, and when.

Revision ID: 0005_seat_cap
Revises: 0004_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_seat_cap"
down_revision = "0004_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("appliance_state") as batch:
        batch.add_column(sa.Column("seat_alert", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("seat_alert_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("appliance_state") as batch:
        batch.drop_column("seat_alert_at")
        batch.drop_column("seat_alert")
