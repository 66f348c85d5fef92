"""What the companion sees: "Meine Schülerinnen und Schüler" (one row per student) and one student's casework
(history, exit, internships, meetings and contacts with notes). Audited before the data leave."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from common.auth import Principal
from contracts.calendar import local_date
from contracts.casework import GOAL_MEETINGS_PER_YEAR, goal_meetings_due, next_goal_meeting_due
from contracts.reference import SCHOOLS, school_year_bounds
from services.casework.dal.store import CaseworkStore
from services.casework.logic import access
from services.casework.models.casework import (
    Company,
    CurrentInternship,
    GoalMeetings,
    InternshipBrief,
    InternshipView,
    StudentCase,
    StudentDetail,
    StudentPage,
    StudentSummary,
)


def goal_meetings(case: StudentCase, today: date) -> GoalMeetings:
    """Goal-agreement meetings of the case's school year: done (at most 3 count), due by today (those whose
    due day passed while the student had a companion), and the day the next one is due by."""
    first, last = school_year_bounds(case.school_year)
    done = min(GOAL_MEETINGS_PER_YEAR, sum(1 for d in case.goal_meeting_dates if first <= d <= last))
    since = local_date(case.since) if case.since else today
    start = min([since, *(local_date(c.at) for c in case.history if c.kind == "assigned")])
    return GoalMeetings(
        done=done,
        due=goal_meetings_due(case.school_year, since=start, on=today),
        next_due=next_goal_meeting_due(case.school_year, since=start, done=done)
        if case.status == "assigned"
        else None,
    )


def summary(
    case: StudentCase, *, read_only: bool, companies: dict[str, Company], today: date
) -> StudentSummary:
    current = current_internship(case.internships, today)
    company = companies.get(current.company_id) if current else None
    return StudentSummary(
        intake_id=case.intake_id,
        school_id=case.school_id,
        school_name=SCHOOLS.get(case.school_id, case.school_id),
        school_year=case.school_year,
        class_name=case.class_name,
        companion_id=case.companion_id,
        since=case.since,
        status=case.status,
        read_only=read_only,
        internships=len(case.internships),
        internship_days=sum(i.days_completed for i in case.internships if i.end_reason != "not_started"),
        current_internship=CurrentInternship(
            internship_id=current.internship_id,
            company_id=current.company_id,
            company_name=company.name if company else None,
            start_date=current.start_date,
            end_date=current.end_date,
            days_completed=current.days_completed,
        )
        if current
        else None,
        goal_meetings=goal_meetings(case, today),
        last_meeting=case.last_meeting,
        destination=case.exit.destination if case.exit else None,
    )


def list_students(
    *, principal: Principal, companion_id: str | None, store: CaseworkStore, now: datetime
) -> StudentPage:
    """The caseload(s) the caller may list, sorted by school, class and id; audited (one entry)."""
    loads = access.caseloads(principal, companion_id, store, now)
    today = local_date(now)
    rows: list[tuple[StudentCase, bool]] = []
    for cid, read_only in loads.items():
        rows += [(c, read_only) for c in store.caseload(cid) if access.live(c, now)]
    currents = [current_internship(c.internships, today) for c, _ in rows]
    companies = store.companies_by_id(i.company_id for i in currents if i is not None)
    items = [
        summary(c, read_only=ro, companies=companies, today=today)
        for c, ro in sorted(rows, key=lambda r: (r[1], r[0].school_id, r[0].class_name or "", r[0].intake_id))
    ]
    access.audit("list", principal, [i.intake_id for i in items], now)
    named = {*loads, *(i.companion_id for i in items if i.companion_id)}
    if principal.companion_id:
        named.add(principal.companion_id)
    return StudentPage(
        items=items,
        substituting_for=[c for c, ro in loads.items() if ro],
        companion_names=store.substitutions.names(named),
    )


def get_student(
    intake_id: str, *, principal: Principal, store: CaseworkStore, now: datetime
) -> StudentDetail:
    case, internships, meetings = store.partition(intake_id)
    grant = access.visible(case, principal, store, now)
    companies = store.companies_by_id(i.company_id for i in internships)
    if grant.case.exit and grant.case.exit.company_id:
        companies |= store.companies_by_id([grant.case.exit.company_id])
    views = [
        InternshipView(
            **i.model_dump(),
            company_name=companies[i.company_id].name if i.company_id in companies else None,
            company_town=companies[i.company_id].town if i.company_id in companies else None,
        )
        for i in sorted(internships, key=lambda i: (i.start_date, i.internship_id), reverse=True)
    ]
    detail = StudentDetail(
        summary=summary(grant.case, read_only=grant.read_only, companies=companies, today=local_date(now)),
        history=grant.case.history,
        exit=grant.case.exit,
        exit_company_name=companies[grant.case.exit.company_id].name
        if grant.case.exit and grant.case.exit.company_id in companies
        else None,
        internships=views,
        meetings=sorted(meetings, key=lambda m: (m.meeting_date, m.meeting_id), reverse=True),
        companion_names=store.substitutions.names(companions_named(grant.case)),
    )
    access.audit("read", principal, [intake_id], now)
    return detail


def companions_named(case: StudentCase) -> set[str]:
    """The companions a student's casework mentions: the current one and those of its history."""
    named = {case.companion_id} if case.companion_id else set()
    return named | {c for h in case.history for c in (h.companion_id, h.from_companion_id) if c}


def current_internship(internships: Sequence[InternshipBrief], today: date) -> InternshipBrief | None:
    """The internship the student is in today, else the next planned one, else the latest ended one."""
    running = [i for i in internships if not i.ended and i.start_date <= today]
    planned = [i for i in internships if not i.ended and i.start_date > today]
    if running:
        return max(running, key=lambda i: (i.start_date, i.internship_id))
    if planned:
        return min(planned, key=lambda i: (i.start_date, i.internship_id))
    return max(internships, key=lambda i: (i.start_date, i.internship_id), default=None)
