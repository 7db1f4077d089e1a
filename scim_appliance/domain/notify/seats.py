"""Seat-cap email: one when 90% of MAX_ACTIVE_USERS is reached, one at the first refusal.

The state is one column of `appliance_state` (`seat_alert`: unset, `warned`, `refused`)
and when it last changed. A mail is sent only by the process whose compare-and-set moved
the state, at the SMTP commit point (domain/notify/mailer.py), so several worker
processes, nodes or restarts send each alert once. When the count falls back under 90%
the state is cleared and the next crossing mails again. A refusal is seen in the
provisioning log (failure kind `seat_cap`, logged after the state last changed), since
the refused request's own transaction rolled back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...storage.database import write_intent
from ...storage.models import ApplianceState, ProvisioningLogEntry
from ..clock import utcnow
from ..log.failure_kinds import KINDS, SEAT_CAP
from ..query.seats import WARN_RATIO, active_users
from .mailer import MailError, MailOutcomeUnknown, SmtpSettings, new_message, send_message

log = logging.getLogger(__name__)

WARNED = "warned"
REFUSED = "refused"


class _Moved(Exception):
    """Another process moved the state first: it sends this alert."""


@dataclass(frozen=True)
class SeatState:
    active: int
    cap: int
    alert: str | None
    changed_at: datetime | None
    refused_since: bool

    @property
    def wanted(self) -> str | None:
        """The alert the numbers call for now."""
        if self.refused_since:
            return REFUSED
        if self.active >= WARN_RATIO * self.cap:
            return WARNED
        return None


def load_state(session: Session, cap: int) -> SeatState:
    row = session.get(ApplianceState, 1)
    alert = row.seat_alert if row else None
    changed = row.seat_alert_at if row else None
    refusals = select(ProvisioningLogEntry.id).where(
        ProvisioningLogEntry.failure_kind == SEAT_CAP)
    if changed is not None:
        refusals = refusals.where(ProvisioningLogEntry.at >= changed)
    refused = session.execute(select(exists(refusals))).scalar_one()
    return SeatState(active_users(session), cap, alert, changed, refused and alert != REFUSED)


def compose(state: SeatState, instance: str, alert: str) -> tuple[str, str]:
    share = f"{state.active} of {state.cap} ({100 * state.active // state.cap}%)"
    if alert == REFUSED:
        subject = f"[scim-appliance {instance}] Seat cap reached: Entra's users are refused"
        first = (f"The appliance refused to make a user active: {share} seats are taken "
                 "(MAX_ACTIVE_USERS). Entra shows these users as failed in its "
                 "provisioning logs and retries them on its next cycles.")
    else:
        subject = f"[scim-appliance {instance}] {share} seats taken"
        first = (f"{share} users allowed by MAX_ACTIVE_USERS are active. Once all are "
                 "taken, the appliance refuses to create or enable more users (403).")
    body = "\n\n".join([first, "What to do: " + KINDS[SEAT_CAP].advice,
                        "You get one such email when 90% is reached and one at the first "
                        "refusal; none again until the count falls under 90%."]) + "\n"
    return subject, body


class SeatWatch:
    """Called by the failure-email worker on every tick (server/background.py)."""

    def __init__(self, engine: Engine, settings: SmtpSettings, cap: int, *,
                 instance: str = "", send=send_message):
        self.engine, self.settings, self.cap = engine, settings, cap
        self.instance = instance or settings.host
        self._send = send

    def run_once(self, now: datetime | None = None) -> str:
        """What this tick did: nothing, cleared, or the alert it mailed."""
        if not self.cap:
            return "nothing"
        now = now or utcnow()
        with Session(self.engine) as session:
            state = load_state(session, self.cap)
        wanted = state.wanted
        if wanted == state.alert or (wanted == WARNED and state.alert == REFUSED):
            return "nothing"
        if wanted is None:
            self._move(state.alert, None, now)
            return "cleared"
        subject, body = compose(state, self.instance, wanted)
        msg = new_message(self.settings, subject, body)

        def claim() -> None:
            if not self._move(state.alert, wanted, now):
                raise _Moved

        try:
            self._send(self.settings, msg, claim)
        except _Moved:
            return "nothing"
        except MailOutcomeUnknown as exc:
            # Handed over, the answer lost: it may have arrived, so it is not sent again.
            log.warning("seat-cap email may not have arrived: %s", exc)
            return wanted
        except MailError as exc:
            # Not claimed, or claimed and lost: give the alert back so a later tick retries.
            log.warning("seat-cap email not sent: %s", exc)
            self._move(wanted, state.alert, now)
            return "failed"
        return wanted

    def _move(self, old: str | None, new: str | None, now: datetime) -> bool:
        """Compare-and-set the alert state; True if this call moved it."""
        column = ApplianceState.seat_alert
        match = column.is_(None) if old is None else column == old
        with write_intent(), Session(self.engine) as session, session.begin():
            moved = session.execute(update(ApplianceState).where(ApplianceState.id == 1, match)
                                    .values(seat_alert=new, seat_alert_at=now)).rowcount
        return bool(moved)
