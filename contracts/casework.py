"""The companions' casework, declared once: the choices of internships, meetings and contacts, their German
labels, the 40-day internship target and the goal-agreement meeting cycle (docs/adr/0022-casework.md).

Casework (``services/casework``), reporting and the page ``/begleitung`` read these; the events of
``contracts.events`` carry the codes, never the labels or any free text.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from contracts.reference import school_year_bounds

#: Internship days a student should reach in the school year (about 2 days a week, or blocks).
INTERNSHIP_TARGET_DAYS = 40
#: Goal-agreement meetings (Zielvereinbarungsgespräche) per student and school year.
GOAL_MEETINGS_PER_YEAR = 3

InternshipModel = Literal["weekly_days", "block"]
INTERNSHIP_MODEL_LABELS: dict[str, str] = {"weekly_days": "Tage pro Woche", "block": "Blockpraktikum"}

Weekday = Literal["mo", "di", "mi", "do", "fr"]
WEEKDAY_LABELS: dict[str, str] = {
    "mo": "Montag",
    "di": "Dienstag",
    "mi": "Mittwoch",
    "do": "Donnerstag",
    "fr": "Freitag",
}

InternshipEndReason = Literal[
    "completed",
    "training_offered",
    "ended_by_student",
    "ended_by_company",
    "not_started",
    "illness",
    "other",
]
INTERNSHIP_END_REASON_LABELS: dict[str, str] = {
    "completed": "regulär beendet",
    "training_offered": "Ausbildungsplatz angeboten",
    "ended_by_student": "von der Schülerin / dem Schüler abgebrochen",
    "ended_by_company": "vom Betrieb beendet",
    "not_started": "nicht angetreten",
    "illness": "Krankheit",
    "other": "sonstiger Grund",
}

MeetingType = Literal["goal_agreement", "parents", "company", "teachers", "other"]
MEETING_TYPE_LABELS: dict[str, str] = {
    "goal_agreement": "Zielvereinbarungsgespräch",
    "parents": "Elterngespräch",
    "company": "Betriebskontakt",
    "teachers": "Lehrkräfte",
    "other": "sonstiges",
}

ParticipantRole = Literal[
    "student", "guardian", "companion", "teacher", "school_social_work", "company", "agency", "other"
]
PARTICIPANT_ROLE_LABELS: dict[str, str] = {
    "student": "Schülerin / Schüler",
    "guardian": "Erziehungsberechtigte",
    "companion": "Begleitung",
    "teacher": "Lehrkraft",
    "school_social_work": "Schulsozialarbeit",
    "company": "Betrieb",
    "agency": "Agentur für Arbeit",
    "other": "andere",
}

#: Day and month each goal-agreement meeting of a school year is due by: the first after the start
#: (end of October), the second at the half-year (end of February), the third before the end (end of May).
GOAL_MEETING_DUE: tuple[tuple[int, int], ...] = ((10, 31), (2, 28), (5, 31))


def goal_meeting_due_dates(school_year: str) -> list[date]:
    """The days the 1st, 2nd and 3rd goal-agreement meeting of ``school_year`` are due by."""
    first, last = school_year_bounds(school_year)
    out = []
    for month, day in GOAL_MEETING_DUE:
        year = first.year if month >= first.month else last.year
        out.append(date(year, month, day))
    return out


def goal_meetings_due(school_year: str, *, since: date, on: date) -> int:
    """How many goal-agreement meetings are due by ``on`` for a student in the programme since ``since``:
    the due days of the school year that have passed and fall after the student's first day."""
    return sum(1 for d in goal_meeting_due_dates(school_year) if since <= d < on)


def next_goal_meeting_due(school_year: str, *, since: date, done: int) -> date | None:
    """The day the next goal-agreement meeting is due by, after ``done`` meetings, for a student in the
    programme since ``since``: the ``done``-th due day, but none that passed before the first day (a student
    who joins in December has the next one by the half-year); ``None``: all done."""
    dates = goal_meeting_due_dates(school_year)
    k = max(done, sum(1 for d in dates if d < since))
    return dates[k] if k < len(dates) else None
