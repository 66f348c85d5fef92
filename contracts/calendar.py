"""The county's calendar: which day an instant falls on, when a day begins, whole days between instants.

Dates of the domain (leave periods, a companion's ``active_from``/``active_until``, start and exit dates,
a birthday) are days in the county, Landkreis Ludwigsburg: time zone Europe/Berlin (CET/CEST). An instant
(request time, event time, a schedule's time; see docs/adr/0003-one-clock.md) falls on its *local* day, so a
leave that ends on 31 October is over at 1 November 00:00 in Ludwigsburg (23:00 UTC the day before, in
winter), the same instant on AWS and under the local runtime's simulated clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import tzdata  # noqa: F401  - zone data for runtimes without /usr/share/zoneinfo (Lambda) and for the bundler

TZ_NAME = "Europe/Berlin"


@cache
def tz() -> ZoneInfo:
    return ZoneInfo(TZ_NAME)


def local(at: datetime) -> datetime:
    """``at`` in local time (a naive datetime is taken as UTC)."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz())


def local_date(at: datetime) -> date:
    """The day in the county on which the instant ``at`` falls."""
    return local(at).date()


def day_start(day: date) -> datetime:
    """The instant ``day`` begins in the county (00:00 local time, timezone-aware)."""
    return datetime.combine(day, time(0), tzinfo=tz())


def whole_days(since: datetime, until: datetime) -> int:
    """Whole days (24 h) from ``since`` to ``until``, 0 if ``until`` is earlier: waiting days, time to
    assignment."""
    return max(0, (until - since).days)


def months(first: date, last: date) -> list[date]:
    """The first days of the months from ``first``'s to ``last``'s."""
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return out


def month_key(m: date) -> str:
    """``YYYY-MM`` of the month of ``m``."""
    return m.strftime("%Y-%m")
