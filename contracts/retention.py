"""The one retention rule for students' data, used by every service (docs/adr/0004-retention-rule.md).

**Rule** (the processing record, docs/datenschutz.md §4 "Löschfristen"): a student's personal data are kept
until one year after the end of the school year in which the student left the programme.

**School year**: in Baden-Württemberg the school year begins on 1 August and ends on 31 July of the following
calendar year (§ 26 Schulgesetz für Baden-Württemberg, SchG: "Das Schuljahr beginnt am 1. August und endet am
31. Juli des folgenden Kalenderjahres").

**Instant**: the data of a student who left in 2026/27 (which ends with 31 July 2027) are kept to the end of
31 July 2028 in Ludwigsburg and expire at 1 August 2028 00:00 Europe/Berlin = 2028-07-31T22:00:00Z
(:func:`retention_end`). Every store of per-student data writes this instant as its DynamoDB TTL
(``expires_at``, epoch seconds: :func:`expires_at`) and treats an item as gone from that instant on
(:func:`is_expired`), since TTL deletes lazily.

**The school year the student left in** (:func:`school_year_left`): the school year of the exit date once an
exit is recorded; until then — in the programme, waiting, or withdrawn — the school year of the intake. Every
service learns both from the same events (``school_year`` in every intake and matching event, ``exit_date``
in ``AssignmentEnded``), so intake, matching and reporting write the same instant for the same student.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from contracts.calendar import day_start
from contracts.reference import school_year_bounds, school_year_of


def school_year_left(school_year: str, exit_date: date | None = None) -> str:
    """The school year in which the student left: that of ``exit_date`` if an exit is recorded, else
    ``school_year`` (the intake's)."""
    return school_year_of(exit_date) if exit_date is not None else school_year


def retention_end(school_year_left: str) -> datetime:
    """The instant the data of a student who left in ``school_year_left`` expire: one year after the end of
    that school year (31 July), i.e. 1 August of the year after, 00:00 Europe/Berlin (timezone-aware)."""
    _, last_day = school_year_bounds(school_year_left)
    return day_start(last_day.replace(year=last_day.year + 1) + timedelta(days=1))


def expires_at(school_year: str, exit_date: date | None = None) -> int:
    """The TTL (epoch seconds) of a student's data: :func:`retention_end` of :func:`school_year_left`."""
    return int(retention_end(school_year_left(school_year, exit_date)).timestamp())


def is_expired(expires_at: int | Decimal | None, now: datetime) -> bool:
    """True from the instant ``expires_at`` on (read-time filter: DynamoDB's TTL deletes expired items
    lazily, typically within days). ``None``: kept (no TTL)."""
    return expires_at is not None and int(expires_at) <= now.timestamp()
