"""Requests refused before the token check: counted, never stored one by one (issue 13).

Anyone who can reach the Tenant URL can send such requests, as many as they like and
with any path, filter or body. Stored as provisioning-log entries they filled the
disk (2.3 KB each, a thousand a second) and their text reached the administrator's
mailbox and terminal. So they are counted in `auth_failures`: one row per minute,
client address and reason, holding the number of requests and the first
`EXAMPLES` of them (time, method, the path's shape, request id). No filter, body,
header or user name is kept, and a refused request is never about a user or group.

Bounded three ways: a row's size (examples and path clipped), the rows per minute (at
most `CLIENTS_PER_MINUTE` addresses per reason get their own row, the others share
client `*`), and the table (`MAX_ROWS`, enforced by `prune`, oldest rows first).

A batch of the log writer becomes one read of the rows for its minutes and one
UPSERT per (minute, client, reason) it touches: a thousand garbage requests a second
cost a few statements per batch, not a row each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from ...storage.models import AuthFailureCount
from ..clock import to_rfc3339
from .entries import PREFIXES, RESOURCES, RequestFacts

# Why a request did not pass the token check.
REPLACED_TOKEN = "replaced_token"  # signed by this appliance, but not the active token
INVALID_TOKEN = "invalid_token"  # a token this appliance never signed (or another key)
NO_TOKEN = "no_token"  # no Authorization header, or not a Bearer token
UNKNOWN_URL = "unknown_url"  # no such SCIM URL or method: the token is never checked
REASONS = {
    REPLACED_TOKEN: "a Secret Token this appliance issued earlier, no longer active",
    INVALID_TOKEN: "a token this appliance never issued",
    NO_TOKEN: "no Secret Token",
    UNKNOWN_URL: "an unknown URL or method",
}
# Only a replaced token is worth an email on its own: Entra holds an old token.
GARBAGE = (INVALID_TOKEN, NO_TOKEN, UNKNOWN_URL)

EXAMPLES = 3
CLIENTS_PER_MINUTE = 20
OTHERS = "*"
MAX_ROWS = 20_000
PATH_LIMIT = 200
CLIENT_LIMIT = 64
METHOD_LIMIT = 16
OPEN = 0  # the digest_id of a row no email has reported yet: counting goes on in it


def minute_of(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


def _clip(text: str | None, limit: int) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def path_shape(path: str) -> str:
    """The path, with a resource id replaced by `{id}`: a refused request names no one."""
    for prefix in PREFIXES:  # the longer one first
        if path.startswith(prefix + "/"):
            parts = path[len(prefix) + 1:].split("/")
            if len(parts) == 2 and parts[0] in RESOURCES and parts[1] != ".search":
                return f"{prefix}/{parts[0]}/{{id}}"
            break
    return _clip(path, PATH_LIMIT)


def example(facts: RequestFacts) -> dict:
    return {"at": to_rfc3339(facts.at), "method": _clip(facts.method, METHOD_LIMIT),
            "path": path_shape(facts.path), "request_id": facts.request_id}


@dataclass
class _Tally:
    requests: int
    first_at: datetime
    last_at: datetime
    examples: list[dict] = field(default_factory=list)

    def add(self, requests: int, first_at: datetime, last_at: datetime,
            examples: list[dict]) -> None:
        self.requests += requests
        self.first_at = min(self.first_at, first_at)
        self.last_at = max(self.last_at, last_at)
        self.examples = (self.examples + examples)[:EXAMPLES]


def count_refusals(session: Session, refused: Sequence[RequestFacts]) -> int:
    """Add a batch of refused requests to the counts; returns how many rows it created.

    Runs in the log writer's transaction; the caller commits.
    """
    tallies: dict[tuple, _Tally] = {}
    for facts in refused:
        key = (minute_of(facts.at), _clip(facts.client or "unknown", CLIENT_LIMIT),
               facts.refusal)
        tally = tallies.get(key)
        if tally is None:
            tally = tallies[key] = _Tally(0, facts.at, facts.at)
        tally.add(1, facts.at, facts.at,
                  [example(facts)] if len(tally.examples) < EXAMPLES else [])
    if not tallies:
        return 0
    t = AuthFailureCount
    existing: dict[tuple, list] = {}  # the open rows of these minutes: their examples
    clients: dict[tuple, set] = {}  # (minute, reason) -> addresses with a row of their own
    for r in session.execute(select(t.minute, t.client, t.reason, t.examples, t.digest_id)
                             .where(t.minute.in_({k[0] for k in tallies}))):
        if r.digest_id == OPEN:
            existing[(r.minute, r.client, r.reason)] = r.examples or []
        if r.client != OTHERS:
            clients.setdefault((r.minute, r.reason), set()).add(r.client)
    merged: dict[tuple, _Tally] = {}
    for (minute, client, reason), tally in tallies.items():
        key = (minute, client, reason)
        own = clients.setdefault((minute, reason), set())
        if client != OTHERS and client not in own:
            if len(own) >= CLIENTS_PER_MINUTE:
                key = (minute, OTHERS, reason)
            else:
                own.add(client)
        if key in merged:
            merged[key].add(tally.requests, tally.first_at, tally.last_at, tally.examples)
        else:
            merged[key] = tally
    rows = [{"minute": m, "client": c, "reason": r, "requests": tally.requests,
             "first_at": tally.first_at, "last_at": tally.last_at,
             "examples": (existing.get((m, c, r), []) + tally.examples)[:EXAMPLES],
             "digest_id": OPEN} for (m, c, r), tally in merged.items()]
    upsert_counts(session, rows)
    return sum(1 for key in merged if key not in existing)


def upsert_counts(session: Session, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT (minute, client, reason, digest_id) DO UPDATE: the count
    is added in SQL, so two writers (processes on PostgreSQL) never lose one another's."""
    table = AuthFailureCount.__table__
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:  # pragma: no cover - the appliance runs on SQLite and PostgreSQL
        _update_or_insert(session, rows)
        return
    stmt = dialect_insert(table)
    new = stmt.excluded
    session.connection().execute(stmt.on_conflict_do_update(
        index_elements=[table.c.minute, table.c.client, table.c.reason, table.c.digest_id],
        set_={"requests": table.c.requests + new.requests,
              "first_at": case((new.first_at < table.c.first_at, new.first_at),
                               else_=table.c.first_at),
              "last_at": case((new.last_at > table.c.last_at, new.last_at),
                              else_=table.c.last_at),
              "examples": new.examples}), rows)


