"""Timestamps as the appliance stores and renders them: naive UTC, millisecond precision.

Stored values are truncated to what `meta` renders, so a client that filters on
`meta.lastModified gt <value it read>` never sees the same resource again.

The clock can be moved forward (`advance`, `reset`): tests of what happens after hours
without a call (domain/events/silence.py) move it instead of waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    now = datetime.now(UTC).replace(tzinfo=None) + _offset
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def advance(delta: timedelta) -> None:
    """Move this process's clock forward by `delta` (tests)."""
    global _offset
    _offset += delta


def reset() -> None:
    """Back to the real time."""
    global _offset
    _offset = timedelta(0)


def to_rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"
