"""Timestamps as the appliance stores and renders them: naive UTC, millisecond precision.

Stored values are truncated to what `meta` renders, so a client that filters on
`meta.lastModified gt <value it read>` never sees the same resource again.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    now = datetime.now(UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def to_rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"
