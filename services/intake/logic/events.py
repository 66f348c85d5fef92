"""The intake facts for the bus: IDs and matching attributes only, never personal data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from common.events import OutgoingEvent
from contracts.events import (
    INTAKE_SUBMITTED,
    INTAKE_UPDATED,
    INTAKE_WITHDRAWN,
    AgeBand,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
)
from services.intake.models.intake import IntakeRecord


def profile(record: IntakeRecord, band: AgeBand) -> dict[str, Any]:
    """The ``StudentProfile`` part of the intake events (of a live, not erased record)."""
    if record.student is None or record.consent is None:
        raise ValueError("an erased intake has no profile")
    return {
        "school_id": record.school_id,
        "school_year": record.school_year,
        "class_name": record.class_name,
        "age_band": band,
        "gender": record.student.gender,
        "german_support": record.german_support,
        "languages": list(record.student.languages),
        "parent_contact_language": record.student.parent_contact_language,
        "career_fields": list(record.career_fields),
        "preferred_companion_gender": record.preferences.companion_gender,
        "previous_companion_id": record.preferences.previous_companion_id,
        "consent_present": record.consent.student,
    }


def submitted(record: IntakeRecord, band: AgeBand, correlation_id: str) -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=record.intake_id, submitted_at=record.submitted_at, **profile(record, band)
    )
    return OutgoingEvent(
        INTAKE_SUBMITTED,
        data,
        idempotency_key=f"{INTAKE_SUBMITTED.detail_type}:{record.intake_id}",
        correlation_id=correlation_id,
        occurred_at=record.submitted_at,
    )


def updated(
    record: IntakeRecord,
    band: AgeBand,
    changed: list[str],
    matching_relevant: bool,
    correlation_id: str,
    at: datetime,
) -> OutgoingEvent:
    data = IntakeUpdatedData(
        intake_id=record.intake_id,
        updated_at=at,
        changed_fields=changed,
        matching_relevant=matching_relevant,
        **profile(record, band),
    )
    return OutgoingEvent(
        INTAKE_UPDATED,
        data,
        idempotency_key=f"{INTAKE_UPDATED.detail_type}:{record.intake_id}:{record.version}",
        correlation_id=correlation_id,
        occurred_at=at,
    )


def withdrawn(record: IntakeRecord, reason: str, correlation_id: str, at: datetime) -> OutgoingEvent:
    data = IntakeWithdrawnData(
        intake_id=record.intake_id,
        school_id=record.school_id,
        school_year=record.school_year,
        withdrawn_at=at,
        reason=reason,
    )  # type: ignore[arg-type]
    return OutgoingEvent(
        INTAKE_WITHDRAWN,
        data,
        idempotency_key=f"{INTAKE_WITHDRAWN.detail_type}:{record.intake_id}",
        correlation_id=correlation_id,
        occurred_at=at,
    )
