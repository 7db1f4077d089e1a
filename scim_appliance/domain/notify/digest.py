"""The text of a failure digest: counts per kind, first examples, what to do.

Pure formatting: the notifier loads a `Snapshot` of pending failures from the database
and sends what `compose` returns. Plain text, because it is read in any mail client
and pasted into tickets. Every value that came from outside (names, ids, paths, error
details, client addresses) goes through `safe_text`, so none can start a line of its
own (a fake "What to do") or carry terminal escapes into a pasted ticket.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from datetime import datetime

from ..clock import to_rfc3339
from ..display import safe_text
from ..log.auth_failures import REASONS, Summary
from ..log.failure_kinds import KINDS, ORDER, OTHER

EXAMPLES_PER_KIND = 5
WIDTH = 78
# A stretch of requests "mostly fails" when more than half of at least this many
# failed: Entra quarantines a provisioning job that keeps failing (issue 16).
MOSTLY_FAILING_MIN = 5
QUARANTINE_DOC = ("https://learn.microsoft.com/entra/identity/app-provisioning/"
                  "application-provisioning-quarantine-status")


@dataclass(frozen=True)
class Example:
    at: datetime
    method: str
    path: str
    resource_type: str | None
    resource_name: str | None
    resource_id: str | None
    status: int
    scim_type: str | None
    detail: str | None
    request_id: str
    client: str | None = None


@dataclass(frozen=True)
class Unconfirmed:
    """An earlier digest the mail server may or may not have accepted."""

    digest_id: int
    created_at: datetime
    failures: int


@dataclass
class Snapshot:
    """Pending failures at one moment: what to claim and what the email says.

    `ids` are provisioning-log entries; requests refused with a replaced token are
    counted rows (log/auth_failures.py), `replaced_requests` of them in
    `replaced_rows` rows, reported under the token kind; `garbage` sums up the other
    refused requests when this email reports them (`garbage_rows` rows).
    """

    ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Example]] = field(default_factory=dict)
    first_at: datetime | None = None
    last_at: datetime | None = None
    unconfirmed: list[Unconfirmed] = field(default_factory=list)
    replaced_requests: int = 0
    replaced_rows: int = 0
    garbage: Summary | None = None
    garbage_rows: int = 0
    # Which counted rows it covers, (first minute, highest id): the claim takes
    # exactly the rows described.
    refusal_window: tuple | None = None
    # Every authenticated request (and replaced-token refusal) from the first pending
    # failure to the last, and how many of them failed.
    cycle_requests: int = 0
    cycle_failures: int = 0

    @property
    def total(self) -> int:
        return len(self.ids) + self.replaced_requests

    @property
    def mostly_failing(self) -> bool:
        return self.cycle_requests >= MOSTLY_FAILING_MIN and \
            2 * self.cycle_failures > self.cycle_requests

    @property
    def empty(self) -> bool:
        return not self.total and not self.unconfirmed and self.garbage is None


def compose(snapshot: Snapshot, instance: str) -> tuple[str, str]:
    """(subject, body) for one digest."""
    instance = safe_text(instance)
    kinds = [k for k in ORDER if snapshot.counts.get(k)] + sorted(
        k for k in snapshot.counts if k not in ORDER)
    total = snapshot.total
    garbage = snapshot.garbage
    if total:
        summary = ", ".join(f"{snapshot.counts[k]} {k.replace('_', ' ')}" for k in kinds)
        subject = f"[scim-appliance] {total} provisioning failure{'s' * (total != 1)} " \
                  f"({summary})"
    elif garbage is not None:
        subject = f"[scim-appliance] {garbage.requests} request" \
                  f"{'s' * (garbage.requests != 1)} refused without a valid Secret Token"
    else:
        subject = "[scim-appliance] an earlier failure email may not have arrived"
    lines: list[str] = []
    if total and snapshot.mostly_failing:
        lines += _mostly_failing(snapshot, kinds)
    if total:
        lines += _wrap(f"The SCIM appliance at {instance} refused {total} provisioning "
                       f"request{'s' * (total != 1)} from "
                       f"{to_rfc3339(snapshot.first_at)} to {to_rfc3339(snapshot.last_at)} "
                       "(UTC). Entra retries failed objects on its next cycle, so they keep "
                       "failing until the cause is fixed.")
        lines.append("")
        width = len(str(max(snapshot.counts.values())))
        lines += [f"  {snapshot.counts[k]:>{width}}  {_kind(k).title}" for k in kinds]
    for earlier in snapshot.unconfirmed:
        lines.append("")
        lines += _wrap(f"Note: an earlier failure email (digest {earlier.digest_id}, "
                       f"{earlier.failures} failure{'s' * (earlier.failures != 1)}, sent "
                       f"{to_rfc3339(earlier.created_at)}) may not have arrived: the mail "
                       "server's confirmation never came back, and the appliance does not "
                       "send failures twice. 'scim-appliance log --failures --since "
                       f"{_since(earlier.created_at)}' lists them.")
    for name in kinds:
        kind = _kind(name)
        count = snapshot.counts[name]
        lines += ["", f"== {kind.title}: {count} ==", "What to do:"]
        lines += _wrap(kind.advice, indent="  ")
        examples = snapshot.examples.get(name, [])
        if examples:
            lines.append("First examples:")
            for example in examples:
                lines += _example(example)
        if count > len(examples):
            lines.append(f"  (and {count - len(examples)} more)")
    if total:
        lines += ["", "Every failure, with its request id: scim-appliance log --failures "
                      f"--since {_since(snapshot.first_at)}"]
    if garbage is not None:
        lines += _garbage(garbage, instance, alone=not total)
    lines += ["", "-- "]
    lines += _wrap(f"scim-appliance at {instance}. Failures are mailed once, at most one "
                   "email per NOTIFY_DIGEST_SECONDS; requests refused without a valid "
                   "Secret Token are counted and summed up here, on their own at most "
                   "once a day.")
    return subject, "\n".join(lines) + "\n"


def _mostly_failing(snapshot: Snapshot, kinds: list[str]) -> list[str]:
    """The warning that opens a digest when most of a cycle failed, with the advice
    for the kind that failed most (fixing it first helps most)."""
    dominant = max(kinds, key=lambda k: snapshot.counts[k])
    kind = _kind(dominant)
    lines = _wrap(f"MOST REQUESTS FAILED: {snapshot.cycle_failures} of "
                  f"{snapshot.cycle_requests} requests from "
                  f"{to_rfc3339(snapshot.first_at)} to {to_rfc3339(snapshot.last_at)} "
                  "(UTC). Entra quarantines a provisioning job whose requests keep "
                  "failing, and then calls far less often (" + QUARANTINE_DOC + "). "
                  f"Most failed as: {kind.title} ({snapshot.counts[dominant]}).")
    lines.append("What to do first:")
    lines += _wrap(kind.advice, indent="  ")
    return lines + [""]


GARBAGE_ADVICE = (
    "Entra sends the Secret Token it was given, so these are not Entra unless that token "
    "was mistyped in its Admin Credentials or SECRET_KEY was changed (Test Connection "
    "in Entra then fails). Nothing was changed by them. If they go on, rate-limit "
    "failed authentication (401s) per client address at the reverse proxy, never "
    "Entra's own traffic: Entra quarantines a provisioning job that gets 429s (README, "
    "\"Provisioning log and failure email\"). 'scim-appliance log --unauthenticated' "
    "lists the counts per minute.")


def _garbage(garbage: Summary, instance: str, *, alone: bool) -> list[str]:
    """The paragraph on refused requests: counts by reason and address, never their text."""
    lines = [""]
    if alone:
        lines += _wrap(f"The SCIM appliance at {instance} refused {garbage.requests} "
                       f"request{'s' * (garbage.requests != 1)} without a valid Secret "
                       "Token. They were counted, not stored one by one.")
        lines.append("")
    lines.append(f"== Refused without a valid Secret Token: {garbage.requests} ==")
    width = len(str(max(garbage.by_reason.values(), default=0)))
    lines += [f"  {garbage.by_reason[reason]:>{width}}  with {REASONS.get(reason, reason)}"
              for reason in REASONS if garbage.by_reason.get(reason)]
    busiest = ", ".join(f"{'other addresses' if client == '*' else client} ({n})"
                        for client, n in garbage.busiest)
    lines += _wrap(safe_text(
        f"From {garbage.addresses} address{'es' * (garbage.addresses != 1)} between "
        f"{to_rfc3339(garbage.first_at)} and {to_rfc3339(garbage.last_at)} (UTC); most "
        f"from {busiest}."))
    lines.append("What to do:")
    lines += _wrap(GARBAGE_ADVICE, indent="  ")
    return lines


def _kind(name: str):
    return KINDS.get(name) or KINDS[OTHER]


def _example(example: Example) -> list[str]:
    error = f"{example.status}" + (f" {example.scim_type}" if example.scim_type else "")
    origin = f"  from {example.client}" if example.client else ""
    out = [safe_text(f"  - {to_rfc3339(example.at)}  {example.method} {example.path}"
                     f"{origin}")]
    if example.resource_name or example.resource_id:
        what = f"{example.resource_type or 'object'} {example.resource_name or ''}".rstrip()
        if example.resource_id and example.resource_id != example.resource_name:
            what += f" (id {example.resource_id})"
        out.append(f"    {safe_text(what)}")
    out += _wrap(safe_text(f"{error}: {example.detail or 'no detail'}"), indent="    ")
    out.append(f"    request id {safe_text(example.request_id)}")
    return out


def _since(value: datetime) -> str:
    return value.replace(microsecond=0).isoformat() + "Z"


def _wrap(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent,
                         break_long_words=False, break_on_hyphens=False) or [indent]
