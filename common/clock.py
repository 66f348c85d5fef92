"""The one clock of the platform: the only place that reads the system time."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time (UTC, timezone-aware)."""
    return datetime.now(UTC)
