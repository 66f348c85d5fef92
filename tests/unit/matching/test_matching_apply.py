"""Unit tests (pure) of applying a rebalance step by step, and of the online-assignment helpers."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from avdual.random_pool import random_pool
from services.matching.logic import assignment_rules, flow_solver
from services.matching.logic import cost as cm
from services.matching.logic.apply_plan import MAX_CYCLE, schedule
from services.matching.logic.cost import Weights
from services.matching.models.matching import LeavePeriod
from tests.unit.matching.builders import companion, profile


def simulate(steps: list, load: Counter[str], caps: dict[str, int]) -> Counter[str]:
    """Apply steps to the loads, asserting no capacity is ever exceeded after any step."""
    load = Counter(load)
    for step in steps:
        for m in step.moves:
            if m.from_companion_id is not None:
                load[m.from_companion_id] -= 1
            if m.to_companion_id is not None:
                load[m.to_companion_id] += 1
        assert all(load[c] <= caps[c] for c in caps), step
        assert all(v >= 0 for v in load.values())
    return load


# ------------------------------------------------------------------------------------- schedule
@pytest.mark.parametrize("seed", range(40))
def test_schedule_orders_every_move_of_a_plan_without_exceeding_capacity(seed: int) -> None:
    rnd = random.Random(seed)
    students, companions = random_pool(rnd.randint(10, 80), rnd.randint(2, 8), seed=seed)
    plan = flow_solver.plan(students, companions, Weights(move_penalty=rnd.choice([0.0, 0.5, 2.5])))
    caps = {c.companion_id: c.capacity for c in companions}
    load = Counter(s.companion_id for s in students if s.companion_id is not None)
    steps, rest = schedule(plan.moves, {c: caps[c] - load[c] for c in caps})
    assert rest == []
    assert sorted(m.intake_id for s in steps for m in s.moves) == sorted(m.intake_id for m in plan.moves)
    final = simulate(steps, load, caps)
    assert +final == +Counter(v for v in plan.assignment.values() if v is not None)


def test_swap_between_full_companions_is_one_cycle_step() -> None:
    moves = [flow_solver.Move("s1", "A", "B", 1.0, 0.0), flow_solver.Move("s2", "B", "A", 1.0, 0.0)]
    steps, rest = schedule(moves, {"A": 0, "B": 0})
    assert rest == [] and len(steps) == 1 and steps[0].is_cycle
    assert {m.intake_id for m in steps[0].moves} == {"s1", "s2"}


def test_releases_go_first_and_free_room_is_used_before_cycles() -> None:
    moves = [
        flow_solver.Move("w", None, "A", None, 0.0),  # a waiting student gets A's slot …
        flow_solver.Move("x", "A", None, 1.0, None),  # … which a student at an inactive A frees first
        flow_solver.Move("y", "B", "C", 1.0, 0.5),
        flow_solver.Move("z", "C", "B", 1.0, 0.5),
    ]
    steps, rest = schedule(moves, {"A": 0, "B": 0, "C": 1})
    assert rest == []
    order = [tuple(m.intake_id for m in s.moves) for s in steps]
    assert order[0] == ("x",) and ("w",) in order
    assert all(len(s) == 1 for s in order)  # C's free slot breaks the B↔C cycle
    simulate(steps, Counter({"A": 1, "B": 1, "C": 1}), {"A": 1, "B": 1, "C": 2})


def test_unorderable_moves_are_returned_not_forced() -> None:
    ring = [
        flow_solver.Move(f"s{i}", f"C{i}", f"C{(i + 1) % (MAX_CYCLE + 1)}", 1.0, 0.0)
        for i in range(MAX_CYCLE + 1)
    ]
    steps, rest = schedule(ring, {f"C{i}": 0 for i in range(MAX_CYCLE + 1)})
    assert steps == [] and len(rest) == MAX_CYCLE + 1
    stale = [
        flow_solver.Move("s", "A", "B", 1.0, 0.0)
    ]  # B full, nobody leaves B: counters differ from the plan
    assert schedule(stale, {"A": 0, "B": 0}) == ([], stale)


# ------------------------------------------------------------------------------------- online helpers
def test_reference_day_is_the_start_date_else_the_school_year_start_but_never_a_past_day() -> None:
    at = datetime(2026, 6, 1, tzinfo=UTC)
    assert assignment_rules.reference_day(profile(), at) == date(2026, 8, 1)
    assert assignment_rules.reference_day(profile(), datetime(2026, 11, 2, tzinfo=UTC)) == date(2026, 11, 2)
    assert assignment_rules.reference_day(profile(start_date=date(2026, 9, 14)), at) == date(2026, 9, 14)
    # a start date already past: from today on (a leave that covered the start date has ended)
    later = datetime(2026, 10, 1, 8, tzinfo=UTC)
    assert assignment_rules.reference_day(profile(start_date=date(2026, 9, 14)), later) == date(2026, 10, 1)
    # the day in the county: 31 October 23:30 UTC is 1 November in Ludwigsburg
    assert assignment_rules.reference_day(profile(), datetime(2026, 10, 31, 23, 30, tzinfo=UTC)) == date(
        2026, 11, 1
    )


def test_waitlist_key_sorts_by_submission_time_then_id() -> None:
    t = datetime(2026, 9, 1, 8, tzinfo=UTC)
    keys = [
        assignment_rules.waitlist_key(t + timedelta(seconds=s), i, at=t)
        for s, i in [(5, "A"), (0, "Z"), (0, "B"), (60, "0")]
    ]
    assert sorted(keys) == [keys[2], keys[1], keys[0], keys[3]]


def test_submission_time_from_the_ulid() -> None:
    fallback = datetime(2026, 9, 1, tzinfo=UTC)
    assert assignment_rules.submitted_at_of("01JAAAAAAAAAAAAAAAAAAAAAAA", fallback=fallback).year == 2024
    assert assignment_rules.submitted_at_of("not-a-ulid", fallback=fallback) == fallback


def test_prepare_claim_uses_class_cohesion_and_the_leave_rule() -> None:
    at = datetime(2026, 10, 5, tzinfo=UTC)
    a, b = companion("A", used=10), companion("B", used=0)
    classmates = ["A", "A"]  # the companions of the student's assigned classmates
    got = assignment_rules.prepare_claim("s", profile(), [b, a], classmates, at=at)
    assert got is not None and got.companion_id == "A" and got.explanation["class_cohesion"] == 0
    assert got.cost == pytest.approx(sum(got.explanation.values()))
    other = assignment_rules.prepare_claim("s", profile(class_name="AVd2"), [a, b], [], at=at)
    assert other is not None and other.companion_id == "B"
    away = b.model_copy(
        update={"leave_periods": [LeavePeriod(start=date(2026, 10, 1), end=date(2026, 10, 9))]}
    )
    assert assignment_rules.prepare_claim("s", profile(class_name="AVd2"), [away], [], at=at) is None
    assert (
        assignment_rules.prepare_claim(
            "s", profile(class_name="AVd2", start_date=date(2026, 10, 12)), [away], [], at=at
        )
        is not None
    )


@pytest.mark.parametrize(
    ("field", "value", "inactive"),
    [
        ("active_from", date(2026, 10, 6), True),
        ("active_from", date(2026, 10, 5), False),
        ("active_until", date(2026, 10, 4), True),
        ("active_until", date(2026, 10, 5), False),
    ],
)
def test_active_period_bounds_are_inclusive(field: str, value: date, inactive: bool) -> None:
    c = companion("A", **{field: value})
    assert ("inactive" in cm.violations(profile(), c, day=date(2026, 10, 5))) is inactive
    assert cm.violations(profile(), c) == []  # no reference day: only the active flag


def test_rebalance_does_not_move_students_away_from_a_companion_on_leave_today() -> None:
    away = companion(
        "A", capacity=1, leave_periods=[LeavePeriod(start=date(2026, 10, 1), end=date(2026, 10, 9))]
    )
    b = companion("B", capacity=1)
    s = flow_solver.StudentState("s", profile(), "A", datetime(2026, 9, 1, tzinfo=UTC))
    w = flow_solver.StudentState("w", profile(class_name="AVd2"), None, datetime(2026, 9, 2, tzinfo=UTC))
    plan = flow_solver.plan([s, w], [away, b], today=date(2026, 10, 5))
    assert plan.assignment == {"s": "A", "w": "B"}  # s stays; w is not sent to the absent A
    plan2 = flow_solver.plan([w], [away], today=date(2026, 10, 5))
    assert plan2.assignment == {"w": None}


def test_component_follows_shared_companions() -> None:
    from services.matching.logic.resolve import component

    cs = [
        companion("A", school_ids=["EBS"]),
        companion("B", school_ids=["EBS", "CSS"]),
        companion("C", school_ids=["CSS"]),
        companion("D", school_ids=["RFS"]),
    ]
    schools, comps = component({"EBS"}, cs)
    assert schools == {"EBS", "CSS"} and [c.companion_id for c in comps] == ["A", "B", "C"]
    assert component({"RFS"}, cs) == ({"RFS"}, [cs[3]])
