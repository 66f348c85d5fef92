"""Calendar of the reports: calendar weeks (Mon–Sun) in local time (:mod:`contracts.calendar`).

Weekly counters are keyed by the Monday (local date) of the week in which a fact happened, so a
report can sum "this week", "up to the end of last week" or a whole trend without reading students.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from contracts.calendar import day_start, local

LONG_WAIT_DAYS = 14
"""A student waiting *longer* than this many days is reported and alerted."""

Period = Literal["last_week", "this_week"]


def monday(t: datetime | date) -> date:
    """The Monday (local date) of the calendar week containing ``t``."""
    d = local(t).date() if isinstance(t, datetime) else t
    return d - timedelta(days=d.weekday())


def week_key(t: datetime) -> str:
    """Counter key of the week containing ``t``: the Monday's ISO date, e.g. ``"2026-11-23"``."""
    return monday(t).isoformat()


@dataclass(frozen=True)
class ReportWeek:
    """The calendar week a weekly report is about, and the instant its figures are "as of".

    ``last_week``: the complete week before ``as_of`` (the Monday-morning report);
    ``this_week``: the current week up to ``as_of`` (reports on demand, the dashboard).
    "Vorwoche" figures are as of ``start`` (the end of the week before).
    """

    start: date  # Monday
    as_of: datetime
    period: Period

    @classmethod
    def of(cls, as_of: datetime, period: Period = "this_week") -> ReportWeek:
        start = monday(as_of)
        if period == "last_week":
            start -= timedelta(days=7)
        return cls(start=start, as_of=as_of, period=period)

    @property
    def end(self) -> date:
        """Last day shown (Sunday, or today for the running week)."""
        sunday = self.start + timedelta(days=6)
        return min(sunday, local(self.as_of).date()) if self.period == "this_week" else sunday

    @property
    def key(self) -> str:
        return self.start.isoformat()

    @property
    def previous_key(self) -> str:
        return (self.start - timedelta(days=7)).isoformat()

    @property
    def start_instant(self) -> datetime:
        return day_start(self.start)

    @property
    def next_key(self) -> str:
        """Counter key of the week after: levels "at the end of the week" sum the weeks before it."""
        return (self.start + timedelta(days=7)).isoformat()

    @property
    def end_instant(self) -> datetime:
        """The instant the week's closing figures are as of: the next Monday 0:00 for a complete week,
        ``as_of`` for the running one."""
        return self.as_of if self.period == "this_week" else day_start(self.start + timedelta(days=7))

    @property
    def label(self) -> str:
        iso = self.start.isocalendar()
        return f"KW {iso.week}/{iso.year}"

    def as_context(self) -> dict[str, object]:
        return {"label": self.label, "start": self.start, "end": self.end}


def week_mondays(first: date, last: date) -> list[date]:
    """Mondays from the week of ``first`` to the week of ``last`` (inclusive)."""
    out, d = [], monday(first)
    while d <= last:
        out.append(d)
        d += timedelta(days=7)
    return out
