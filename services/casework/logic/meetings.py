"""Meetings and contacts (Gespräche und Kontakte): the kind, who took part (roles), a short note. The note is
personal data: it stays in the student's partition (seen by the student's companion(s) and the office,
erased with the student); the event names the kind and the roles only."""

from __future__ import annotations

from datetime import datetime

from ulid import ULID

from common.auth import Principal
from common.errors import ConflictError, DomainValidationError, FieldError
from contracts.calendar import local_date
from services.casework.dal.store import CaseworkStore, StaleCaseError, meeting_item
from services.casework.logic import access, events
from services.casework.logic.caseload import MAX_ATTEMPTS
from services.casework.logic.internships import actor
from services.casework.models.casework import Meeting, MeetingIn


def record_meeting(
    intake_id: str,
    body: MeetingIn,
    *,
    principal: Principal,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> Meeting:
    if body.meeting_date > local_date(now):
        raise DomainValidationError(
            [
                FieldError(
                    field="meeting_date",
                    message="Das Datum liegt in der Zukunft: bitte erst danach erfassen.",
                )
            ]
        )
    meeting = Meeting(
        meeting_id=str(ULID.from_datetime(now)),
        intake_id=intake_id,
        **body.model_dump(),
        recorded_at=now,
        recorded_by=actor(principal),
    )
    for _ in range(MAX_ATTEMPTS):
        case = access.writable(store.get_case(intake_id), principal, store, now)
        goals = case.goal_meeting_dates + (
            [body.meeting_date] if body.meeting_type == "goal_agreement" else []
        )
        last = max(filter(None, [case.last_meeting, body.meeting_date]))
        new = case.model_copy(
            update={"goal_meeting_dates": sorted(goals), "last_meeting": last, "version": case.version + 1}
        )
        try:
            store.save(
                new,
                read_version=case.version,
                items=[meeting_item(meeting, new.expires_at)],
                events=[events.meeting_recorded(case, meeting, correlation_id)],
            )
        except StaleCaseError:
            continue
        access.audit("create", principal, [intake_id], now)
        return meeting
    raise ConflictError("Die Begleitung wurde gleichzeitig geändert. Bitte erneut versuchen.")
