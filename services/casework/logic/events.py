"""The events casework emits: ids and categories only, never a note, a learning task or a name.

Idempotency keys name one business fact each: ``<detail-type>:<id>:<revision or time>``; an internship's
change republishes ``InternshipStarted`` (and, once ended, ``InternshipEnded``) with its next revision.
"""

from __future__ import annotations

from datetime import datetime

from common.events import OutgoingEvent
from contracts.events import (
    DESTINATION_COMPANY_RECORDED,
    INTERNSHIP_ENDED,
    INTERNSHIP_STARTED,
    MEETING_RECORDED,
    DestinationCompanyRecordedData,
    InternshipEndedData,
    InternshipStartedData,
    MeetingRecordedData,
)
from services.casework.models.casework import Internship, Meeting, StudentCase


def _placement(case: StudentCase) -> dict[str, str]:
    assert case.companion_id is not None
    return {
        "intake_id": case.intake_id,
        "companion_id": case.companion_id,
        "school_id": case.school_id,
        "school_year": case.school_year,
    }


def internship_started(case: StudentCase, i: Internship, correlation_id: str) -> OutgoingEvent:
    data = InternshipStartedData(
        **_placement(case),
        internship_id=i.internship_id,
        revision=i.revision,
        company_id=i.company_id,
        career_field=i.career_field,
        model=i.model,
        start_date=i.start_date,
        end_date=i.end_date,
        recorded_at=i.updated_at,
    )
    key = f"{INTERNSHIP_STARTED.detail_type}:{i.internship_id}:{i.revision}"
    return OutgoingEvent(INTERNSHIP_STARTED, data, key, correlation_id, i.updated_at)


def internship_ended(case: StudentCase, i: Internship, correlation_id: str) -> OutgoingEvent:
    assert i.ended and i.end_date is not None and i.end_reason is not None
    data = InternshipEndedData(
        **_placement(case),
        internship_id=i.internship_id,
        revision=i.revision,
        end_date=i.end_date,
        days_completed=i.days_completed,
        end_reason=i.end_reason,
        recorded_at=i.updated_at,
    )
    key = f"{INTERNSHIP_ENDED.detail_type}:{i.internship_id}:{i.revision}"
    return OutgoingEvent(INTERNSHIP_ENDED, data, key, correlation_id, i.updated_at)


def meeting_recorded(case: StudentCase, m: Meeting, correlation_id: str) -> OutgoingEvent:
    data = MeetingRecordedData(
        **_placement(case),
        meeting_id=m.meeting_id,
        meeting_date=m.meeting_date,
        meeting_type=m.meeting_type,
        participants=m.participants,
        recorded_at=m.recorded_at,
    )
    key = f"{MEETING_RECORDED.detail_type}:{m.meeting_id}"
    return OutgoingEvent(MEETING_RECORDED, data, key, correlation_id, m.recorded_at)


def destination_company_recorded(case: StudentCase, correlation_id: str, at: datetime) -> OutgoingEvent:
    """The comparison of the exit company with the internships, as decided at ``at`` (the latest holds)."""
    x = case.exit
    assert x is not None and x.company_id is not None and case.companion_id is not None
    data = DestinationCompanyRecordedData(
        **_placement(case),
        company_id=x.company_id,
        destination=x.destination,
        former_internship_company=x.former_internship_company,
        recorded_at=at,
    )
    key = f"{DESTINATION_COMPANY_RECORDED.detail_type}:{case.intake_id}:{at.isoformat()}"
    return OutgoingEvent(DESTINATION_COMPANY_RECORDED, data, key, correlation_id, at)
