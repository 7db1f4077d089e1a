"""The alarm when Entra goes quiet (issue 16).

Entra's provisioning service calls every 20 to 40 minutes. When it stops (the job
switched off or quarantined in Entra, the token expired or replaced there, the public
URL broken), the appliance hears nothing, so nothing else would tell anyone. When sync
is on, the token has been used, and no authenticated request came for
SILENCE_ALERT_MINUTES, the appliance opens a *silence episode*, mails once and records
`appliance.silence`; when calls resume, it mails once more and records
`appliance.resumed`.

Exactly once across processes, nodes and restarts, because everything is in the
database: an episode is keyed by the last call before it (`silence_episodes.
last_call_at` is unique), so of several monitors one INSERT wins, in the same
transaction as its event; its resumption is an UPDATE that only succeeds while
`resumed_at` is empty. Each mail is claimed at the SMTP commit point (after 354,
before the final dot; domain/notify/mailer.py) by moving its state from `pending` to
`sending`, so two monitors never both send it, and a crash after the claim leaves it
unsent rather than sent twice, as with the failure digest.

The clock is a parameter (`clock`, or `now` per run), so tests move time.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...storage.database import write_intent
from ...storage.models import ApplianceState, SilenceEpisode
from ..clock import to_rfc3339, utcnow
from ..display import safe_text
from ..notify.mailer import (
    MailNotSent,
    MailOutcomeUnknown,
    MailRejected,
    SmtpSettings,
    new_message,
    send_message,
)
from . import catalogue
from .outbox import record

log = logging.getLogger(__name__)

QUARANTINE_DOC = ("https://learn.microsoft.com/entra/identity/app-provisioning/"
                  "application-provisioning-quarantine-status")
PROVISIONING_LOGS_DOC = ("https://learn.microsoft.com/entra/identity/monitoring-health/"
                         "concept-provisioning-logs")


class _Lost(Exception):
    """Another monitor claimed this mail first."""


@dataclass(frozen=True)
class Outcome:
    """What one run did: off, quiet (all well), silence, resumed, and mails sent."""

    status: str
    mails: int = 0


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


class SilenceMonitor:
    def __init__(self, engine, *, minutes: float, settings: SmtpSettings | None,
                 instance: str = "", clock: Callable[[], datetime] = utcnow,
                 send: Callable = send_message):
        self.engine = engine
        self.after = timedelta(minutes=float(minutes or 0))
        self.settings = settings
        self.instance = safe_text(instance or "this appliance")
        self.clock = clock
        self._send = send
        self._retry_at: datetime | None = None

    def run_once(self, now: datetime | None = None) -> Outcome:
        now = now or self.clock()
        if self.after <= timedelta(0):
            return Outcome("off")
        with Session(self.engine) as session:
            state = session.get(ApplianceState, 1)
            episode = session.execute(select(SilenceEpisode).where(
                SilenceEpisode.resumed_at.is_(None))
                .order_by(SilenceEpisode.id.desc()).limit(1)).scalar_one_or_none()
            last = state.token_last_used_at if state is not None else None
            sync = bool(state is not None and state.sync_enabled)
        status = "quiet"
        if episode is not None and last is not None and last > episode.last_call_at:
            status = "resumed" if self._resume(episode.id, episode.last_call_at, last) \
                else status
        elif episode is None and sync and last is not None and now - last >= self.after:
            status = "silence" if self._open(last, now) else status
        return Outcome(status, self._send_pending(now))

    def _mail_state(self) -> str:
        return "pending" if self.settings is not None else "off"

    def _open(self, last: datetime, now: datetime) -> bool:
        try:
            with write_intent(), Session(self.engine) as session, session.begin():
                session.add(SilenceEpisode(last_call_at=last, detected_at=now,
                                           alert_mail=self._mail_state()))
                session.flush()
                record(session, catalogue.SILENCE, data={
                    "lastCallAt": to_rfc3339(last), "silentMinutes": _minutes(now - last),
                    "alertMinutes": _minutes(self.after)})
        except IntegrityError:
            return False  # another process or node opened this episode
        return True

    def _resume(self, episode_id: int, since: datetime, first_call: datetime) -> bool:
        with write_intent(), Session(self.engine) as session, session.begin():
            won = session.execute(update(SilenceEpisode).where(
                SilenceEpisode.id == episode_id, SilenceEpisode.resumed_at.is_(None))
                .values(resumed_at=first_call, resume_mail=self._mail_state())).rowcount
            if won:
                record(session, catalogue.RESUMED, data={
                    "lastCallAt": to_rfc3339(since), "resumedAt": to_rfc3339(first_call),
                    "silentMinutes": _minutes(first_call - since)})
        return bool(won)

    def _send_pending(self, now: datetime) -> int:
        if self.settings is None or (self._retry_at is not None and now < self._retry_at):
            return 0
        with Session(self.engine) as session:
            pending = session.execute(select(SilenceEpisode).where(
                (SilenceEpisode.alert_mail == "pending")
                | (SilenceEpisode.resume_mail == "pending"))
                .order_by(SilenceEpisode.id)).scalars().all()
        sent = 0
        for episode in pending:
            for column in ("alert_mail", "resume_mail"):
                if getattr(episode, column) == "pending":
                    if not self._mail(episode, column, now):
                        return sent
                    sent += 1
        return sent

    def _mail(self, episode: SilenceEpisode, column: str, now: datetime) -> bool:
        subject, body = (alert_text if column == "alert_mail" else resume_text)(
            episode, self.after, self.instance, now)
        msg = new_message(self.settings, subject, body)
        attr = getattr(SilenceEpisode, column)

        def move(old: str, new: str) -> int:
            with write_intent(), Session(self.engine) as session, session.begin():
                return session.execute(update(SilenceEpisode).where(
                    SilenceEpisode.id == episode.id, attr == old)
                    .values({column: new})).rowcount

        def claim() -> None:
            if move("pending", "sending") != 1:
                raise _Lost()

        try:
            self._send(self.settings, msg, claim)
        except _Lost:
            return True
        except MailRejected as exc:
            move("sending", "pending")
            return self._failed(now, str(exc))
        except MailOutcomeUnknown as exc:
            move("sending", "unconfirmed")
            log.warning("silence email may not have arrived: %s", safe_text(str(exc)))
            return True
        except (MailNotSent, OSError) as exc:
            return self._failed(now, str(exc))
        move("sending", "sent")
        self._retry_at = None
        return True

    def _failed(self, now: datetime, error: str) -> bool:
        self._retry_at = now + timedelta(minutes=1)
        log.warning("silence email not sent (%s); next try in a minute", safe_text(error))
        return False


def alert_text(episode: SilenceEpisode, after: timedelta, instance: str,
               now: datetime) -> tuple[str, str]:
    silent = _minutes(now - episode.last_call_at)
    subject = f"[scim-appliance] Entra has not called for {silent} minutes"
    body = f"""\
