"""Operator state: the one active Secret Token and the SCIM sync switch.

The CLI and the HTTP layer share these functions, so `token issue` in one process
voids the old token for the server in another at once: every request reads the
single state row (one primary-key look-up) rather than a cached copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ...storage.models import ApplianceState
from ..clock import to_rfc3339, utcnow
from ..events import catalogue as events
from ..events.outbox import record
from ..protocol.errors import Forbidden, Unauthorized
from ..query.direct_reads import Prepared, Reads
from . import tokens

# How stale `token_last_used_at` may get: writing it on every request would turn
# every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class TokenStatus:
    active: bool
    issued_at: datetime | None
    last_used_at: datetime | None


def get_state(session: Session) -> ApplianceState:
    """The state row, created on first use."""
    state = session.get(ApplianceState, 1)
    if state is None:
        state = ApplianceState(id=1, sync_enabled=False)
        session.add(state)
        session.flush()
    return state


def issue_token(session: Session, secret_key: str) -> str:
    """Issue a new Secret Token, voiding any previous one. Returns it (shown once)."""
    token = tokens.new_token(secret_key)
    state = get_state(session)
    replaced = state.token_hash is not None
    state.token_hash = tokens.token_hash(token)
    state.token_issued_at = utcnow()
    state.token_last_used_at = None
    # Never the token itself: receivers only learn that Entra needs the new one.
    record(session, events.TOKEN_REPLACED, data={
        "issuedAt": to_rfc3339(state.token_issued_at), "previousTokenVoided": replaced})
    return token


def token_status(session: Session) -> TokenStatus:
    state = get_state(session)
    return TokenStatus(bool(state.token_hash), state.token_issued_at, state.token_last_used_at)


def set_sync(session: Session, enabled: bool) -> None:
    """Set the switch; `sync_changed_at` records that an operator set it, even to the
    state it had, so `enable_sync_if_never_set` never overrules a decision."""
    state = get_state(session)
    switched = bool(state.sync_enabled) != bool(enabled)
    state.sync_enabled = enabled
    state.sync_changed_at = utcnow()
    if switched:
        record(session, events.SYNC_SWITCHED, data={"syncEnabled": bool(enabled)})


def enable_sync_if_never_set(session: Session) -> bool:
    """Turn sync on for a new instance (what `make run` does), never again after an
    operator set the switch either way; True when it was turned on now."""
    if get_state(session).sync_changed_at is not None:
        return False
    set_sync(session, True)
    return True


def sync_enabled(session: Session) -> bool:
    return get_state(session).sync_enabled


_STATE_QUERY = Prepared(select(ApplianceState.token_hash, ApplianceState.sync_enabled,
                               ApplianceState.token_last_used_at)
                        .where(ApplianceState.id == 1))


# One wording for every token that is refused, whether it was never signed here or
# was signed here and replaced: the answer must not tell whoever holds a token that it
# was once valid (a signature oracle). The log and the email learn the reason.
REFUSED_TOKEN = ("the Secret Token is not valid for this appliance (mistyped, or replaced "
                 "with 'scim-appliance token issue'); copy the current token into Entra's "
                 "Admin Credentials")


class TokenRefused(Unauthorized):
    """A presented token the appliance does not accept; the same 401 whatever the reason.

    `reason` is for the provisioning log and the email only: "signature" (not signed
    with this appliance's SECRET_KEY: mistyped, forged, another appliance's) or
    "replaced" (signed here, but not the active token: Entra holds an old one).
    """

    def __init__(self, reason: str):
        super().__init__(REFUSED_TOKEN)
        self.reason = reason


@dataclass(frozen=True)
class Authenticated:
    """Result of a successful check; `touch_due` says last-used should be recorded."""

    touch_due: bool


def authenticate(reads: Reads, secret_key: str, authorization: str | None) -> Authenticated:
    """Check an `Authorization` header and the sync switch for one SCIM request.

    401 for anything but the active token (RFC 6750 §3; TokenRefused for a token that
    is not the active one), 403 when sync is disabled.
    `reads` may be `Reads.within(session)`; the HTTP layer uses a pooled connection.
    """
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer "
                           "<Secret Token>' as issued by 'scim-appliance token issue'")
    scheme, _, presented = authorization.strip().partition(" ")
    presented = presented.strip()
    if scheme.lower() != "bearer" or not presented:
        raise Unauthorized("the Authorization header must be 'Bearer <Secret Token>'")
    try:
        tokens.check_signature(secret_key, presented)
    except tokens.InvalidToken:
        raise TokenRefused("signature") from None
    # Every request runs this: a prepared read, not a session query (direct_reads.py).
    row = reads.first(_STATE_QUERY)
    if row is None or not tokens.matches_hash(presented, row.token_hash):
        raise TokenRefused("replaced")
    if not row.sync_enabled:
        raise Forbidden("SCIM sync is disabled on the appliance; an administrator can "
                        "enable it with 'scim-appliance sync enable'")
    last = row.token_last_used_at
    return Authenticated(touch_due=last is None or utcnow() - last > LAST_USED_RESOLUTION)


def record_token_use(session: Session) -> None:
    session.execute(
        update(ApplianceState).where(ApplianceState.id == 1).values(token_last_used_at=utcnow())
    )
