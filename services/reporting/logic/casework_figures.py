"""Casework figures (pure) from the counters of :mod:`services.reporting.logic.casework_counters` and the
exit counters: internships per student, students without an internship by month, goal-agreement meetings done
vs due per companion, and the Klebeeffekt (the share of training starts in a former internship company).

Goal-agreement meetings: per school (students with a companion now, meetings done, due by the day of the
report) in both reports; per companion only inside the office (the Wochenbericht and the dashboard), and
bounded like the caseload list: the :data:`GOAL_LIST_LIMIT` companions most behind (due − done; ties by code),
read from the index of the companions' goal items (``dal.aggregates.AggregateStore.companion_goals``), the
totals over everyone from the per-school counters. The Schuljahresbericht goes to the steering group and
shows no figures per companion: how many meetings a named member of staff held is a performance figure
about an employee, not a statistic of the programme (docs/adr/0023-bounded-report-reads.md).

Where they leave the office — the Schuljahresbericht — the statistics are suppressed like every other table
(1–2 → „<3“, secondary suppression); the dashboard and the Wochenbericht are the office's own and show the
counts as they are (docs/adr/0016-exact-figures-inside-the-office.md, docs/adr/0022-casework.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.calendar import month_key, months
from contracts.casework import GOAL_MEETINGS_PER_YEAR, goal_meeting_due_dates
from contracts.reference import SCHOOLS, school_year_bounds
from services.reporting.logic.suppression import (
    Display,
    SuppressedTable,
    SuppressionError,
    exact_table,
    share,
    suppress_table,
    suppress_value,
)
from services.reporting.models.aggregates import IN_PROGRAMME, NO_INTERNSHIP, CompanionGoals

BUCKETS = ("0", "1", "2", "3+")
BUCKET_LABELS = ["kein Praktikum", "1 Praktikum", "2 Praktika", "3 und mehr"]
MONTH_COLUMNS = ["in Begleitung", "davon ohne Praktikum"]
GOAL_COLUMNS = ["Schüler/innen", "geführt", "fällig"]
GOAL_LIST_LIMIT = 60
"""At most this many companions in the goal-agreement list (the most behind, in every format of the
Wochenbericht and on the dashboard); the totals cover everyone."""
MONTH_NAMES = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]
#: Training starts the Klebeeffekt is measured on: in-company (dual) training.
KLEBE_DESTINATIONS = ("dual_training",)


@dataclass
class CaseworkCounts:
    intern: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    inprog: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    nointern: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    goals: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    """school → ``students`` / ``done`` / ``due#<k>`` (goal agreements of students with a companion now)"""
    dest: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def parse(cls, counters: Mapping[str, int]) -> CaseworkCounts:
        c = cls()
        for key, n in counters.items():
            p = key.split("#")
            if p[0] == "intern" and len(p) == 3:
                c.intern[p[1]][p[2]] += n
            elif p[0] in (IN_PROGRAMME, NO_INTERNSHIP) and len(p) == 3:
                getattr(c, p[0])[p[1]][p[2]] += n
            elif p[0] == "goalschool" and len(p) in (3, 4):
                c.goals[p[1]]["#".join(p[2:])] += n
            elif p[0] == "dest" and len(p) == 3:
                c.dest[(p[1], int(p[2]))] += n
        return c


def month_label(m: date) -> str:
    return f"{MONTH_NAMES[m.month - 1]} {m.year}"


def report_months(school_year: str, as_of: date) -> list[date]:
    first, last = school_year_bounds(school_year)
    return months(first, min(last, as_of)) if as_of >= first else []


def internships_per_student(c: CaseworkCounts, *, suppressed: bool) -> SuppressedTable | None:
    schools = [s for s in SCHOOLS if sum(c.intern[s].values())]
    if not schools:
        return None
    matrix = [[c.intern[s][b] for b in BUCKETS] for s in schools]
    labels = [SCHOOLS[s] for s in schools]
    if suppressed:
        return suppress_table(labels, BUCKET_LABELS, matrix)
    return exact_table(labels, BUCKET_LABELS, matrix)


def without_internship_by_month(
    c: CaseworkCounts, school_year: str, as_of: date, *, suppressed: bool
) -> SuppressedTable | None:
    ms = [m for m in report_months(school_year, as_of) if sum(c.inprog[month_key(m)].values())]
    if not ms:
        return None
    matrix = [[sum(c.inprog[month_key(m)].values()), sum(c.nointern[month_key(m)].values())] for m in ms]
    labels = [month_label(m) for m in ms]
    if suppressed:  # the columns do not add up (the second is part of the first)
        return suppress_table(labels, MONTH_COLUMNS, matrix, row_totals=False, col_totals=False)
    return exact_table(labels, MONTH_COLUMNS, matrix, row_totals=False, col_totals=False)


