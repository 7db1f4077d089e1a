"""Mail pending failures as digests: at most one per window, each failure exactly once.

`Notifier.run_once(now)` is the whole algorithm; the server's worker thread calls it
every few seconds and `scim-appliance notify flush` calls it once with `force`.

Exactly once. Failures are rows in `provisioning_log` with `notify_pending` set, written
before any email is tried. A digest claims them (clears the flag, sets `digest_id`) in
one transaction at the *commit point* of the SMTP conversation: after the server said
354 to DATA, before the terminating dot (domain/notify/mailer.py). So:

- failure before the commit point (server down, TLS, login, recipients refused):
  nothing claimed, nothing delivered; retried with back-off;
- server answers the dot with an error: the claim is undone (failures pending again);
- server answers 2xx: the digest is marked `sent`;
- connection lost after the dot, or the process dies between the dot and marking
  `sent`: the claim stands and the digest is `unconfirmed`. Those failures are *not*
  mailed again (that would be the only way to mail one twice); instead the next digest
  says an earlier one may not have arrived and gives the `scim-appliance log` command
  that lists its failures. Between a claim and the dot there is one SMTP round trip.

Two senders at once (the server and `notify flush`) cannot both claim a failure: the
claim updates only rows still pending and is abandoned unless it got every row its
email describes.

Requests refused before the token check are counted rows (domain/log/auth_failures.py),
claimed the same way (their `digest_id`). Those with a replaced token (signed by this
appliance, not the active one: Entra holds an old token) are mailed like failures.
The others are garbage anyone can send as often as they like: they are summed up in
a digest that goes out anyway, and on their own at most once per `NOTICE_INTERVAL`
and only when at least `NOTICE_MIN` arrived, so they cannot flood the mailbox. Only
the last `REPORT_HORIZON` of counts is ever reported, so switching email on later
does not mail last month's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ...storage.database import write_intent
from ...storage.models import AuthFailureCount, NotificationDigest, ProvisioningLogEntry
from ..clock import utcnow
from ..display import safe_text
from ..log import auth_failures
from ..log.failure_kinds import TOKEN
from .digest import EXAMPLES_PER_KIND, Example, Snapshot, Unconfirmed, compose
from .mailer import (
    MailNotSent,
    MailOutcomeUnknown,
    MailRejected,
    SmtpSettings,
    new_message,
    send_message,
)

log = logging.getLogger(__name__)

BACKOFF_CAP_SECONDS = 3600
CHUNK = 500
# Garbage (requests refused without a replaced token) mails on its own at most this
# often, and only this many at least; a digest sent anyway sums up any amount.
NOTICE_INTERVAL = timedelta(hours=24)
NOTICE_MIN = 1000
REPORT_HORIZON = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    """What one run did: sent, nothing, waiting, backoff, failed, unconfirmed, conflict."""

    status: str
    failures: int = 0
    message: str = ""


class ClaimConflict(Exception):
    """Another sender claimed some of these failures first; build the digest again."""


class Notifier:
    def __init__(self, engine: Engine, settings: SmtpSettings, *, window_seconds: float = 300,
                 instance: str = "", send: Callable = send_message):
        self.engine = engine
        self.settings = settings
        self.window = timedelta(seconds=window_seconds)
        self.instance = instance or settings.host
        self._send = send
        self._attempts = 0
        self._retry_at: datetime | None = None
        self.last_error: str | None = None
        # A digest left `sending` this long was interrupted (a crash or a kill).
        self.stale_after = timedelta(seconds=2 * settings.timeout + 60)

    def run_once(self, now: datetime | None = None, *, force: bool = False) -> Outcome:
        """Send one digest if one is due (or if `force`), else say why not."""
        now = now or utcnow()
        if not force and self._retry_at is not None and now < self._retry_at:
            return Outcome("backoff", message=self.last_error or "")
        self._expire_interrupted(now)
        with Session(self.engine) as session:
            snapshot = load_snapshot(session, now)
            last = _last_digest_at(session)
        if snapshot.empty:
            return Outcome("nothing")
        if not force and not self._due(snapshot, last, now):
            return Outcome("waiting", snapshot.total)
        subject, body = compose(snapshot, self.instance)
        msg = new_message(self.settings, subject, body)
        claim = _Claim(self.engine, snapshot, msg["Message-ID"], now)
        try:
            self._send(self.settings, msg, claim)
        except ClaimConflict:
            return Outcome("conflict", snapshot.total)
        except MailRejected as exc:
            claim.undo(str(exc))
            return self._failed(now, str(exc), snapshot.total)
        except MailOutcomeUnknown as exc:
            claim.finish("unconfirmed", str(exc))
            self._failed(now, str(exc), snapshot.total)
            return Outcome("unconfirmed", snapshot.total, str(exc))
        except MailNotSent as exc:
            return self._failed(now, str(exc), snapshot.total)
        except Exception as exc:  # noqa: BLE001 - e.g. the database was locked at the claim
            log.exception("failure email not sent")
            return self._failed(now, f"{type(exc).__name__}: {exc}", snapshot.total)
        claim.finish("sent")
        self._attempts, self._retry_at, self.last_error = 0, None, None
        return Outcome("sent", snapshot.total)

    def _due(self, snapshot: Snapshot, last: datetime | None, now: datetime) -> bool:
        if last is not None and now < last + self.window:
            return False
        # Collect a window's worth: an Entra cycle fails many objects within seconds.
        return snapshot.first_at is None or now >= snapshot.first_at + self.window

    def _failed(self, now: datetime, error: str, count: int) -> Outcome:
        error = safe_text(error)  # the mail server's words, bound for a terminal
        self._attempts += 1
        base = max(1.0, min(30.0, self.window.total_seconds()))
        delay = min(base * 2 ** (self._attempts - 1), BACKOFF_CAP_SECONDS)
        self._retry_at = now + timedelta(seconds=delay)
        self.last_error = error
        log.warning("failure email not sent (%s); %d failure(s) stay pending, next try in "
                    "%d s", error, count, delay)
        return Outcome("failed", count, error)

    def _expire_interrupted(self, now: datetime) -> None:
        stale = (NotificationDigest.state == "sending",
                 NotificationDigest.created_at < now - self.stale_after)
        with Session(self.engine) as session:
            if session.execute(select(func.count()).where(*stale)).scalar_one() == 0:
                return  # the usual case: no write transaction every tick
        with write_intent(), Session(self.engine) as session, session.begin():
            session.execute(update(NotificationDigest).where(*stale).values(
                state="unconfirmed", error="interrupted while sending"))


def load_snapshot(session: Session, now: datetime | None = None) -> Snapshot:
    """Every pending failure's id, counts per kind, first examples, unconfirmed digests,
    and the counts of refused requests this digest would report."""
    now = now or utcnow()
    snapshot = Snapshot()
    rows = session.execute(
        select(ProvisioningLogEntry.id, ProvisioningLogEntry.failure_kind,
               ProvisioningLogEntry.at)
        .where(ProvisioningLogEntry.notify_pending.is_(True))
        .order_by(ProvisioningLogEntry.id)).all()
    for row in rows:
        snapshot.ids.append(row.id)
        snapshot.counts[row.failure_kind] = snapshot.counts.get(row.failure_kind, 0) + 1
        snapshot.first_at = min(snapshot.first_at or row.at, row.at)
        snapshot.last_at = max(snapshot.last_at or row.at, row.at)
    for kind in snapshot.counts:
        examples = session.execute(
            select(ProvisioningLogEntry)
            .where(ProvisioningLogEntry.notify_pending.is_(True),
                   ProvisioningLogEntry.failure_kind == kind)
            .order_by(ProvisioningLogEntry.id).limit(EXAMPLES_PER_KIND)).scalars()
        snapshot.examples[kind] = [Example(
            at=e.at, method=e.method, path=e.path, resource_type=e.resource_type,
            resource_name=e.resource_name, resource_id=e.resource_id, status=e.status,
            scim_type=e.scim_type, detail=e.detail, request_id=e.request_id)
            for e in examples]
    snapshot.unconfirmed = [
        Unconfirmed(d.id, d.created_at, d.failures) for d in session.execute(
            select(NotificationDigest).where(NotificationDigest.state == "unconfirmed",
                                             NotificationDigest.reported_in.is_(None))
            .order_by(NotificationDigest.id)).scalars()]
    _load_refusals(session, snapshot, now)
    if snapshot.total:
        entry = ProvisioningLogEntry
        requests, failed = session.execute(select(func.count(), func.count(entry.failure_kind))
                                           .where(entry.at >= snapshot.first_at,
                                                  entry.at <= snapshot.last_at)).one()
        snapshot.cycle_requests = requests + snapshot.replaced_requests
        snapshot.cycle_failures = failed + snapshot.replaced_requests
    return snapshot


def _refusal_rows(snapshot: Snapshot, *reasons: str):
    """The counted rows this snapshot reports: unreported, recent, there when it was
    taken (later requests count in new rows; log/auth_failures.py)."""
    t = AuthFailureCount
    low, top = snapshot.refusal_window
    return (t.digest_id == auth_failures.OPEN, t.minute >= low, t.id <= top,
            t.reason.in_(reasons))


def _load_refusals(session: Session, snapshot: Snapshot, now: datetime) -> None:
    t = AuthFailureCount
    top = session.execute(select(func.max(t.id))).scalar()
    if top is None:
        return
    snapshot.refusal_window = (auth_failures.minute_of(now - REPORT_HORIZON), top)
    replaced = _refusal_rows(snapshot, auth_failures.REPLACED_TOKEN)
    rows, requests, first_at, last_at = session.execute(select(
        func.count(), func.coalesce(func.sum(t.requests), 0), func.min(t.first_at),
        func.max(t.last_at)).where(*replaced)).one()
    if rows:
        snapshot.replaced_rows, snapshot.replaced_requests = rows, int(requests)
        snapshot.counts[TOKEN] = snapshot.counts.get(TOKEN, 0) + int(requests)
        snapshot.first_at = min(snapshot.first_at or first_at, first_at)
        snapshot.last_at = max(snapshot.last_at or last_at, last_at)
        examples = []
        for row in session.execute(select(t).where(*replaced).order_by(t.id)
                                   .limit(EXAMPLES_PER_KIND)).scalars():
            examples += [_refused_example(row, e) for e in row.examples or []]
        snapshot.examples[TOKEN] = examples[:EXAMPLES_PER_KIND]
    garbage = _refusal_rows(snapshot, *auth_failures.GARBAGE)
    rows = session.execute(select(func.count()).where(*garbage)).scalar_one()
    if not rows:
        return
    summary = auth_failures.summarize(session, *garbage)
    if snapshot.ids or snapshot.replaced_rows or snapshot.unconfirmed or (
            summary.requests >= NOTICE_MIN and _notice_allowed(session, now)):
        snapshot.garbage, snapshot.garbage_rows = summary, rows
        if not snapshot.ids and not snapshot.replaced_rows:
            snapshot.first_at = min(snapshot.first_at or summary.first_at, summary.first_at)


def _notice_allowed(session: Session, now: datetime) -> bool:
    """No digest summed up refused requests within NOTICE_INTERVAL."""
    last = session.execute(select(func.max(NotificationDigest.created_at)).where(
        NotificationDigest.unauthenticated > 0,
        NotificationDigest.state.in_(("sending", "sent", "unconfirmed")))).scalar()
    return last is None or now - last >= NOTICE_INTERVAL


def _refused_example(row: AuthFailureCount, example: dict) -> Example:
    try:
        at = datetime.fromisoformat(example["at"].replace("Z", "+00:00")).replace(tzinfo=None)
    except (KeyError, AttributeError, ValueError):
        at = row.first_at
    return Example(at=at, method=str(example.get("method", "")),
                   path=str(example.get("path", "")), resource_type=None,
                   resource_name=None, resource_id=None, status=401, scim_type=None,
                   detail=auth_failures.REASONS[auth_failures.REPLACED_TOKEN],
                   request_id=str(example.get("request_id", "")), client=row.client)


def _last_digest_at(session: Session) -> datetime | None:
    return session.execute(select(func.max(NotificationDigest.created_at)).where(
        NotificationDigest.state.in_(("sending", "sent", "unconfirmed")))).scalar()


class _Claim:
    """The commit point: claim the snapshot's failures for one digest, all or none."""

    def __init__(self, engine: Engine, snapshot: Snapshot, message_id: str, now: datetime):
        self.engine = engine
        self.snapshot = snapshot
        self.message_id = message_id
        self.now = now
        self.digest_id: int | None = None

    def __call__(self) -> None:
        snapshot = self.snapshot
        ids = snapshot.ids
        earlier = [u.digest_id for u in snapshot.unconfirmed]
        garbage = snapshot.garbage.requests if snapshot.garbage is not None else 0
        with write_intent(), Session(self.engine) as session, session.begin():
            digest = NotificationDigest(created_at=self.now, state="sending",
                                        failures=snapshot.total, message_id=self.message_id,
                                        unauthenticated=garbage)
            session.add(digest)
            session.flush()
            claimed = 0
            for start in range(0, len(ids), CHUNK):
                claimed += session.execute(update(ProvisioningLogEntry).where(
                    ProvisioningLogEntry.id.in_(ids[start:start + CHUNK]),
                    ProvisioningLogEntry.notify_pending.is_(True),
                ).values(notify_pending=False, digest_id=digest.id)).rowcount
            reported = session.execute(update(NotificationDigest).where(
                NotificationDigest.id.in_(earlier), NotificationDigest.reported_in.is_(None),
            ).values(reported_in=digest.id)).rowcount if earlier else 0
            counted = [(snapshot.replaced_rows, (auth_failures.REPLACED_TOKEN,)),
                       (snapshot.garbage_rows if garbage else 0, auth_failures.GARBAGE)]
            refusals_claimed = all(session.execute(update(AuthFailureCount).where(
                *_refusal_rows(snapshot, *reasons)).values(digest_id=digest.id)).rowcount
                == rows for rows, reasons in counted if rows)
            if claimed != len(ids) or reported != len(earlier) or not refusals_claimed:
                raise ClaimConflict()  # leaving the block rolls the claim back
            self.digest_id = digest.id

    def finish(self, state: str, error: str | None = None) -> None:
        """Record how it ended; on a database error the digest stays `sending` and is
        later reported as unconfirmed, never re-sent."""
        try:
            with write_intent(), Session(self.engine) as session, session.begin():
                session.execute(update(NotificationDigest)
                                .where(NotificationDigest.id == self.digest_id)
                                .values(state=state, error=error,
                                        sent_at=utcnow() if state == "sent" else None))
        except Exception:  # noqa: BLE001 - the email itself has gone; only bookkeeping failed
            log.exception("could not record digest %s as %s", self.digest_id, state)

    def undo(self, error: str) -> None:
        """The server refused the message: its failures are pending again."""
        with write_intent(), Session(self.engine) as session, session.begin():
            session.execute(update(ProvisioningLogEntry)
                            .where(ProvisioningLogEntry.digest_id == self.digest_id)
                            .values(notify_pending=True, digest_id=None))
            _reopen_counts(session, self.digest_id)
            session.execute(update(NotificationDigest)
                            .where(NotificationDigest.reported_in == self.digest_id)
                            .values(reported_in=None))
            session.execute(update(NotificationDigest)
                            .where(NotificationDigest.id == self.digest_id)
                            .values(state="rejected", error=error))


def _reopen_counts(session: Session, digest_id: int) -> None:
    """Give a refused digest's counted rows back to the open ones (added to any that
    counting has started since for the same minute, client and reason)."""
    t = AuthFailureCount
    claimed = session.execute(select(t).where(t.digest_id == digest_id)).scalars().all()
    rows = [{"minute": r.minute, "client": r.client, "reason": r.reason,
             "requests": r.requests, "first_at": r.first_at, "last_at": r.last_at,
             "examples": r.examples, "digest_id": auth_failures.OPEN} for r in claimed]
    if rows:
        session.execute(delete(t).where(t.digest_id == digest_id))
        auth_failures.upsert_counts(session, rows)
