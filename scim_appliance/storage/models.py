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
    UniqueConstraint,
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
    # The userName as valid downstream under the name rules (domain/names/rules.py): derived
    # once, never changed (CloudSSO cannot rename users); `_key` is what uniqueness
    # compares (casefolded for every built-in preset).
    sanitized_user_name: Mapped[str | None] = mapped_column(Text)
    sanitized_user_name_key: Mapped[str | None] = mapped_column(Text, unique=True)
    name_adjusted: Mapped[bool] = mapped_column(Boolean, default=False)


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
    # The displayName as valid downstream; re-derived when the group is renamed.
    sanitized_display_name: Mapped[str | None] = mapped_column(Text)
    sanitized_display_name_key: Mapped[str | None] = mapped_column(Text, unique=True)
    name_adjusted: Mapped[bool] = mapped_column(Boolean, default=False)


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
    # The seat-cap email last sent (warned, refused) or None, and when that changed
    # (domain/notify/seats.py).
    seat_alert: Mapped[str | None] = mapped_column(String(16))
    seat_alert_at: Mapped[datetime | None] = mapped_column(DateTime)


class ProvisioningLogEntry(Base):
    """One SCIM request as the administrator needs to see it later (issue 5).

    Facts only, never the token, passwords or request bodies. `notify_pending` marks a
    failure waiting for the next email digest; `digest_id` names the digest that took it,
    so a failure is claimed by exactly one email.
    """

    __tablename__ = "provisioning_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    request_id: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(Text)
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(200), index=True)
    resource_name: Mapped[str | None] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(24))
    changes: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[int] = mapped_column(Integer)
    scim_type: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    duration_us: Mapped[int] = mapped_column(Integer)
    failure_kind: Mapped[str | None] = mapped_column(String(24))
    notify_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    digest_id: Mapped[int | None] = mapped_column(Integer, index=True)

    __table_args__ = (Index("ix_provisioning_log_pending", "notify_pending", "id"),)


class NotificationDigest(Base):
    """One failure-digest email: `sending` from the moment the failures are claimed,
    then `sent`, `rejected` (the server refused it; its failures are pending again) or
    `unconfirmed` (handed over, but the server's answer never came back)."""

    __tablename__ = "notification_digests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    state: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    error: Mapped[str | None] = mapped_column(Text)
    # The digest that told the administrator this one may not have arrived.
    reported_in: Mapped[int | None] = mapped_column(Integer)
    # Requests refused before the token check that it summed up (auth_failures), so the
    # next notice about them waits a day (domain/notify/notifier.py).
    unauthenticated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class AuthFailureCount(Base):
    """Requests refused before the token check, counted: one row per minute, client
    address and reason (issue 13).

    Whoever reaches the Tenant URL decides how many such requests arrive, so they are
    never stored one row each: `requests` counts them, `examples` keeps the first few
    (time, method, path, request id: never a filter, a body or a header), and at most
    a few client addresses per minute and reason get a row of their own (the rest
    share client `*`). `digest_id` names the email that reported the row, 0 until one
    did: requests arriving after that start a new row for the same minute, so every
    request is reported once and none has to wait for its minute to end.
    """

    __tablename__ = "auth_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minute: Mapped[datetime] = mapped_column(DateTime)
    client: Mapped[str] = mapped_column(String(64))
    # domain/log/auth_failures.py: replaced_token, invalid_token, no_token, unknown_url
    reason: Mapped[str] = mapped_column(String(16))
    requests: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(DateTime)
    last_at: Mapped[datetime] = mapped_column(DateTime)
    examples: Mapped[list] = mapped_column(JSON)
    digest_id: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # The counting UPSERT's conflict target (not NULL: NULLs never conflict); also
    # serves `minute >= x` and the listing.
    __table_args__ = (UniqueConstraint("minute", "client", "reason", "digest_id",
                                       name="uq_auth_failures_count"),)


class NameAdjustment(Base):
    """One name the appliance changed on its way downstream (domain/names/derived.py).

    An audit trail, so no foreign key: the record outlives the user or group.
    """

    __tablename__ = "name_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    resource_type: Mapped[str] = mapped_column(String(8))  # User | Group
    resource_id: Mapped[str] = mapped_column(String(36), index=True)
    field: Mapped[str] = mapped_column(String(32))  # userName | displayName
    original: Mapped[str] = mapped_column(Text)
    derived: Mapped[str] = mapped_column(Text)
    # sanitized | collision | sanitized+collision | normalized | kept
    reason: Mapped[str] = mapped_column(String(32))
    preset: Mapped[str] = mapped_column(String(32))