def passed_due_days(school_year: str, as_of: date) -> int:
    """How many of the school year's goal-agreement due days lie before ``as_of``."""
    return sum(1 for d in goal_meeting_due_dates(school_year) if d < as_of)


def goal_meetings(
    goals: Sequence[CompanionGoals],
    passed: int,
    names: Mapping[str, str] | None = None,
    *,
    limit: int = GOAL_LIST_LIMIT,
) -> list[dict[str, Any]]:
    """The ``limit`` companions with students most behind (due − done once ``passed`` due days have passed;
    ties by code): students, meetings done (at most 3 each), due, share and the name. Office-internal."""
    ranked = sorted((g for g in goals if g.students > 0), key=lambda g: (-g.behind(passed), g.companion_id))[
        :limit
    ]
    names = names or {}
    return [
        {
            "companion_id": g.companion_id,
            "name": names.get(g.companion_id, g.companion_id),
            "students": g.students,
            "done": g.done,
            "due": g.due_by(passed),
            "behind": g.behind(passed),
            "share": share(g.done, g.due_by(passed)) if g.due_by(passed) else "–",
        }
        for g in ranked
    ]


def goal_meetings_by_school(c: CaseworkCounts, passed: int, *, suppressed: bool) -> SuppressedTable | None:
    """Students with a companion now, meetings done and due per school, with the totals over every school
    (suppressed where it leaves the office)."""
    schools = [sid for sid in SCHOOLS if c.goals[sid]["students"]]
    if not schools:
        return None
    matrix = [
        [
            c.goals[sid]["students"],
            c.goals[sid]["done"],
            sum(c.goals[sid][f"due#{k}"] for k in range(min(passed, GOAL_MEETINGS_PER_YEAR))),
        ]
        for sid in schools
    ]
    labels = [SCHOOLS[sid] for sid in schools]
    if not suppressed:  # the columns do not add up (done and due are meetings, not students)
        return exact_table(labels, GOAL_COLUMNS, matrix, row_totals=False)
    try:
        return suppress_table(labels, GOAL_COLUMNS, matrix, row_totals=False)
    except SuppressionError:
        return None


def klebeeffekt(c: CaseworkCounts, *, suppressed: bool) -> dict[str, Display | str]:
    starts = sum(c.dest[(d, f)] for d in KLEBE_DESTINATIONS for f in (0, 1))
    stuck = sum(c.dest[(d, 1)] for d in KLEBE_DESTINATIONS)
    shown_starts, shown_stuck = (
        (suppress_value(starts), suppress_value(stuck)) if suppressed else (starts, stuck)
    )
    return {
        "training_starts": shown_starts,
        "in_former_internship_company": shown_stuck,
        "share": share(shown_stuck, shown_starts),
    }


def casework_figures(
    counters: Mapping[str, int],
    school_year: str,
    as_of: date,
    *,
    suppressed: bool,
    goals: Sequence[CompanionGoals] = (),
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The casework figures of a school year as of the day ``as_of``; ``suppressed`` where they leave the
    office (then no figures per companion). ``goals``: the companions most behind as the store read them for
    ``as_of`` (``AggregateStore.companion_goals``), ``names``: how the office names them."""
    c = CaseworkCounts.parse(counters)
    passed = passed_due_days(school_year, as_of)
    by_school = goal_meetings_by_school(c, passed, suppressed=suppressed)
    totals = (
        dict(zip(("students", "done", "due"), by_school.col_totals or (), strict=False)) if by_school else {}
    )
    with_internship = sum(n for s in c.intern.values() for b, n in s.items() if b != "0")
    participants = sum(n for s in c.intern.values() for n in s.values())
    return {
        "internships_per_student": internships_per_student(c, suppressed=suppressed),
        "without_internship_by_month": without_internship_by_month(
            c, school_year, as_of, suppressed=suppressed
        ),
        "goal_meetings": [] if suppressed else goal_meetings(goals, passed, names),
        "goal_meetings_limit": GOAL_LIST_LIMIT,
        "goal_meetings_by_school": by_school,
        "goal_meetings_total": {k: totals.get(k, 0) for k in ("students", "done", "due")},
        "goal_meetings_share": share(totals.get("done", 0), totals.get("due", 0))
        if totals.get("due")
        else "–",
        "with_internship": suppress_value(with_internship) if suppressed else with_internship,
        "participants": suppress_value(participants) if suppressed else participants,
        "klebeeffekt": klebeeffekt(c, suppressed=suppressed),
    }
