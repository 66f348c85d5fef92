"""The goal-agreement figures are read bounded by what the reports show
(docs/adr/0023-bounded-report-reads.md): each companion's figures are one item of ``goals#<school year>``,
kept with ``ADD`` by the reporting consumer in the transaction of each fact and indexed by how far the
companion is behind; the per-school totals are counters of the year. The companions most behind (ties by
code) and the totals must equal an independent recount from every fact, whatever the order of the facts,
with moves between companions, exits and meetings recorded twice."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from avdual.runtime import LocalRuntime
from contracts import events as ev
from contracts.calendar import local_date
from contracts.casework import GOAL_MEETINGS_PER_YEAR, goal_meeting_due_dates
from contracts.reference import SCHOOLS
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.logic.casework_figures import casework_figures, goal_meetings
from services.reporting.logic.projection import Fact
from services.reporting.logic.reactions import apply_fact
from services.reporting.models.aggregates import CompanionGoals
from tests.integration.test_reporting_service import PROFILE

SY = "2026/27"
DUE = goal_meeting_due_dates(SY)
COMPANIONS = [f"B{c:02d}" for c in range(12)]
LIMIT = 4
SCHOOL_IDS = list(SCHOOLS)[:3]


@dataclass
class Truth:
    """What the test itself knows from the facts it made (no projection involved)."""

    companion: dict[str, str] = field(default_factory=dict)  # students with a companion now
    school: dict[str, str] = field(default_factory=dict)
    first_assigned: dict[str, datetime] = field(default_factory=dict)
    meetings: dict[str, set[date]] = field(default_factory=lambda: defaultdict(set))

    def per_companion(self) -> dict[str, CompanionGoals]:
        figures: dict[str, Counter[str]] = defaultdict(Counter)
        for iid, cid in self.companion.items():
            since = max(date(2026, 8, 1), local_date(self.first_assigned[iid]))
            figures[cid]["students"] += 1
            figures[cid]["done"] += min(GOAL_MEETINGS_PER_YEAR, len(self.meetings[iid]))
            for k, due in enumerate(DUE):
                figures[cid][f"due{k}"] += since <= due
        return {
            cid: CompanionGoals(cid, f["students"], f["done"], tuple(f[f"due{k}"] for k in range(len(DUE))))
            for cid, f in figures.items()
        }


def _facts(rnd: random.Random) -> tuple[list[Fact], Truth]:
    """80 students of three schools assigned between August and May, a quarter moved to another companion,
    some ended, 0–4 goal-agreement meetings each (one recorded twice); every fourth student's facts in
    reverse order."""
    truth, out = Truth(), []
    for i in range(80):
        iid = f"01KG{i:022d}"
        profile = {**PROFILE, "school_id": SCHOOL_IDS[i % 3]}
        place = {"intake_id": iid, "school_id": profile["school_id"], "school_year": SY}
        at = datetime(2026, 8, 20, 8, tzinfo=UTC) + timedelta(days=rnd.randint(0, 270))
        cid = rnd.choice(COMPANIONS[: 4 + i % 8])  # a few companions carry more students
        facts: list[Fact] = [
            ev.IntakeSubmittedData(intake_id=iid, submitted_at=at - timedelta(hours=1), **profile),
            ev.CompanionAssignedData(intake_id=iid, companion_id=cid, assigned_at=at, cost=1.0, **profile),
        ]
        truth.first_assigned[iid], truth.school[iid] = at, profile["school_id"]
        if rnd.random() < 0.25:
            cid = rnd.choice([c for c in COMPANIONS if c != cid])
            facts.append(
                ev.CompanionAssignedData(
                    intake_id=iid, companion_id=cid, assigned_at=at + timedelta(days=3), cost=1.0, **profile
                )
            )
        for j in range(rnd.choice((0, 0, 1, 2, 3, 4))):
            day = local_date(at) + timedelta(days=10 + 40 * j)
            meeting = ev.MeetingRecordedData(
                **place,
                companion_id=cid,
                meeting_id=f"01KM{i:011d}{j:011d}",
                meeting_date=day,
                meeting_type="goal_agreement",
                recorded_at=at + timedelta(days=10 + 40 * j),
            )
            facts += [meeting, meeting] if j == 1 else [meeting]
            if day <= date(2027, 7, 31):  # meetings of the school year count
                truth.meetings[iid].add(day)
        ended = rnd.random() < 0.15
        if ended:
            facts.append(
                ev.AssignmentEndedData(
                    **place,
                    companion_id=cid,
                    ended_at=at + timedelta(days=30),
                    exit_date=local_date(at + timedelta(days=30)),
                    reason="completed",
                    destination="dual_training",
                )
            )
        else:
            truth.companion[iid] = cid
        out += reversed(facts) if i % 4 == 0 else facts
    return out, truth


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AggregateStore, Truth]]:
    out: Path = tmp_path_factory.mktemp("goals")
    with LocalRuntime(stage="goals", log_level="ERROR", out_dir=out) as rt, rt.lock:
        store = AggregateStore()
        facts, truth = _facts(random.Random(26))
        for fact in facts:
            apply_fact(fact, store=store)
        yield store, truth


@pytest.mark.parametrize("passed", range(len(DUE) + 1))
def test_the_companions_most_behind_equal_a_recount_of_every_fact(
    world: tuple[AggregateStore, Truth], passed: int
) -> None:
    store, truth = world
    everyone = list(truth.per_companion().values())
    got = store.companion_goals(SY, passed=passed, limit=LIMIT)
    assert len(got) < len(everyone)  # bounded: not every companion was read
    assert goal_meetings(got, passed, limit=LIMIT) == goal_meetings(everyone, passed, limit=LIMIT)
    ranked = goal_meetings(everyone, passed, limit=len(everyone))
    assert len({r["behind"] for r in ranked}) > 2  # the data test something: the ranking is not flat


def test_the_totals_and_the_schools_equal_a_recount_of_every_fact(
    world: tuple[AggregateStore, Truth],
) -> None:
    store, truth = world
    counters = store.counters(SY)
    assert not [
        k for k in counters if any(f"#{c}" in k for c in COMPANIONS) and not k.startswith("companion#")
    ]
    as_of = date(2027, 3, 1)  # two due days have passed
    figures = casework_figures(counters, SY, as_of, suppressed=False)
    everyone = truth.per_companion().values()
    assert figures["goal_meetings_total"] == {
        "students": len(truth.companion),
        "done": sum(g.done for g in everyone),
        "due": sum(g.due_by(2) for g in everyone),
    }
    per_school: dict[str, Counter[str]] = defaultdict(Counter)
    for iid in truth.companion:
        since = max(date(2026, 8, 1), local_date(truth.first_assigned[iid]))
        row = per_school[SCHOOLS[truth.school[iid]]]
        row["students"] += 1
        row["done"] += min(GOAL_MEETINGS_PER_YEAR, len(truth.meetings[iid]))
        row["due"] += sum(1 for due in DUE[:2] if since <= due)
    table = figures["goal_meetings_by_school"]
    assert {label: tuple(cells) for label, cells in zip(table.row_labels, table.cells, strict=True)} == {
        name: (r["students"], r["done"], r["due"]) for name, r in per_school.items()
    }
