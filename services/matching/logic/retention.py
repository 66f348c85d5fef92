"""When matching's records of a student expire (``expires_at``, epoch seconds)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from contracts.reference import school_year_bounds, school_year_of


def expiry(school_year: str) -> int:
    """``expires_at`` (epoch seconds): one year after the end of ``school_year`` (31 July → the
    following 1 August a year later, 00:00 UTC)."""
    end = school_year_bounds(school_year)[1]
    return int((datetime(end.year + 1, end.month, end.day, tzinfo=UTC) + timedelta(days=1)).timestamp())


def exit_expiry(exit_date: date) -> int:
    return expiry(school_year_of(exit_date))
