"""Reporting use cases on incoming facts: update the anonymous projection and counters."""

from __future__ import annotations

from datetime import datetime

from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    IntakeSubmittedData,
    IntakeWithdrawnData,
    Metadata,
    StudentWaitlistedData,
)
from services.reporting.dal.aggregates import AggregateStore, StaleProjectionError
from services.reporting.logic.projection import apply
from services.reporting.models.aggregates import Status

MAX_RETRIES = 10


def _transition(store: AggregateStore, *, intake_id: str, school_id: str, school_year: str, status: Status,
                companion_id: str | None, occurred_at: datetime) -> None:
    for _ in range(MAX_RETRIES):
        current = store.get_projection(intake_id)
        change = apply(current, intake_id=intake_id, school_id=school_id, school_year=school_year, status=status,
                       companion_id=companion_id, occurred_at=occurred_at)
        if change is None:
            return
        try:
            store.save(current, *change)
            return
        except StaleProjectionError:
            continue
    raise StaleProjectionError(intake_id)


def on_intake_submitted(meta: Metadata, d: IntakeSubmittedData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="submitted", companion_id=None, occurred_at=meta.occurred_at)


def on_waitlisted(meta: Metadata, d: StudentWaitlistedData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="waitlisted", companion_id=None, occurred_at=meta.occurred_at)


def on_assigned(meta: Metadata, d: CompanionAssignedData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="assigned", companion_id=d.companion_id, occurred_at=meta.occurred_at)


def on_reassigned(meta: Metadata, d: CompanionReassignedData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="assigned", companion_id=d.to_companion_id, occurred_at=meta.occurred_at)


def on_ended(meta: Metadata, d: AssignmentEndedData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="ended", companion_id=None, occurred_at=meta.occurred_at)


def on_withdrawn(meta: Metadata, d: IntakeWithdrawnData, *, store: AggregateStore) -> None:
    _transition(store, intake_id=d.intake_id, school_id=d.school_id, school_year=d.school_year,
                status="withdrawn", companion_id=None, occurred_at=meta.occurred_at)


def on_companion_updated(meta: Metadata, d: CompanionUpdatedData, *, store: AggregateStore) -> None:
    store.put_companion(d.companion_id, d.capacity, d.school_ids, d.active)
