"""The audit trail: every change an administrator makes, from the console or the CLI,
with who, when and from where. Recorded in the same transaction as the change, so a
change that rolls back leaves no entry and an entry always means it happened."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ...storage.models import AuditEntry
from ..clock import utcnow

CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: an administrator and a client address, or `cli`."""

    name: str
    origin: str = CLI


# Actions, as recorded in `audit_log.action`.
ADMIN_CREATED = "admin.created"
ADMIN_DELETED = "admin.deleted"
ADMIN_PASSWORD_RESET = "admin.password_reset"
SIGNED_IN = "console.signed_in"
SIGNED_OUT = "console.signed_out"
TOKEN_ISSUED = "token.issued"
SYNC_SWITCHED = "sync.switched"
MIGRATION_APPLIED = "migration.applied"
MIGRATION_REVERTED = "migration.reverted"
TEST_EMAIL = "notify.test_email"
DIGEST_SENT = "notify.sent_now"
WEBHOOK_ADDED = "webhook.added"
WEBHOOK_REMOVED = "webhook.removed"
WEBHOOK_SECRET_ROTATED = "webhook.secret_rotated"
WEBHOOK_TESTED = "webhook.tested"
WEBHOOK_REDELIVERED = "webhook.redelivered"


def record(session: Session, actor: Actor, action: str, detail: str | None = None) -> None:
    session.add(AuditEntry(at=utcnow(), actor=actor.name[:64], origin=actor.origin[:64],
                           action=action, detail=detail))


def entries(session: Session, offset: int = 0, limit: int = 50) -> tuple[list[AuditEntry], int]:
    """One page, newest first, and how many there are."""
    total = session.scalar(select(func.count()).select_from(AuditEntry))
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc())
                           .offset(max(offset, 0)).limit(max(limit, 1))).all()
    return list(rows), total or 0
