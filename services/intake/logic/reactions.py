"""The assignment status of each intake, projected from matching's events (intake never asks matching).

Order-tolerant and idempotent: an event is applied only if it is newer than the last one applied
to that intake (duplicates and late arrivals are no-ops), never to a withdrawn intake, never
creating an intake that does not exist (e.g. already erased).
"""

from __future__ import annotations

from contracts import retention
from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    Metadata,
    StudentWaitlistedData,
)
from services.intake.dal.intakes import IntakeRepository


def on_companion_assigned(meta: Metadata, data: CompanionAssignedData, *, repo: IntakeRepository) -> None:
    repo.apply_assignment(
        data.intake_id, status="assigned", companion_id=data.companion_id, at=data.assigned_at
    )


def on_student_waitlisted(meta: Metadata, data: StudentWaitlistedData, *, repo: IntakeRepository) -> None:
    repo.apply_assignment(data.intake_id, status="waitlisted", companion_id=None, at=data.waitlisted_at)


def on_companion_reassigned(meta: Metadata, data: CompanionReassignedData, *, repo: IntakeRepository) -> None:
    repo.apply_assignment(
        data.intake_id, status="assigned", companion_id=data.to_companion_id, at=data.reassigned_at
    )


def on_assignment_ended(meta: Metadata, data: AssignmentEndedData, *, repo: IntakeRepository) -> None:
    """The student left: status ``ended``; personal data now expire one year after that school year."""
    repo.apply_assignment(
        data.intake_id,
        status="ended",
        companion_id=data.companion_id,
        at=data.ended_at,
        expires_at=retention.expires_at(data.school_year, data.exit_date),
    )


def on_companion_updated(meta: Metadata, data: CompanionUpdatedData, *, repo: IntakeRepository) -> None:
    """Who may read the companion's students read-only during a leave (the latest update holds)."""
    repo.substitutions.apply(data.companion_id, data.substitutions, data.updated_at, data.name)