def _update_or_insert(session: Session, rows: list[dict]) -> None:
    t = AuthFailureCount
    for row in rows:
        done = session.execute(update(t).where(
            t.minute == row["minute"], t.client == row["client"], t.reason == row["reason"],
            t.digest_id == row["digest_id"],
        ).values(requests=t.requests + row["requests"], last_at=row["last_at"],
                 examples=row["examples"])).rowcount
        if not done:
            session.execute(insert(t.__table__).values(**row))


# -- reading -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """Refused requests over a period: per reason, how many addresses, the busiest."""

    requests: int
    addresses: int
    by_reason: dict[str, int]
    busiest: list[tuple[str, int]]  # (client, requests), most first
    first_at: datetime | None
    last_at: datetime | None


def summarize(session: Session, *conditions, busiest: int = 5) -> Summary:
    """Totals over the rows matching `conditions` (SQL aggregates, never the rows)."""
    t = AuthFailureCount
    by_reason = dict(session.execute(
        select(t.reason, func.sum(t.requests)).where(*conditions).group_by(t.reason)).all())
    total, first_at, last_at = session.execute(
        select(func.coalesce(func.sum(t.requests), 0), func.min(t.first_at),
               func.max(t.last_at)).where(*conditions)).one()
    addresses = session.execute(select(func.count(func.distinct(t.client)))
                                .where(*conditions)).scalar_one()
    top = session.execute(select(t.client, func.sum(t.requests).label("n"))
                          .where(*conditions).group_by(t.client)
                          .order_by(func.sum(t.requests).desc(), t.client)
                          .limit(busiest)).all()
    return Summary(int(total), addresses, {k: int(v) for k, v in by_reason.items()},
                   [(c, int(n)) for c, n in top], first_at, last_at)


def since(at: datetime):
    """The condition for rows of requests at or after `at`."""
    return AuthFailureCount.minute >= minute_of(at)


def list_counts(session: Session, *, since_at: datetime | None = None,
                limit: int = 50) -> list[AuthFailureCount]:
    """Rows newest first: a minute, a client, a reason, how many, the first examples."""
    t = AuthFailureCount
    query = select(t)
    if since_at is not None:
        query = query.where(since(since_at))
    query = query.order_by(t.minute.desc(), t.requests.desc(), t.id.desc()).limit(limit)
    return list(session.execute(query).scalars())


# -- pruning -----------------------------------------------------------------------------
def prune_counts(session: Session, now: datetime, retention_days: float, *,
                 max_rows: int = MAX_ROWS, chunk: int = 5000) -> int:
    """Delete rows older than the retention, then the oldest beyond `max_rows`; at most
    `chunk` of each per call (the caller repeats in new transactions)."""
    t = AuthFailureCount
    removed = 0
    if retention_days and retention_days > 0:
        old = select(t.id).where(t.minute < now - timedelta(days=retention_days)) \
            .order_by(t.id).limit(chunk)
        removed += session.execute(delete(t).where(t.id.in_(old))).rowcount or 0
    if max_rows > 0:
        boundary = session.execute(select(t.id).order_by(t.id.desc()).offset(max_rows)
                                   .limit(1)).scalar()
        if boundary is not None:
            oldest = select(t.id).where(t.id <= boundary).order_by(t.id).limit(chunk)
            removed += session.execute(delete(t).where(t.id.in_(oldest))).rowcount or 0
    return removed
