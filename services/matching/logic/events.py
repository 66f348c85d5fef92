"""The events matching emits, built from its records (no personal data: ids + matching attributes).

Idempotency keys name one business fact each: ``<detail-type>:<intake or companion id>:<time>``.
A student can be assigned more than once in their life (e.g. waitlist → assigned → back to the
waitlist after a school change → assigned), so the time of the fact is part of the key; a
duplicate delivery never creates a second fact because the write it belongs to is conditional.
"""

from __future__ import annotations

from datetime import datetime

from common.events import OutgoingEvent
from contracts.events import (
    ASSIGNMENT_ENDED,
    COMPANION_ASSIGNED,
    COMPANION_REASSIGNED,
    COMPANION_UPDATED,
    STUDENT_WAITLISTED,
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    ReassignmentCause,
    StudentWaitlistedData,
    Substitution,
    WaitlistReason,
)
from services.matching.models.matching import Assignment, Companion


def _key(detail_type: str, ident: str, at: datetime) -> str:
    return f"{detail_type}:{ident}:{at.isoformat()}"


def assigned(
    a: Assignment,
    correlation_id: str,
    *,
    from_waitlist: bool,
    waited_days: int = 0,
    caseload: tuple[int, int] | None = None,
) -> OutgoingEvent:
    """``caseload``: the companion's taken places right after the claim and its capacity, when the claim is
    conditional on the count it read (reporting then needs no read for "companion full")."""
    p = a.profile
    assert p is not None and a.companion_id is not None and a.assigned_at is not None
    data = CompanionAssignedData(
        intake_id=a.intake_id,
        companion_id=a.companion_id,
        school_id=p.school_id,
        school_year=p.school_year,
        class_name=p.class_name,
        age_band=p.age_band,
        gender=p.gender,
        german_support=p.german_support,
        career_fields=p.career_fields,
        assigned_at=a.assigned_at,
        from_waitlist=from_waitlist,
        waited_days=max(0, waited_days),
        cost=a.cost or 0.0,
        companion_caseload=caseload[0] if caseload else None,
        companion_capacity=caseload[1] if caseload else None,
    )
    return OutgoingEvent(
        COMPANION_ASSIGNED,
        data,
        _key(COMPANION_ASSIGNED.detail_type, a.intake_id, a.assigned_at),
        correlation_id=correlation_id,
        occurred_at=a.assigned_at,
    )


def waitlisted(a: Assignment, correlation_id: str, *, reason: WaitlistReason, at: datetime) -> OutgoingEvent:
    p = a.profile
    assert p is not None
    data = StudentWaitlistedData(
        intake_id=a.intake_id,
        school_id=p.school_id,
        school_year=p.school_year,
        class_name=p.class_name,
        age_band=p.age_band,
        gender=p.gender,
        german_support=p.german_support,
        career_fields=p.career_fields,
        waitlisted_at=at,
        reason=reason,
    )
    return OutgoingEvent(
        STUDENT_WAITLISTED,
        data,
        _key(STUDENT_WAITLISTED.detail_type, a.intake_id, at),
        correlation_id=correlation_id,
        occurred_at=at,
    )


def reassigned(
    a: Assignment,
    from_companion_id: str,
    correlation_id: str,
    *,
    cost_change: float,
    at: datetime,
    cause: ReassignmentCause,
) -> OutgoingEvent:
    p = a.profile
    assert p is not None and a.companion_id is not None
    data = CompanionReassignedData(
        intake_id=a.intake_id,
        from_companion_id=from_companion_id,
        to_companion_id=a.companion_id,
        school_id=p.school_id,
        school_year=p.school_year,
        reassigned_at=at,
        cost_change=round(cost_change, 6),
        cause=cause,
    )
    return OutgoingEvent(
        COMPANION_REASSIGNED,
        data,
        _key(COMPANION_REASSIGNED.detail_type, a.intake_id, at),
        correlation_id=correlation_id,
        occurred_at=at,
    )


def ended(a: Assignment, companion_id: str, correlation_id: str) -> OutgoingEvent:
    p, x = a.profile, a.exit
    assert p is not None and x is not None
    data = AssignmentEndedData(
        intake_id=a.intake_id,
        companion_id=companion_id,
        school_id=p.school_id,
        school_year=p.school_year,
        ended_at=x.recorded_at,
        exit_date=x.exit_date,
        reason=x.reason,
        destination=x.destination,
        company_id=x.company_id,
    )
    return OutgoingEvent(
        ASSIGNMENT_ENDED,
        data,
        _key(ASSIGNMENT_ENDED.detail_type, a.intake_id, x.recorded_at),
        correlation_id=correlation_id,
        occurred_at=x.recorded_at,
    )


def companion_updated(
    c: Companion, correlation_id: str, *, capacity_increased: bool, at: datetime
) -> OutgoingEvent:
    """The id, the name (staff, not student data: reporting names companions by it) and what the reports
    count with – no e-mail or languages; of the leave only the periods a substitute covers, without the kind
    of absence (the access rule of intake and casework)."""
    data = CompanionUpdatedData(
        companion_id=c.companion_id,
        name=c.name,
        school_ids=c.school_ids,
        capacity=c.capacity,
        active=c.active,
        updated_at=at,
        capacity_increased=capacity_increased,
        fte=c.fte,
        substitutions=[
            Substitution(substitute_id=p.substitute_id, start=p.start, end=p.end)
            for p in c.leave_periods
            if p.substitute_id
        ],
    )
    return OutgoingEvent(
        COMPANION_UPDATED,
        data,
        _key(COMPANION_UPDATED.detail_type, c.companion_id, at),
        correlation_id=correlation_id,
        occurred_at=at,
    )
