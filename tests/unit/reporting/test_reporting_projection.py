"""Projection rules: merge is order- and duplicate-insensitive, counters follow the merged state."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    DestinationCompanyRecordedData,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
    StudentWaitlistedData,
)
from services.reporting.logic.projection import (
    Fact,
    companion,
    counters,
    deltas,
    merge,
    merge_all,
    status,
    waited_days_until_assignment,
    waitlist_item,
)

SETTINGS = settings(
    deadline=None, derandomize=True, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)
T0 = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)  # a Monday
ID = "01KAAAAAAAAAAAAAAAAAAAAAAA"
PROFILE = {
    "school_id": "RFS",
    "school_year": "2026/27",
    "class_name": "AVd1a",
    "age_band": "16",
    "gender": "weiblich",
    "german_support": True,
    "career_fields": ["kfz", "handel"],
}


def submitted(at: datetime = T0, **kw: object) -> IntakeSubmittedData:
    return IntakeSubmittedData(intake_id=ID, submitted_at=at, **{**PROFILE, **kw})  # type: ignore[arg-type]


def waitlisted(at: datetime) -> StudentWaitlistedData:
    return StudentWaitlistedData(intake_id=ID, waitlisted_at=at, reason="no_capacity", **PROFILE)  # type: ignore[arg-type]


def assigned(at: datetime, cid: str = "B01") -> CompanionAssignedData:
    return CompanionAssignedData(intake_id=ID, companion_id=cid, assigned_at=at, cost=1.0, **PROFILE)  # type: ignore[arg-type]


def reassigned(at: datetime, a: str = "B01", b: str = "B02") -> CompanionReassignedData:
    return CompanionReassignedData(
        intake_id=ID,
        from_companion_id=a,
        to_companion_id=b,
        school_id="RFS",
        school_year="2026/27",
        reassigned_at=at,
        cost_change=-1.0,
    )


def ended(at: datetime, destination: str = "dual_training") -> AssignmentEndedData:
    return AssignmentEndedData(
        intake_id=ID,
        companion_id="B02",
        school_id="RFS",
        school_year="2026/27",
        ended_at=at,
        exit_date=at.date(),
        reason="completed",
        destination=destination,
    )  # type: ignore[arg-type]


def klebeeffekt(at: datetime, former: bool = True) -> DestinationCompanyRecordedData:
    """Casework compared the exit company with the internships."""
    return DestinationCompanyRecordedData(
        intake_id=ID,
        companion_id="B02",
        school_id="RFS",
        school_year="2026/27",
        company_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
        destination="dual_training",
        former_internship_company=former,
        recorded_at=at,
    )


def withdrawn(at: datetime) -> IntakeWithdrawnData:
    return IntakeWithdrawnData(
        intake_id=ID, school_id="RFS", school_year="2026/27", withdrawn_at=at, reason="consent_withdrawn"
    )


def updated(at: datetime, **kw: object) -> IntakeUpdatedData:
    return IntakeUpdatedData(
        intake_id=ID, updated_at=at, matching_relevant=True, changed_fields=list(kw), **{**PROFILE, **kw}
    )  # type: ignore[arg-type]


def life(days_waiting: int = 3) -> list[Fact]:
    """Submitted → waitlisted → assigned → reassigned → class corrected → ended → exit company compared."""
    return [
        submitted(),
        waitlisted(T0 + timedelta(seconds=5)),
        assigned(T0 + timedelta(days=days_waiting)),
        reassigned(T0 + timedelta(days=20)),
        updated(T0 + timedelta(days=21), class_name="AVd1b"),
        ended(T0 + timedelta(days=60)),
        klebeeffekt(T0 + timedelta(days=60)),
    ]


def test_a_students_life_is_projected_step_by_step() -> None:
    facts = life()
    s = merge(None, facts[0])
    assert status(s) == "submitted"
    s = merge(s, facts[1])
    assert status(s) == "waitlisted" and s.waitlist_reason == "no_capacity"
    s = merge(s, facts[2])
    assert status(s) == "assigned" and companion(s) == "B01"
    s = merge(s, facts[3])
    assert companion(s) == "B02"
    s = merge(s, facts[4])
    assert s.class_name == "AVd1b"
    s = merge(s, facts[5])
    assert status(s) == "ended" and companion(s) is None and s.destination == "dual_training"
    assert counters(s)[("year#2026/27", "dest#dual_training#0")] == 1
    s = merge(s, facts[6])
    assert s.with_former_company is True
    assert waited_days_until_assignment(s) == 2  # waitlisted 5 s after submission, assigned on day 3
    c = counters(s)
    year = "year#2026/27"
    assert c[(year, "school#RFS#ended")] == 1 and c[(year, "school#RFS#intakes")] == 1
    assert c[(year, "class#RFS#AVd1b")] == 1 and (year, "class#RFS#AVd1a") not in c
    assert c[(year, "exit#RFS#completed")] == 1 and c[(year, "dest#dual_training#1")] == 1
    assert c[(year, "wait#1-7")] == 1 and c[(year, "career#kfz")] == 1
    assert c[(year, "new#2026-09-14#RFS#intakes")] == 1 and c[(year, "new#2026-09-14#RFS#waitlisted")] == 1
    # weekly net changes add up to the current status
    levels: Counter[str] = Counter()
    for (_, key), n in c.items():
        if key.startswith("lvl#"):
            levels[key.rsplit("#", 1)[1]] += n
    assert +levels == Counter({"ended": 1})


def test_every_order_and_duplicates_give_the_same_state_and_counters() -> None:
    facts = life()
    reference = merge_all(None, facts)
    assert reference is not None
    for order in itertools.islice(itertools.permutations(facts), 0, None, 7):
        s = merge_all(None, [*order, *order[:2]])  # with duplicates
        assert s is not None and s.content() == reference.content()
        assert counters(s) == counters(reference)


@st.composite
def fact_sets(draw: st.DrawFn) -> list[Fact]:
    """A random subset of plausible facts of one student (timestamps may tie)."""
    t = [T0 + timedelta(days=draw(st.integers(0, 40)), seconds=draw(st.integers(0, 2))) for _ in range(7)]
    pool: list[Fact] = [
        submitted(t[0]),
        waitlisted(t[1]),
        assigned(t[2]),
        reassigned(t[3]),
        updated(t[4], gender=draw(st.sampled_from(["maennlich", "divers"]))),
        ended(t[5]),
        withdrawn(t[6]),
        updated(t[4], gender="weiblich"),
    ]
    return draw(st.lists(st.sampled_from(pool), min_size=1, max_size=10))


@SETTINGS
@given(fact_sets(), st.randoms(use_true_random=False))
def test_merge_is_commutative_and_idempotent(facts: list[Fact], rnd) -> None:  # type: ignore[no-untyped-def]
    a = merge_all(None, facts)
    shuffled = facts + facts[: len(facts) // 2]
    rnd.shuffle(shuffled)
    b = merge_all(None, shuffled)
    assert a is not None and b is not None
    assert a.content() == b.content()
    assert counters(a) == counters(b)
    # incremental deltas add up to the counters of the final state
    total: Counter = Counter()
    s = None
    for f in shuffled:
        new = merge(s, f)
        total.update(deltas(s, new))
        s = new
    assert Counter({k: v for k, v in total.items() if v}) == counters(b)


def test_withdrawal_erases_the_profile_and_stops_counting_the_participant() -> None:
    s = merge_all(None, [submitted(), assigned(T0 + timedelta(minutes=1)), withdrawn(T0 + timedelta(days=2))])
    assert s is not None and status(s) == "withdrawn"
    assert s.class_name is None and s.gender is None and s.age_band is None and s.career_fields == []
    late = merge(s, updated(T0 + timedelta(days=3), class_name="X"))  # a late correction stays erased
    assert late.class_name is None
    keys = {k for _, k in counters(s)}
    assert "school#RFS#withdrawn" in keys
    assert not [
        k for k in keys if k.split("#")[0] in ("gender", "age", "german", "class", "career", "companion")
    ]


def test_nothing_after_withdrawal_or_an_exit_changes_the_status() -> None:
    s = merge_all(None, [submitted(), withdrawn(T0 + timedelta(hours=1)), assigned(T0 + timedelta(hours=2))])
    assert s is not None and status(s) == "withdrawn"
    s = merge_all(
        None,
        [
            submitted(),
            assigned(T0 + timedelta(hours=1)),
            ended(T0 + timedelta(days=9)),
            waitlisted(T0 + timedelta(days=10)),
        ],
    )
    assert s is not None and status(s) == "ended"


def test_waitlist_item_holds_periods_and_no_personal_data() -> None:
    s = merge_all(
        None, [submitted(), waitlisted(T0 + timedelta(seconds=1)), assigned(T0 + timedelta(days=16))]
    )
    assert s is not None
    w = waitlist_item(s)
    assert (
        w is not None
        and not w.waiting
        and w.periods == [(T0 + timedelta(seconds=1), T0 + timedelta(days=16))]
    )
    assert w.waiting_at(T0 + timedelta(days=15)) == T0 + timedelta(seconds=1)
    assert w.waiting_at(T0 + timedelta(days=17)) is None
    assert set(w.model_dump()) == {"intake_id", "school_id", "school_year", "class_name", "reason", "periods"}
    assert waitlist_item(merge(None, submitted())) is None


def test_weeks_are_local_calendar_weeks() -> None:
    sunday_late = datetime(2026, 9, 20, 22, 30, tzinfo=UTC)  # Monday 00:30 in Berlin (CEST)
    s = merge(None, submitted(sunday_late))
    assert ("year#2026/27", "new#2026-09-21#RFS#intakes") in counters(s)
    assert date(2026, 9, 21).weekday() == 0