class Event(Base):
    """One change as the applications downstream hear of it (issue 16): the outbox.

    Written in the transaction of the change it describes, so a change that rolls back
    leaves no event, and only when some webhook endpoint wants its type. `payload` is
    the exact JSON body every attempt sends (the signature covers these bytes); `seq`
    orders events, `id` is what receivers deduplicate by (the `webhook-id` header).
    """

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    id: Mapped[str] = mapped_column(String(40), unique=True)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    request_id: Mapped[str | None] = mapped_column(String(64))
    resource_type: Mapped[str | None] = mapped_column(String(16))
    resource_id: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[str] = mapped_column(Text)


class WebhookEndpoint(Base):
    """An application's URL, its signing secret and the event types it wants.

    The secret has to be stored as is (an HMAC key, not a password). During a
    rotation `previous_secret` signs too, until `previous_secret_until`.
    """

    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    # Event types, or patterns such as "user.*"; ["*"] for every type.
    event_types: Mapped[list] = mapped_column(JSON)
    secret: Mapped[str] = mapped_column(String(80))
    previous_secret: Mapped[str | None] = mapped_column(String(80))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class WebhookDelivery(Base):
    """One event on its way to one endpoint: `pending` until `delivered` or `failed`.

    A worker claims a due delivery by setting `lease_until` (only where the lease is
    absent or expired), so several workers or nodes send each one once; a worker that
    dies leaves a lease that expires, and the delivery is sent again (at least once).
    `resource_key` orders deliveries per resource and endpoint.
    """

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_seq: Mapped[int] = mapped_column(
        Integer, ForeignKey("events.seq", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    resource_key: Mapped[str] = mapped_column(String(220))
    status: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime)
    retry_from: Mapped[datetime] = mapped_column(DateTime)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    last_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_order", "endpoint_id", "resource_key", "status", "id"),
    )


class SilenceEpisode(Base):
    """One stretch in which Entra stopped calling (issue 16), keyed by the last call
    before it: the unique `last_call_at` lets exactly one process or node open it.
    `alert_mail` / `resume_mail`: pending, sending, sent, unconfirmed or off; the
    mail is claimed at the SMTP commit point, like a failure digest."""

    __tablename__ = "silence_episodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_call_at: Mapped[datetime] = mapped_column(DateTime, unique=True)
    detected_at: Mapped[datetime] = mapped_column(DateTime)
    alert_mail: Mapped[str] = mapped_column(String(12))
    resumed_at: Mapped[datetime | None] = mapped_column(DateTime)
    resume_mail: Mapped[str | None] = mapped_column(String(12))
class Administrator(Base):
    """Who may sign in to the operator console (issue 14). Only an argon2id hash of the
    password is kept (domain/admins/passwords.py); there is no default account."""

    __tablename__ = "administrators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    # Sign-in is case-insensitive on the name; uniqueness compares this.
    name_ci: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime)


class ConsoleSession(Base):
    """One signed-in browser, kept on the server so that it can be ended there (sign-out,
    a password change, an administrator removed). `id` is the SHA-256 of the random
    session token the browser holds: a copy of the database opens no session."""

    __tablename__ = "console_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    administrator_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("administrators.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    client: Mapped[str | None] = mapped_column(String(64))


class SignInFailure(Base):
    """A failed console sign-in, kept for the throttling window only
    (domain/admins/throttle.py): counted per client address and per account name."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    account: Mapped[str] = mapped_column(String(64), index=True)


class AuditEntry(Base):
    """One change an administrator made (console or CLI): who, when, from where, what.
    No foreign key: the trail outlives the administrator."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    # The client address for the console, `cli` for a command.
    origin: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class ConsoleJob(Base):
    """Long console work (the user ID migration) run on a thread of one server process;
    its progress is here so that a page polled through any process can show it."""

    __tablename__ = "console_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # running | finished | failed
    state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict | None] = mapped_column(JSON)
