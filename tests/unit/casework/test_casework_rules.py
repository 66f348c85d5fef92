"""Pure casework rules: the case read off its history in any order, the Klebeeffekt comparison, the
goal-agreement cycle and the current internship."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.casework import goal_meeting_due_dates, goal_meetings_due, next_goal_meeting_due
from services.casework.logic.caseload import derive, former_internship_company, with_change
from services.casework.logic.overview import current_internship, goal_meetings
from services.casework.models.casework import CaseChange, Internship, InternshipBrief, StudentCase

T0 = datetime(2026, 9, 14, 8, tzinfo=UTC)
ID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
COMPANY, OTHER = "01ARZ3NDEKTSV4RRFFQ69G5FAW", "01ARZ3NDEKTSV4RRFFQ69G5FAX"


def case(**kw: object) -> StudentCase:
    return StudentCase(intake_id=ID, school_id="RFS", school_year="2026/27", **kw)  # type: ignore[arg-type]


LIFE = [
    CaseChange(at=T0, kind="assigned", companion_id="B01"),
    CaseChange(at=T0 + timedelta(days=30), kind="reassigned", companion_id="B02", from_companion_id="B01"),
    CaseChange(at=T0 + timedelta(days=60), kind="waitlisted"),
    CaseChange(at=T0 + timedelta(days=70), kind="assigned", companion_id="B03"),
    CaseChange(at=T0 + timedelta(days=200), kind="ended", companion_id="B03"),
]


def test_the_case_follows_its_history() -> None:
    c = case()
    seen = []
    for change in LIFE:
        c = with_change(c, change)
        seen.append((c.status, c.companion_id, c.since))
    assert seen == [
        ("assigned", "B01", T0),
        ("assigned", "B02", T0 + timedelta(days=30)),
        ("waitlisted", None, None),
        ("assigned", "B03", T0 + timedelta(days=70)),
        ("ended", "B03", T0 + timedelta(days=70)),
    ]
    after = with_change(c, CaseChange(at=T0 + timedelta(days=300), kind="assigned", companion_id="B04"))
    assert (after.status, after.companion_id) == ("ended", "B03")  # after the exit only a withdrawal counts
    gone = with_change(after, CaseChange(at=T0 + timedelta(days=301), kind="withdrawn"))
    assert gone.status == "withdrawn"


def test_waitlisted_and_let_in_at_the_same_instant_is_assigned() -> None:
    both = [CaseChange(at=T0, kind="assigned", companion_id="B08"), CaseChange(at=T0, kind="waitlisted")]
    for order in (both, both[::-1]):
        c = case()
        for change in order:
            c = with_change(c, change)
        assert (c.status, c.companion_id, c.since) == ("assigned", "B08", T0)


@settings(max_examples=200)
@given(order=st.permutations(LIFE), repeat=st.lists(st.sampled_from(LIFE), max_size=4))
def test_any_order_and_duplicates_give_the_same_case(
    order: list[CaseChange], repeat: list[CaseChange]
) -> None:
    c = case()
    for change in [*order, *repeat]:
        c = with_change(c, change)
    reference = derive(case(history=LIFE))
    assert (c.status, c.companion_id, c.since, c.history) == (
        reference.status,
        reference.companion_id,
        reference.since,
        reference.history,
    )


def _internship(company: str, **kw: object) -> Internship:
    return Internship(
        internship_id=ID,
        intake_id=ID,
        company_id=company,
        career_field="kfz",
        model="block",
        start_date=date(2026, 10, 1),
        recorded_at=T0,
        updated_at=T0,
        recorded_by="B01",
        **kw,  # type: ignore[arg-type]
    )


def test_the_klebeeffekt_needs_an_internship_at_the_exit_company_that_took_place() -> None:
    assert former_internship_company(COMPANY, [_internship(OTHER), _internship(COMPANY)])
    assert not former_internship_company(COMPANY, [_internship(OTHER)])
    assert not former_internship_company(None, [_internship(COMPANY)])
    never = _internship(COMPANY, ended=True, end_reason="not_started", end_date=date(2026, 10, 1))
    assert not former_internship_company(COMPANY, [never])


def test_three_goal_agreements_a_year_and_when_they_are_due() -> None:
    assert goal_meeting_due_dates("2026/27") == [date(2026, 10, 31), date(2027, 2, 28), date(2027, 5, 31)]
    assert goal_meetings_due("2026/27", since=date(2026, 9, 1), on=date(2026, 11, 1)) == 1
    assert goal_meetings_due("2026/27", since=date(2026, 12, 1), on=date(2027, 6, 1)) == 2  # joined late
    assert next_goal_meeting_due("2026/27", since=date(2026, 9, 1), done=2) == date(2027, 5, 31)
    assert next_goal_meeting_due("2026/27", since=date(2026, 9, 1), done=3) is None
    # joined after the first due day: the first one is due by the half-year, and two are all
    assert next_goal_meeting_due("2026/27", since=date(2026, 12, 7), done=0) == date(2027, 2, 28)
    assert next_goal_meeting_due("2026/27", since=date(2026, 12, 7), done=1) == date(2027, 2, 28)
    assert next_goal_meeting_due("2026/27", since=date(2026, 12, 7), done=3) is None
    c = case(
        status="assigned",
        companion_id="B01",
        since=T0,
        history=[LIFE[0]],
        goal_meeting_dates=[date(2026, 10, 20), date(2026, 7, 1), date(2027, 1, 10), date(2027, 3, 1)],
    )
    g = goal_meetings(c, date(2027, 3, 15))
    assert (g.done, g.due, g.next_due) == (3, 2, None)  # the one of the previous school year does not count


def test_the_current_internship_is_the_running_one_else_the_next_else_the_last() -> None:
    def brief(iid: str, start: date, ended: bool = False) -> InternshipBrief:
        return InternshipBrief(internship_id=iid, company_id=COMPANY, start_date=start, ended=ended)

    done, running, planned = (
        brief("A", date(2026, 9, 1), True),
        brief("B", date(2026, 11, 1)),
        brief("C", date(2027, 2, 1)),
    )
    assert current_internship([done, running, planned], date(2026, 12, 1)) == running
    assert current_internship([done, planned], date(2026, 12, 1)) == planned
    assert current_internship([done], date(2026, 12, 1)) == done
    assert current_internship([], date(2026, 12, 1)) is None
