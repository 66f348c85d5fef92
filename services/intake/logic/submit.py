"""Use case: a school submits an intake form."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID

from common.events import EventPublisher, OutgoingEvent
from contracts.events import INTAKE_SUBMITTED, IntakeSubmittedData
from services.intake.dal.intakes import IntakeRepository
from services.intake.logic import rules
from services.intake.models.intake import IntakeCreated, IntakeForm, IntakeRecord


def submitted_event(record: IntakeRecord, age_band: str, correlation_id: str) -> OutgoingEvent:
    """The ``IntakeSubmitted`` fact for ``record`` — IDs and matching attributes only, no personal data."""
    data = IntakeSubmittedData(
        intake_id=record.intake_id, school_id=record.school_id, school_year=record.school_year,
        class_name=record.class_name, age_band=age_band,  # type: ignore[arg-type]
        gender=record.student.gender, german_support=record.german_support,
        languages=record.student.languages, parent_contact_language=record.student.parent_contact_language,
        career_fields=record.career_fields, consent_present=record.consent.student,
        submitted_at=record.submitted_at,
    )
    return OutgoingEvent(INTAKE_SUBMITTED, data, idempotency_key=f"{INTAKE_SUBMITTED.detail_type}:{record.intake_id}",
                         correlation_id=correlation_id, occurred_at=record.submitted_at)


def submit_intake(form: IntakeForm, *, submitted_by: str, correlation_id: str, repo: IntakeRepository,
                  publisher: EventPublisher, now: datetime | None = None) -> IntakeCreated:
    """Validate business rules, store the intake, publish ``IntakeSubmitted``.

    Raises ``DomainValidationError`` (→ 422) before anything is written.
    """
    now = now or datetime.now(UTC)
    band = rules.check_intake(
        school_year=form.school_year, date_of_birth=form.student.date_of_birth,
        student_consent=form.consent.student, guardian_consent=form.consent.guardian,
        consent_given_on=form.consent.given_on, today=now.date(),
    )
    record = IntakeRecord(
        intake_id=str(ULID.from_datetime(now)), **form.model_dump(), submitted_at=now, submitted_by=submitted_by,
        expires_at=rules.retention_expiry(form.school_year),
    )
    repo.put_new(record)
    publisher.publish([submitted_event(record, band, correlation_id)])
    return IntakeCreated(intake_id=record.intake_id, status=record.status, submitted_at=now)
