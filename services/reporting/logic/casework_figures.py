"""Casework figures (pure) from the counters of :mod:`services.reporting.logic.casework_counters` and the
exit counters: internships per student, students without an internship by month, goal-agreement meetings done
vs due per companion, and the Klebeeffekt (the share of training starts in a former internship company).

Where they leave the office — the Schuljahresbericht — the statistics are suppressed like every other table
(1–2 → „<3“, secondary suppression); the dashboard and the Wochenbericht are the office's own and show the
counts as they are (docs/adr/0016-exact-figures-inside-the-office.md, docs/adr/0022-casework.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from contracts.casework import goal_meeting_due_dates
from contracts.reference import SCHOOLS, school_year_bounds
from services.reporting.logic.casework_counters import month_key, months
from services.reporting.logic.suppression import (
    Display,
    SuppressedTable,
    exact_table,
    share,
    suppress_table,
    suppress_value,
)

BUCKETS = ("0", "1", "2", "3+")
BUCKET_LABELS = ["kein Praktikum", "1 Praktikum", "2 Praktika", "3 und mehr"]
MONTH_COLUMNS = ["in Begleitung", "davon ohne Praktikum"]
MONTH_NAMES = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"]
#: Training starts the Klebeeffekt is measured on: in-company (dual) training.
KLEBE_DESTINATIONS = ("dual_training",)


@dataclass
class CaseworkCounts:
    intern: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    inprog: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    nointern: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    goaldone: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    goaldue: dict[str, dict[int, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    students: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    dest: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def parse(cls, counters: Mapping[str, int]) -> CaseworkCounts:
        c = cls()
        for key, n in counters.items():
            p = key.split("#")
            if p[0] == "intern" and len(p) == 3:
                c.intern[p[1]][p[2]] += n
            elif p[0] in ("inprog", "nointern") and len(p) == 3:
                getattr(c, p[0])[p[1]][p[2]] += n
            elif p[0] == "goaldone" and len(p) == 2:
                c.goaldone[p[1]] += n
            elif p[0] == "goaldue" and len(p) == 3:
                c.goaldue[p[1]][int(p[2])] += n
            elif p[0] == "companion" and len(p) == 3 and p[2] == "assigned":
                c.students[p[1]] += n
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


def goal_meetings(
    c: CaseworkCounts, school_year: str, as_of: date, *, suppressed: bool = False
) -> list[dict[str, Any]]:
    """Per companion with students now: students, meetings done (at most 3 each) and due by ``as_of``."""
    passed = [k for k, d in enumerate(goal_meeting_due_dates(school_year)) if d < as_of]
    rows = []
    for cid in sorted(set(c.students) | set(c.goaldone) | set(c.goaldue)):
        students = c.students.get(cid, 0)
        if students <= 0:
            continue
        due, done = sum(c.goaldue[cid][k] for k in passed), c.goaldone.get(cid, 0)
        shown = [suppress_value(v) if suppressed else v for v in (students, done, due)]
        rows.append(
            {
                "companion_id": cid,
                "students": shown[0],
                "done": shown[1],
                "due": shown[2],
                "share": share(shown[1], shown[2]) if due else "–",
            }
        )
    return rows


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
    counters: Mapping[str, int], school_year: str, as_of: date, *, suppressed: bool
) -> dict[str, Any]:
    """The casework figures of a school year as of the day ``as_of``; ``suppressed`` where they leave the
    office."""
    c = CaseworkCounts.parse(counters)
    raw = goal_meetings(c, school_year, as_of)
    done, due = sum(g["done"] for g in raw), sum(g["due"] for g in raw)
    with_internship = sum(n for s in c.intern.values() for b, n in s.items() if b != "0")
    participants = sum(n for s in c.intern.values() for n in s.values())
    return {
        "internships_per_student": internships_per_student(c, suppressed=suppressed),
        "without_internship_by_month": without_internship_by_month(
            c, school_year, as_of, suppressed=suppressed
        ),
        "goal_meetings": goal_meetings(c, school_year, as_of, suppressed=True) if suppressed else raw,
        "goal_meetings_total": {
            "done": suppress_value(done) if suppressed else done,
            "due": suppress_value(due) if suppressed else due,
        },
        "with_internship": suppress_value(with_internship) if suppressed else with_internship,
        "participants": suppress_value(participants) if suppressed else participants,
        "klebeeffekt": klebeeffekt(c, suppressed=suppressed),
    }
