"""The casework part of the projection (pure): internships and goal-agreement meetings merged into a student's
state from casework's events, and the counters they contribute (docs/adr/0022-casework.md).

Merge: an internship's dates (``InternshipStarted``) and its end (``InternshipEnded``) are each
last-writer-wins by the internship's ``revision``; goal-agreement meetings are a set by meeting id.
Commutative, associative and idempotent like the rest of :mod:`services.reporting.logic.projection`.

Counters (partition ``year#<school year>``) of a student in the programme (assigned or ended):

* ``intern#<school>#<0|1|2|3+>`` – internships that took place (not "nicht angetreten");
* ``inprog#<YYYY-MM>#<school>`` – the student was with a companion in that month (from the first assignment to
  the exit, within the school year), ``nointern#<YYYY-MM>#<school>`` – and had no internship in that month;
* of a student with a companion now, by school: ``goalschool#<school>#students`` – 1,
  ``goalschool#<school>#done`` – goal-agreement meetings of the school year (at most 3),
  ``goalschool#<school>#due#<k>`` – 1 if the student was with a companion before the k-th due day (a report
  counts the due days that have passed).

The same figures per companion (:func:`companion_goal_counters`: ``<companion>#students``, ``…#done``,
``…#due<k>``) are not counters of the year's partition, which both reports read whole: they go into the
companion's own item of the partition ``goals#<school year>``, indexed by how far the companion is behind,
so a report reads the companions most behind and nothing else (docs/adr/0023-bounded-report-reads.md).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from contracts.calendar import local_date, month_key, months
from contracts.casework import GOAL_MEETINGS_PER_YEAR, goal_meeting_due_dates
from contracts.events import InternshipEndedData, InternshipStartedData, MeetingRecordedData
from contracts.reference import school_year_bounds
from services.reporting.models.aggregates import IN_PROGRAMME, NO_INTERNSHIP, InternshipState, StudentState


def merge_casework(s: StudentState, fact: Any) -> None:
    """Merge a casework fact into ``s`` (in place; other facts change nothing here)."""
    if isinstance(fact, InternshipStartedData):
        i = s.internships.get(fact.internship_id) or InternshipState()
        if fact.revision > i.started_revision:
            i = i.model_copy(
                update={
                    "started_revision": fact.revision,
                    "start_date": fact.start_date,
                    "end_date": fact.end_date,
                }
            )
        s.internships = {**s.internships, fact.internship_id: i}
    elif isinstance(fact, InternshipEndedData):
        i = s.internships.get(fact.internship_id) or InternshipState()
        if fact.revision > i.ended_revision:
            i = i.model_copy(
                update={
                    "ended_revision": fact.revision,
                    "ended_on": fact.end_date,
                    "end_reason": fact.end_reason,
                    "days_completed": fact.days_completed,
                }
            )
        s.internships = {**s.internships, fact.internship_id: i}
    elif isinstance(fact, MeetingRecordedData) and fact.meeting_type == "goal_agreement":
        s.goal_meetings = {**s.goal_meetings, fact.meeting_id: fact.meeting_date}


def _month_end(m: date) -> date:
    return (m + timedelta(days=32)).replace(day=1) - timedelta(days=1)


def internship_bucket(n: int) -> str:
    return "3+" if n >= 3 else str(n)


def casework_counters(
    s: StudentState, *, status: str, companion: str | None, assigned_at: datetime | None
) -> Counter[str]:
    """The casework counters of a student in the programme (see the module docs)."""
    out: Counter[str] = Counter()
    sid = s.school_id
    took = [i for i in s.internships.values() if i.took_place]
    out[f"intern#{sid}#{internship_bucket(len(took))}"] += 1
    if assigned_at is None:
        return out
    first, last = school_year_bounds(s.school_year)
    since = max(first, local_date(assigned_at))
    until = min(last, s.exit_date) if status == "ended" and s.exit_date else last
    for m in months(since, until):
        out[f"{IN_PROGRAMME}#{month_key(m)}#{sid}"] += 1
        end = _month_end(m)
        busy = any(
            i.start_date is not None and i.start_date <= end and (i.last_day is None or i.last_day >= m)
            for i in took
        )
        if not busy:
            out[f"{NO_INTERNSHIP}#{month_key(m)}#{sid}"] += 1
    for key, n in _goal_figures(s, status=status, companion=companion, since=since).items():
        out[f"goalschool#{sid}#{key.replace('due', 'due#')}"] += n
    return out


def companion_goal_counters(
    s: StudentState, *, status: str, companion: str | None, assigned_at: datetime | None
) -> Counter[str]:
    """The student's part of its companion's goal-agreement item: ``<companion>#students`` (1),
    ``<companion>#done`` (meetings of the school year, at most 3) and ``<companion>#due<k>`` (1 if with the
    companion before the k-th due day); nothing without a companion now."""
    if assigned_at is None or not companion:
        return Counter()
    since = max(school_year_bounds(s.school_year)[0], local_date(assigned_at))
    return Counter(
        {
            f"{companion}#{k}": n
            for k, n in _goal_figures(s, status=status, companion=companion, since=since).items()
        }
    )


def _goal_figures(s: StudentState, *, status: str, companion: str | None, since: date) -> Counter[str]:
    """``students``, ``done`` and ``due<k>`` of a student with a companion now (empty otherwise)."""
    out: Counter[str] = Counter()
    if status != "assigned" or not companion:
        return out
    first, last = school_year_bounds(s.school_year)
    out["students"] = 1
    out["done"] = min(GOAL_MEETINGS_PER_YEAR, sum(1 for d in s.goal_meetings.values() if first <= d <= last))
    for k, due in enumerate(goal_meeting_due_dates(s.school_year)):
        if since <= due:
            out[f"due{k}"] = 1
    return Counter({k: n for k, n in out.items() if n})
