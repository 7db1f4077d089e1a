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
from ..log.failure_kinds import KINDS, ORDER, OTHER

EXAMPLES_PER_KIND = 5
WIDTH = 78


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


@dataclass(frozen=True)
class Unconfirmed:
    """An earlier digest the mail server may or may not have accepted."""

    digest_id: int
    created_at: datetime
    failures: int


@dataclass
class Snapshot:
    """Pending failures at one moment: the ids to claim and what the email says."""

    ids: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Example]] = field(default_factory=dict)
    first_at: datetime | None = None
    last_at: datetime | None = None
    unconfirmed: list[Unconfirmed] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.ids)

    @property
    def empty(self) -> bool:
        return not self.ids and not self.unconfirmed


def compose(snapshot: Snapshot, instance: str) -> tuple[str, str]:
    """(subject, body) for one digest."""
    instance = safe_text(instance)
    kinds = [k for k in ORDER if snapshot.counts.get(k)] + sorted(
        k for k in snapshot.counts if k not in ORDER)
    total = snapshot.total
    if total:
        summary = ", ".join(f"{snapshot.counts[k]} {k.replace('_', ' ')}" for k in kinds)
        subject = f"[scim-appliance] {total} provisioning failure{'s' * (total != 1)} " \
                  f"({summary})"
    else:
        subject = "[scim-appliance] an earlier failure email may not have arrived"
    lines: list[str] = []
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
    lines += ["", "-- "]
    lines += _wrap(f"scim-appliance at {instance}. Failures are mailed once, at most one "
                   "email per NOTIFY_DIGEST_SECONDS.")
    return subject, "\n".join(lines) + "\n"


def _kind(name: str):
    return KINDS.get(name) or KINDS[OTHER]


def _example(example: Example) -> list[str]:
    error = f"{example.status}" + (f" {example.scim_type}" if example.scim_type else "")
    out = [safe_text(f"  - {to_rfc3339(example.at)}  {example.method} {example.path}")]
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
