"""Deliver the outbox: claim due deliveries with a database lease, send, record.

`DeliveryWorker.run_once(now)` is the whole algorithm; each server process runs it on
a background thread (server/background.py) every half second.

- Claim: a delivery is due when it is `pending`, its `next_attempt_at` has come, its
  lease is absent or expired, and no earlier delivery of the same resource to the same
  endpoint is still pending (in order per resource: event N+1 waits until N is
  delivered or has failed for good). The claim is `UPDATE ... SET lease_until WHERE
  id = ? AND (lease_until IS NULL OR lease_until < now)`: of several workers, processes
  or nodes exactly one gets the row.
- Send: outside any transaction (delivery.py), so a slow receiver holds no lock and
  no SCIM request waits for it.
- Record: a batch's outcomes in one transaction: delivered (2xx), or the next attempt
  after 5 s, 30 s, 2 min, 10 min, then hourly, until `retry_hours` after the event (or
  its redelivery): then `failed`.
- A receiver that fails is held: until the failed delivery's next attempt, this worker
  sends nothing else to that endpoint, so a receiver that is down (or hangs until the
  timeout) costs one attempt per back-off step, not one per waiting resource, and
  the other endpoints are not kept waiting behind it.
- A worker killed mid-delivery leaves its lease; once it expires another worker (or
  the restarted one) sends the delivery again. At least once, never lost: receivers
  deduplicate by the `webhook-id` header, the event id.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from ...storage.database import write_intent
from ...storage.models import Event, WebhookDelivery, WebhookEndpoint
from ..clock import to_rfc3339, utcnow
from .catalogue import TEST
from .delivery import Attempt, post, signed_headers
from .endpoints import signing_secrets
from .outbox import new_event_id

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (5, 30, 120, 600, 3600)
BATCH = 20
PRUNE_EVERY = timedelta(hours=1)


def backoff(attempts: int, schedule=BACKOFF_SECONDS) -> timedelta:
    """The wait after the `attempts`-th failed attempt."""
    return timedelta(seconds=schedule[min(attempts, len(schedule)) - 1])


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    endpoint_id: str
    event_id: str
    payload: str
    url: str
    secrets: list[str]
    attempts: int
    retry_from: datetime


def _owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class DeliveryWorker:
    def __init__(self, engine: Engine, *, retry_hours: float = 24, timeout: float = 10,
                 keep_days: float = 7, owner: str | None = None,
                 clock: Callable[[], datetime] = utcnow, send: Callable = post,
                 schedule=BACKOFF_SECONDS):
        self.engine = engine
        self.retry = timedelta(hours=retry_hours)
        self.timeout = timeout
        self.keep = timedelta(days=keep_days)
        self.owner = owner or _owner()
        self.clock = clock
        self._send = send
        self.schedule = schedule
        # Longer than any attempt can take (delivery.py cuts one off at the timeout).
        self.lease = timedelta(seconds=2 * timeout + 5)
        self._pruned_at: datetime | None = None
        self._held: dict[str, datetime] = {}  # endpoint id -> no attempts before

    def run_once(self, now: datetime | None = None, budget: float = 2.0) -> int:
        """Claim and send what is due, batch after batch for up to `budget` seconds (a
        resource's next event is due as soon as the one before is delivered); returns
        how many attempts were made."""
        fixed = now
        now = now or self.clock()
        started, attempts = time.monotonic(), 0
        while True:
            claimed = self.claim(now)
            outcomes = []
            for item in claimed:
                if self._held.get(item.endpoint_id, now) > now:
                    outcomes.append((item, None, now))  # its endpoint just failed: not now
                else:
                    outcomes.append((item, self.attempt(item), self.clock()))
            self.record_all(outcomes)
            attempts += len(claimed)
            if not claimed or time.monotonic() - started >= budget:
                break
            now = fixed or self.clock()
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            prune(self.engine, now, self.keep)
        return attempts

    def _due(self, now: datetime):
        d, earlier = WebhookDelivery, aliased(WebhookDelivery)
        blocked = exists().where(earlier.endpoint_id == d.endpoint_id,
                                 earlier.resource_key == d.resource_key,
                                 earlier.status == "pending", earlier.id < d.id)
        query = select(d.id).where(d.status == "pending", d.next_attempt_at <= now,
                                   or_(d.lease_until.is_(None), d.lease_until < now),
                                   ~blocked)
        held = [e for e, until in self._held.items() if until > now]
        if held:
            query = query.where(d.endpoint_id.not_in(held))
        return query.order_by(d.id).limit(BATCH)

    def claim(self, now: datetime) -> list[Claimed]:
        """Lease up to BATCH due deliveries for this worker."""
        with Session(self.engine) as session:
            if not session.execute(self._due(now)).first():
                return []  # the usual case: no write transaction every tick
        d = WebhookDelivery
        claimed = []
        with write_intent(), Session(self.engine) as session, session.begin():
            for delivery_id in session.execute(self._due(now)).scalars().all():
                got = session.execute(update(d).where(
                    d.id == delivery_id, d.status == "pending",
                    or_(d.lease_until.is_(None), d.lease_until < now),
                ).values(lease_until=now + self.lease, lease_owner=self.owner)).rowcount
                if got != 1:
                    continue  # another worker took it first
                row = session.execute(
                    select(d.attempts, d.retry_from, Event.id, Event.payload, WebhookEndpoint)
                    .join(Event, Event.seq == d.event_seq)
                    .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
                    .where(d.id == delivery_id)).one()
                claimed.append(Claimed(delivery_id, row[4].id, row.id, row.payload, row[4].url,
                                       signing_secrets(row[4], now), row.attempts,
                                       row.retry_from))
        return claimed

    def attempt(self, item: Claimed) -> Attempt:
        """Send one claimed delivery (no transaction open) and note the endpoint's hold."""
        headers = signed_headers(item.event_id, item.payload, item.secrets)
        try:
            attempt = self._send(item.url, item.payload, headers, self.timeout)
        except Exception as exc:  # noqa: BLE001 - a bug in sending must not stop the worker
            log.exception("webhook delivery %s", item.delivery_id)
            attempt = Attempt(None, f"{type(exc).__name__}")
        if attempt.ok:
            self._held.pop(item.endpoint_id, None)
        else:
            retry_at = self.clock() + backoff(item.attempts + 1, self.schedule)
            if retry_at <= item.retry_from + self.retry:  # not if it failed for good
                self._held[item.endpoint_id] = retry_at
        return attempt

    def deliver(self, item: Claimed) -> Attempt:
        attempt = self.attempt(item)
        self.record_all([(item, attempt, self.clock())])
        return attempt

    def _outcome(self, item: Claimed, attempt: Attempt | None, now: datetime) -> dict:
        if attempt is None:  # given back unattempted
            return {"lease_until": None, "lease_owner": None}
        attempts = item.attempts + 1
        values = {"attempts": attempts, "last_attempt_at": now, "last_status": attempt.status,
                  "last_error": attempt.error, "lease_until": None, "lease_owner": None}
        if attempt.ok:
            values.update(status="delivered", finished_at=now)
            return values
        retry_at = now + backoff(attempts, self.schedule)
        if retry_at > item.retry_from + self.retry:
            values.update(status="failed", finished_at=now)
        else:
            values.update(next_attempt_at=retry_at)
        return values

    def record_all(self, outcomes: list) -> None:
        """Record a batch's outcomes in one short transaction (fewer turns at the write
        gate the SCIM writes queue on); a crash before it only means they go again."""
        if not outcomes:
            return
        d = WebhookDelivery
        lost = []
        with write_intent(), Session(self.engine) as session, session.begin():
            for item, attempt, now in outcomes:
                done = session.execute(update(d).where(d.id == item.delivery_id,
                                                       d.lease_owner == self.owner)
                                       .values(**self._outcome(item, attempt, now))).rowcount
                if not done:
                    lost.append(item.delivery_id)
        for delivery_id in lost:
            log.warning("webhook delivery %s: the lease expired during the attempt; "
                        "another worker sends it again", delivery_id)


def prune(engine: Engine, now: datetime, keep: timedelta) -> None:
    """Forget finished deliveries older than `keep`, then events with none left."""
    before = now - keep
    d = WebhookDelivery
    with write_intent(), Session(engine) as session, session.begin():
        session.execute(delete(d).where(d.status != "pending", d.finished_at < before))
        session.execute(delete(Event).where(
            Event.at < before, ~exists().where(d.event_seq == Event.seq)))


@dataclass(frozen=True)
class DeliveryRow:
    id: int
    event_id: str
    event_type: str
    event_at: datetime
    endpoint_id: str
    url: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None


def list_deliveries(session: Session, *, failed: bool = False,
                    limit: int = 50, offset: int = 0) -> list[DeliveryRow]:
    """The newest deliveries first (only `failed` ones if asked); `offset` pages in SQL
    (the console), so a long history is never read whole."""
    d = WebhookDelivery
    query = (select(d, Event.id, Event.type, Event.at, WebhookEndpoint.url)
             .join(Event, Event.seq == d.event_seq)
             .join(WebhookEndpoint, WebhookEndpoint.id == d.endpoint_id)
             .order_by(d.id.desc()).offset(max(offset, 0)).limit(limit))
    if failed:
        query = query.where(d.status == "failed")
    return [DeliveryRow(r[0].id, r[1], r[2], r[3], r[0].endpoint_id, r[4], r[0].status,
                        r[0].attempts, r[0].next_attempt_at if r[0].status == "pending"
                        else None, r[0].last_status, r[0].last_error)
            for r in session.execute(query)]


def delivery_counts(session: Session) -> dict[str, int]:
    d = WebhookDelivery
    return dict(session.execute(select(d.status, func.count()).group_by(d.status)).all())


def count_deliveries(session: Session, *, failed: bool = False) -> int:
    """How many `list_deliveries` would page through (one SQL count)."""
    d = WebhookDelivery
    query = select(func.count()).select_from(d)
    if failed:
        query = query.where(d.status == "failed")
    return session.execute(query).scalar_one()


def counts_by_endpoint(session: Session) -> dict[str, dict[str, int]]:
    """endpoint id -> {status: deliveries}, for the endpoints' list (one grouped count)."""
    d = WebhookDelivery
    out: dict[str, dict[str, int]] = {}
    for endpoint_id, status, count in session.execute(
            select(d.endpoint_id, d.status, func.count()).group_by(d.endpoint_id, d.status)):
        out.setdefault(endpoint_id, {})[status] = count
    return out


class NothingToRedeliver(LookupError):
    pass


def redeliver(session: Session, event_id: str | None = None, *, failed: bool = False,
              now: datetime | None = None) -> int:
    """Send an event again (to every endpoint that had it), or every failed delivery,
    with a fresh retry period; returns how many deliveries are pending again."""
    now = now or utcnow()
    d = WebhookDelivery
    if event_id is not None:
        seq = session.execute(select(Event.seq).where(Event.id == event_id)).scalar()
        if seq is None:
            raise NothingToRedeliver(f"no event {event_id!r} is kept (finished events are "
                                     "kept WEBHOOK_KEEP_DAYS days)")
        where = and_(d.event_seq == seq, d.status != "pending")
    elif failed:
        where = d.status == "failed"
    else:
        raise ValueError("name an event id, or ask for the failed deliveries")
    return session.execute(update(d).where(where).values(
        status="pending", next_attempt_at=now, retry_from=now, lease_until=None,
        lease_owner=None, finished_at=None)).rowcount


def attempt_timeout(config) -> float:
    """WEBHOOK_TIMEOUT_SECONDS from the app's settings (a mapping), as `webhooks test` and
    the console's "Send test event" both read it."""
    return float(config.get("WEBHOOK_TIMEOUT_SECONDS") or 10)


def send_test(endpoint: WebhookEndpoint, timeout: float, now: datetime | None = None,
              send: Callable = post) -> tuple[str, Attempt]:
    """A signed `webhook.test` to one endpoint, now: not stored, never retried."""
    now = now or utcnow()
    event_id = new_event_id()
    payload = orjson.dumps({"id": event_id, "type": TEST, "timestamp": to_rfc3339(now),
                            "requestId": None, "data": {"endpointId": endpoint.id}}).decode()
    headers = signed_headers(event_id, payload, signing_secrets(endpoint, now))
    return event_id, send(endpoint.url, payload, headers, timeout)