Entra has sent no authenticated SCIM request to the appliance at {instance}
since {to_rfc3339(episode.last_call_at)} (UTC), {silent} minutes ago. It calls every
20 to 40 minutes while provisioning runs; this alarm goes off after
{_minutes(after)} minutes (SILENCE_ALERT_MINUTES).

What to check in the Microsoft Entra admin center, under Enterprise applications,
this application, Provisioning:
  - Provisioning Status: is it On? Someone may have stopped it.
  - A quarantine banner: after repeated failures Entra quarantines the job and
    calls far less often ({QUARANTINE_DOC}).
  - Admin Credentials: the Tenant URL must be {instance} and the Secret Token the
    current one ('scim-appliance token status' on the appliance); Test
    Connection says whether Entra reaches it.
  - The provisioning logs ({PROVISIONING_LOGS_DOC}).
On the appliance's side: is the public URL reachable from the internet (reverse
proxy running, TLS certificate valid)? Is sync enabled ('scim-appliance sync status')?

You get one more email when Entra calls again.
"""
    return subject, body


def resume_text(episode: SilenceEpisode, after: timedelta, instance: str,
                now: datetime) -> tuple[str, str]:
    resumed = episode.resumed_at or now
    silent = _minutes(resumed - episode.last_call_at)
    subject = f"[scim-appliance] Entra calls again after {silent} minutes of silence"
    body = f"""\
Entra called the appliance at {instance} again at {to_rfc3339(resumed)} (UTC),
after {silent} minutes without a call (the last one before was at
{to_rfc3339(episode.last_call_at)}). Provisioning has resumed; Entra catches up with
the changes made in the meantime on its next cycles.
"""
    return subject, body
