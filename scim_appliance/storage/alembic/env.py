"""Alembic's environment: run on the connection that `storage/migrations.py` hands over.

No alembic.ini and no URL of its own: the appliance opens the connection (with its
SQLite pragmas and BEGIN IMMEDIATE behind the write gate) and the whole upgrade runs in
that one transaction, so a failed revision leaves the database as it was. SQLite
cannot ALTER most things, so operations are rendered in batch mode there (copy the
table, move the rows, swap).
"""

from __future__ import annotations

from alembic import context

from scim_appliance.storage.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    compare_server_default=False,
)
context.run_migrations()
