"""Reporting's casework projection (pure): internships and goal meetings merged in any order, the counters
they give, and the figures (as counted on the dashboard, suppressed in reports)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    InternshipEndedData,
    InternshipStartedData,
    MeetingRecordedData,
)
from services.reporting.logic.casework_figures import casework_figures
from services.reporting.logic.projection import Fact, counters, merge_all
from services.reporting.models.aggregates import CompanionGoals

T0 = datetime(2026, 9, 14, 8, tzinfo=UTC)
ID, I1, I2 = "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FA1", "01ARZ3NDEKTSV4RRFFQ69G5FA2"
COMPANY = "01ARZ3NDEKTSV4RRFFQ69G5FAC"
PLACE = {"intake_id": ID, "companion_id": "B01", "school_id": "RFS", "school_year": "2026/27"}


def started(iid: str, rev: int, start: date, end: date | None = None) -> InternshipStartedData:
    return InternshipStartedData(
        **PLACE,
        internship_id=iid,
        revision=rev,
        company_id=COMPANY,
        career_field="kfz",
        model="block" if end else "weekly_days",
        start_date=start,
        end_date=end,
        recorded_at=T0 + timedelta(days=rev),
    )


def ended(iid: str, rev: int, end: date, reason: str = "completed") -> InternshipEndedData:
    return InternshipEndedData(
        **PLACE,
        internship_id=iid,
        revision=rev,
        end_date=end,
        days_completed=8,
        end_reason=reason,  # type: ignore[arg-type]
        recorded_at=T0 + timedelta(days=rev),
    )


def goal(mid: str, day: date) -> MeetingRecordedData:
    return MeetingRecordedData(
        **PLACE, meeting_id=mid, meeting_date=day, meeting_type="goal_agreement", recorded_at=T0
    )


ASSIGNED = CompanionAssignedData(
    **PLACE, class_name="AVd1a", age_band="17", gender="weiblich", assigned_at=T0, cost=1.0
)
FACTS: list[Fact] = [
    ASSIGNED,
    started(I1, 1, date(2026, 9, 21)),
    started(I1, 2, date(2026, 9, 28)),  # corrected start
    ended(I1, 3, date(2026, 10, 30)),
    started(I1, 3, date(2026, 9, 28)),
    started(I2, 1, date(2026, 12, 1), date(2026, 12, 12)),
    ended(I2, 2, date(2026, 12, 1), "not_started"),
    started(I2, 2, date(2026, 12, 1), date(2026, 12, 12)),
    goal("01ARZ3NDEKTSV4RRFFQ69G5FM1", date(2026, 10, 20)),
    goal("01ARZ3NDEKTSV4RRFFQ69G5FM2", date(2027, 2, 10)),
]


def _key(k: str) -> tuple[str, str]:
    return ("year#2026/27", k)


def test_internships_and_goal_meetings_give_their_counters() -> None:
    s = merge_all(None, FACTS)
    assert s is not None and s.internships[I1].start_date == date(2026, 9, 28)
    c = counters(s)
    assert c[_key("intern#RFS#1")] == 1  # the second was never started
    assert c[_key("inprog#2026-09#RFS")] == 1 and (_key("nointern#2026-09#RFS")) not in c  # from 28 Sep
    assert c[_key("nointern#2026-11#RFS")] == 1 and c[_key("nointern#2026-12#RFS")] == 1
    assert c[_key("inprog#2027-07#RFS")] == 1  # in the programme until the end of the school year
    assert c[_key("goalschool#RFS#students")] == 1 and c[_key("goalschool#RFS#done")] == 2
    assert [c[_key(f"goalschool#RFS#due#{k}")] for k in range(3)] == [1, 1, 1]
    # per companion in the companion's own item, not in the year's partition the reports read whole
    assert {k: n for (p, k), n in c.items() if p == "goals#2026/27"} == {
        "B01#students": 1,
        "B01#done": 2,
        "B01#due0": 1,
        "B01#due1": 1,
        "B01#due2": 1,
    }
    assert not any(k.startswith(("goaldone#", "goaldue#")) for _, k in c)
    left = merge_all(
        s,
        [
            AssignmentEndedData(
                **PLACE,
                ended_at=datetime(2026, 12, 18, tzinfo=UTC),
                exit_date=date(2026, 12, 18),
                reason="completed",
                destination="dual_training",
            )
        ],
    )
    assert left is not None
    after = counters(left)
    assert _key("inprog#2027-01#RFS") not in after and after[_key("inprog#2026-12#RFS")] == 1
    # goal meetings count for students with a companion now
    assert _key("goalschool#RFS#done") not in after and ("goals#2026/27", "B01#done") not in after


@settings(max_examples=150)
@given(order=st.permutations(FACTS), again=st.lists(st.sampled_from(FACTS), max_size=3))
def test_any_order_and_duplicates_give_the_same_casework_state(order: list[Fact], again: list[Fact]) -> None:
    reference = merge_all(None, FACTS)
    s = merge_all(None, [*order, *again])
    assert s is not None and reference is not None
    assert s.content() == reference.content() and counters(s) == counters(reference)


def test_figures_are_as_counted_on_the_dashboard_and_suppressed_in_reports() -> None:
    s = merge_all(None, FACTS)
    assert s is not None
    plain = {k: v for (p, k), v in counters(s).items() if p == "year#2026/27"}
    plain |= {"dest#dual_training#1": 1, "dest#dual_training#0": 1}
    goals = [CompanionGoals("B01", students=1, done=2, due=(1, 1, 1))]
    office = casework_figures(
        plain, "2026/27", date(2027, 3, 1), suppressed=False, goals=goals, names={"B01": "Frau Beispiel"}
    )
    assert office["klebeeffekt"] == {
        "training_starts": 2,
        "in_former_internship_company": 1,
        "share": "50,0 %",
    }
    assert office["goal_meetings"] == [
        {
            "companion_id": "B01",
            "name": "Frau Beispiel",
            "students": 1,
            "done": 2,
            "due": 2,
            "behind": 0,
            "share": "100,0 %",
        }
    ]
    assert office["goal_meetings_total"] == {"students": 1, "done": 2, "due": 2}
    assert office["goal_meetings_by_school"].cells == ((1, 2, 2),)
    months = office["without_internship_by_month"]
    assert months.row_labels[0] == "Sep 2026" and months.row_labels[-1] == "Mär 2027"
    assert months.cells[0] == (1, 0) and months.cells[2] == (1, 1)  # Nov: with a companion, no internship
    out = casework_figures(plain, "2026/27", date(2027, 3, 1), suppressed=True, goals=goals)
    assert out["klebeeffekt"] == {"training_starts": "<3", "in_former_internship_company": "<3", "share": "x"}
    assert out["internships_per_student"].cells[0][1] == "<3"
    assert out["goal_meetings"] == []  # no figures per companion leave the office
    assert out["goal_meetings_by_school"].cells == (("<3", "<3", "<3"),)
