"""Exit and destination (Verbleib): a companion or the office records that a student left.

The slot is freed at once (also for an exit date in the near future: the companion has
already planned the handover); ``AssignmentEnded`` is emitted in the same transaction, and the
matching consumer then assigns the longest-waiting eligible student of the companion's schools.
"""

from __future__ import annotations

from datetime import datetime

from common.errors import ConflictError, DomainValidationError, FieldError, NotFoundError
from contracts import retention
from contracts.calendar import local_date
from services.matching.dal.store import MatchingStore
from services.matching.logic import events
from services.matching.logic.assignment_rules import MAX_RACE_RETRIES
from services.matching.models.matching import Assignment, ExitIn, ExitRecord


def visible(a: Assignment | None, companion_scope: str | None) -> Assignment:
    """``a`` if the caller may see it (office: ``companion_scope=None``; a companion: only their own
    students) — otherwise ``NotFoundError`` (never reveal that the student exists)."""
    if a is None or (companion_scope is not None and a.companion_id != companion_scope):
        raise NotFoundError("assignment")
    return a


def get_assignment(
    intake_id: str, *, companion_scope: str | None, store: MatchingStore, now: datetime
) -> Assignment:
    return visible(store.get_assignment(intake_id, now=now), companion_scope)


def record_exit(
    intake_id: str,
    body: ExitIn,
    *,
    recorded_by: str,
    companion_scope: str | None,
    store: MatchingStore,
    correlation_id: str,
    now: datetime,
) -> Assignment:
    """End the assignment with exit date, reason and destination, recorded at ``now`` (the request time);
    repeat calls with the same data return the stored exit (idempotent), different data →
    ``ConflictError``."""
    for _ in range(MAX_RACE_RETRIES):
        a = visible(store.get_assignment(intake_id, now=now), companion_scope)
        if a.status == "ended" and a.exit is not None:
            if ExitIn.model_validate(a.exit.model_dump(include=set(ExitIn.model_fields))) == body:
                return a
            raise ConflictError("Der Austritt ist bereits mit anderen Angaben erfasst.")
        if a.status != "assigned" or a.companion_id is None or a.profile is None:
            raise ConflictError("Die Schülerin / der Schüler ist keiner Begleitung zugeordnet.")
        if a.assigned_at is not None and body.exit_date < local_date(a.assigned_at):
            raise DomainValidationError(
                [FieldError(field="exit_date", message="Das Austrittsdatum liegt vor der Zuordnung.")]
            )
        at = now
        new = a.model_copy(
            update={
                "status": "ended",
                "updated_at": at,
                "expires_at": retention.expires_at(a.profile.school_year, body.exit_date),
                "exit": ExitRecord(**body.model_dump(), recorded_at=at, recorded_by=recorded_by),
            }
        )
        if store.release(new, a.companion_id, events=[events.ended(new, a.companion_id, correlation_id)]):
            return new
    raise ConflictError("Die Zuordnung wurde gleichzeitig geändert. Bitte erneut versuchen.")
