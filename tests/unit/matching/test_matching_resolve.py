"""Unit tests (pure) of the re-solve: the invariant an existing assignment keeps, the plan that uses a freed
place in a linked school, what a registry change requires, how the moves are explained and packed."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from services.matching.logic import cost as cm
from services.matching.logic import flow_solver
from services.matching.logic.apply_plan import Step, schedule, transactions
from services.matching.logic.plan_report import move_outs
from services.matching.logic.registry_change import changed_fields, plan_change
from services.matching.logic.resolve import MAKE_ROOM_WEIGHTS, ended_with_students, may_gain
from services.matching.models.matching import Assignment, LeavePeriod
from tests.unit.matching.builders import companion, profile

TODAY = date(2026, 10, 5)
T0 = datetime(2026, 9, 1, 8, tzinfo=UTC)


def state(
    n: int, school: str, companion_id: str | None, *, starts_on: date | None = None, **kw: object
) -> flow_solver.StudentState:
    """Student ``n`` of ``school`` (submitted ``n`` minutes after T0), assigned since ``starts_on``."""
    return flow_solver.StudentState(
        f"s{n:02d}",
        profile(school_id=school, class_name=f"K{n}", **kw),  # type: ignore[arg-type]
        companion_id,
        T0 + timedelta(minutes=n),
        starts_on if starts_on is not None else (date(2026, 9, 14) if companion_id else None),
    )


def record(s: flow_solver.StudentState) -> Assignment:
    return Assignment(
        intake_id=s.intake_id,
        status="assigned" if s.companion_id else "waitlisted",
        profile=s.profile,
        companion_id=s.companion_id,
        submitted_at=s.submitted_at,
        updated_at=T0,
    )


LEAVE = [LeavePeriod(start=date(2026, 10, 1), end=date(2026, 10, 31))]


# ------------------------------------------------------------------------------- the invariant of assignments
@pytest.mark.parametrize(
    ("change", "starts_on", "broken"),
    [
        ({}, date(2026, 9, 14), []),
        ({"school_ids": ["MPS"]}, date(2026, 9, 14), ["school"]),
        ({"active": False}, date(2026, 9, 14), ["inactive"]),
        ({"active_until": date(2026, 10, 4)}, date(2026, 9, 14), ["inactive"]),
        ({"active_until": date(2026, 10, 5)}, date(2026, 9, 14), []),  # last working day: still kept
        ({"leave_periods": LEAVE}, date(2026, 9, 14), []),  # begun: a substitute bridges the leave
        ({"leave_periods": LEAVE}, date(2026, 10, 12), ["inactive"]),  # starts during the leave
        ({"leave_periods": LEAVE}, None, []),  # start unknown: taken as begun
        ({"active_from": date(2026, 11, 1)}, date(2026, 10, 12), ["inactive"]),
    ],
)
def test_an_assignment_keeps_what_it_must_and_only_that(
    change: dict[str, object], starts_on: date | None, broken: list[str]
) -> None:
    c = companion("A", **change)
    assert cm.kept_violations(profile(), c, starts_on=starts_on, today=TODAY) == broken


def test_consent_withdrawn_breaks_the_assignment() -> None:
    rules = cm.kept_violations(profile(consent_present=False), companion("A"), starts_on=None, today=TODAY)
    assert rules == ["consent"]


def test_start_day_is_the_start_date_but_never_a_past_day() -> None:
    assert cm.start_day(profile(), date(2026, 6, 1)) == date(2026, 8, 1)
    assert cm.start_day(profile(start_date=date(2026, 9, 14)), TODAY) == TODAY
    assert cm.start_day(profile(start_date=date(2026, 11, 2)), TODAY) == date(2026, 11, 2)


# -------------------------------------------------------------------------- a freed place in a linked school
def linked_county() -> tuple[list, list[flow_solver.StudentState]]:
    """The finding: X serves only MPS and just got a free place; S serves MPS, OWS and EBS and is full of MPS
    students; OWS and EBS students wait, nobody of MPS does."""
    x = companion("X", school_ids=["MPS"], capacity=2, used=1)
    s = companion("S", school_ids=["MPS", "OWS", "EBS"], capacity=2, used=2)
    students = [
        state(1, "MPS", "X"),
        state(2, "MPS", "S"),
        state(3, "MPS", "S"),
        state(4, "OWS", None),
        state(5, "EBS", None),
    ]
    return [x, s], students


def test_a_freed_place_lets_the_longest_waiting_student_of_a_linked_school_in_with_one_move() -> None:
    comps, students = linked_county()
    plan = flow_solver.plan(students, comps, MAKE_ROOM_WEIGHTS, TODAY)
    assert Counter(v is not None for v in plan.assignment.values())[True] == 4
    assert plan.assignment["s04"] == "S" and plan.assignment["s05"] is None  # longest waiting first
    moved = [m for m in plan.moves if m.from_companion_id is not None]
    assert len(moved) == 1 and moved[0].from_companion_id == "S" and moved[0].to_companion_id == "X"
    rows = {
        o.intake_id: o for o in move_outs(plan, plan.moves, {s.intake_id: record(s) for s in students}, comps)
    }
    maker = rows[moved[0].intake_id]
    assert maker.why.startswith("Macht bei S Platz für eine wartende Person (…s04)")
    assert rows["s04"].why.startswith("Von der Warteliste") and rows["s04"].explanation
    assert rows["s04"].cost_after == pytest.approx(sum(rows["s04"].explanation.values()))


def test_nothing_moves_when_no_one_can_be_placed() -> None:
    comps, students = linked_county()
    students = [s for s in students if s.companion_id is not None]  # nobody waits
    assert flow_solver.plan(students, comps, MAKE_ROOM_WEIGHTS, TODAY).moves == []


def test_the_office_choice_is_moved_only_when_no_other_chain_exists() -> None:
    x = companion("X", school_ids=["MPS"], capacity=2, used=0)
    s = companion("S", school_ids=["MPS", "OWS"], capacity=2, used=2)
    office = flow_solver.StudentState(
        "s02", profile(school_id="MPS"), "S", T0, date(2026, 9, 14), pinned=True
    )
    other = state(3, "MPS", "S")
    waiting = state(4, "OWS", None)
    plan = flow_solver.plan([office, other, waiting], [x, s], MAKE_ROOM_WEIGHTS, TODAY)
    assert plan.assignment == {"s02": "S", "s03": "X", "s04": "S"}


def test_the_gate_reads_students_only_when_a_place_is_free_or_a_companion_ended() -> None:
    full = companion("A", capacity=1, used=1)
    assert not may_gain([full]) and may_gain([companion("B", capacity=2, used=1)])
    assert not may_gain([companion("C", capacity=2, used=0, active=False)])
    assert ended_with_students([companion("D", used=1, active_until=TODAY - timedelta(days=1))], TODAY)
    assert not ended_with_students([companion("D", used=0, active=False)], TODAY)


# ------------------------------------------------------------------------------- registry changes
def test_removing_a_school_moves_its_students_and_keeps_everyone_else() -> None:
    a = companion("A", school_ids=["RFS", "MPS"], capacity=3, used=3)
    b = companion("B", school_ids=["RFS"], capacity=2, used=0)
    students = [state(1, "RFS", "A"), state(2, "MPS", "A"), state(3, "MPS", "A"), state(4, "MPS", None)]
    after = a.model_copy(update={"school_ids": ["MPS"]})
    p = plan_change(
        a, after, [a, b], {s.intake_id: record(s) for s in students}, students=students, today=TODAY
    )
    assert [(m.intake_id, m.from_companion_id, m.to_companion_id) for m in p.required.moves] == [
        ("s01", "A", "B")
    ]
    assert p.to_waitlist == []
    assert [(m.intake_id, m.to_companion_id) for m in p.placements.moves] == [("s04", "A")]  # the freed place


def test_capacity_below_the_caseload_sends_the_latest_to_the_waitlist_when_nobody_has_room() -> None:
    a = companion("A", school_ids=["RFS"], capacity=3, used=3)
    students = [state(1, "RFS", "A"), state(2, "RFS", "A"), state(3, "RFS", "A")]
    after = a.model_copy(update={"capacity": 1})
    p = plan_change(a, after, [a], {s.intake_id: record(s) for s in students}, students=students, today=TODAY)
    assert p.to_waitlist == ["s02", "s03"]  # the earliest submitted keeps the place
    rows = move_outs(p.required, p.required.moves, p.records, p.companions, students=students, today=TODAY)
    assert all(r.to_companion_id is None and "Warteliste" in r.why for r in rows)


def test_a_leave_moves_only_students_who_have_not_started_and_notes_the_others() -> None:
    a = companion("A", school_ids=["RFS"], capacity=3, used=2)
    b = companion("B", school_ids=["RFS"], capacity=3, used=0)
    begun, later = state(1, "RFS", "A"), state(2, "RFS", "A", starts_on=date(2026, 10, 12))
    after = a.model_copy(update={"leave_periods": LEAVE})
    recs = {s.intake_id: record(s) for s in (begun, later)}
    p = plan_change(a, after, [a, b], recs, students=[begun, later], today=TODAY)
    assert [(m.intake_id, m.to_companion_id) for m in p.required.moves] == [("s02", "B")]
    assert any("während der Abwesenheit" in n for n in p.notes)


def test_changed_fields_compare_json_values() -> None:
    a = companion("A", languages=["tr"])
    same = a.model_dump(mode="json", exclude={"used", "revision"})
    assert changed_fields(a, same) == []
    assert changed_fields(a, {**same, "capacity": 10, "languages": ["tr", "ar"]}) == ["capacity", "languages"]
    assert "capacity" in changed_fields(None, same)


# ------------------------------------------------------------------------------- packing into transactions
def test_steps_are_packed_into_transactions_of_at_most_100_items() -> None:
    moves = [flow_solver.Move(f"w{i:03d}", None, f"C{i % 5}", None, 1.0) for i in range(120)]
    steps, rest = schedule(moves, {f"C{i}": 30 for i in range(5)})
    assert rest == []
    batches = transactions(steps)
    for batch in batches:
        ms = [m for s in batch for m in s.moves]
        assert 2 * len(ms) + len({m.to_companion_id for m in ms}) <= 100
    assert sum(len(b) for b in batches) == 120 and len(batches) == 3
    assert transactions([Step((moves[0],))], reserved=99) == [[Step((moves[0],))]]  # one step always fits
