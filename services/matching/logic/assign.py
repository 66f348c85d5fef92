"""Use cases of the matching service: online assignment, waitlist, withdrawal, registry changes.

All handlers are idempotent and order-tolerant: a student's assignment item is written with
conditions (never twice), a withdrawal leaves a tombstone so a late ``IntakeSubmitted`` is ignored.
"""

from __future__ import annotations

from datetime import UTC, datetime

from common.events import EventPublisher, OutgoingEvent
from contracts.events import (
    COMPANION_ASSIGNED,
    COMPANION_UPDATED,
    STUDENT_WAITLISTED,
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionUpdatedData,
    IntakeSubmittedData,
    IntakeWithdrawnData,
    Metadata,
    StudentProfile,
    StudentWaitlistedData,
)
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import choose
from services.matching.models.matching import Assignment, Companion, CompanionIn

MAX_CLAIM_ATTEMPTS = 20


def _now() -> datetime:
    return datetime.now(UTC)


def profile_of(data: IntakeSubmittedData) -> StudentProfile:
    return StudentProfile.model_validate(data.model_dump(include=set(StudentProfile.model_fields)))


def _assigned_event(a: Assignment, meta_correlation: str, *, from_waitlist: bool, waited_days: int) -> OutgoingEvent:
    p = a.profile
    assert p is not None and a.companion_id is not None and a.assigned_at is not None
    data = CompanionAssignedData(
        intake_id=a.intake_id, companion_id=a.companion_id, school_id=p.school_id, school_year=p.school_year,
        class_name=p.class_name, age_band=p.age_band, gender=p.gender, german_support=p.german_support,
        career_fields=p.career_fields, assigned_at=a.assigned_at, from_waitlist=from_waitlist,
        waited_days=waited_days, cost=a.cost or 0.0,
    )
    return OutgoingEvent(COMPANION_ASSIGNED, data, idempotency_key=f"{COMPANION_ASSIGNED.detail_type}:{a.intake_id}",
                         correlation_id=meta_correlation, occurred_at=a.assigned_at)


def try_assign(intake_id: str, profile: StudentProfile, *, store: MatchingStore, from_waitlist: bool,
               submitted_at: datetime | None, now: datetime) -> Assignment | None:
    """Claim a slot at the best eligible companion; None if nobody has room.

    Re-reads the companions after a lost race (``CompanionFullError``) — never over capacity.
    Raises ``AlreadyDecidedError`` when another delivery decided this student first.
    """
    for _ in range(MAX_CLAIM_ATTEMPTS):
        ranked = choose.rank(profile, store.companions_for_school(profile.school_id))
        if not ranked:
            return None
        best = ranked[0]
        a = Assignment(intake_id=intake_id, status="assigned", profile=profile,
                       companion_id=best.companion.companion_id, cost=best.cost, explanation=best.explanation,
                       submitted_at=submitted_at, assigned_at=now, updated_at=now)
        try:
            store.claim(a, from_waitlist=from_waitlist)
            return a
        except CompanionFullError:
            continue
    return None


def on_intake_submitted(meta: Metadata, data: IntakeSubmittedData, *, store: MatchingStore,
                        publisher: EventPublisher) -> None:
    """Assign or waitlist a new student. Duplicate/late deliveries are no-ops."""
    if store.get_assignment(data.intake_id) is not None:
        return
    profile, now = profile_of(data), _now()
    try:
        a = try_assign(data.intake_id, profile, store=store, from_waitlist=False,
                       submitted_at=data.submitted_at, now=now)
    except AlreadyDecidedError:
        return
    if a is not None:
        publisher.publish([_assigned_event(a, meta.correlation_id, from_waitlist=False, waited_days=0)])
        return
    reason = choose.waitlist_reason(profile, store.companions_for_school(profile.school_id))
    waiting = Assignment(intake_id=data.intake_id, status="waitlisted", profile=profile,
                         submitted_at=data.submitted_at, waitlisted_at=f"{data.submitted_at.isoformat()}#{data.intake_id}",
                         waitlist_school=profile.school_id, updated_at=now)
    try:
        store.put_waitlisted(waiting)
    except AlreadyDecidedError:
        return
    event = StudentWaitlistedData(
        intake_id=data.intake_id, school_id=profile.school_id, school_year=profile.school_year,
        class_name=profile.class_name, age_band=profile.age_band, gender=profile.gender,
        german_support=profile.german_support, career_fields=profile.career_fields,
        waitlisted_at=now, reason=reason,  # type: ignore[arg-type]
    )
    publisher.publish([OutgoingEvent(STUDENT_WAITLISTED, event,
                                     idempotency_key=f"{STUDENT_WAITLISTED.detail_type}:{data.intake_id}",
                                     correlation_id=meta.correlation_id, occurred_at=now)])


def work_off_waitlist(school_ids: list[str], *, store: MatchingStore, publisher: EventPublisher,
                      correlation_id: str) -> list[Assignment]:
    """Assign waiting students of ``school_ids``, longest waiting first, while capacity lasts.

    Priority rule: submission time (earliest first; ties by intake id) — the waitlist sort key.
    """
    done: list[Assignment] = []
    now = _now()
    for school in sorted(set(school_ids)):
        for waiting in store.waiting(school):
            assert waiting.profile is not None
            try:
                a = try_assign(waiting.intake_id, waiting.profile, store=store, from_waitlist=True,
                               submitted_at=waiting.submitted_at, now=now)
            except AlreadyDecidedError:
                continue
            if a is None:
                break
            waited = (now - waiting.submitted_at).days if waiting.submitted_at else 0
            publisher.publish([_assigned_event(a, correlation_id, from_waitlist=True, waited_days=max(0, waited))])
            done.append(a)
    return done


def on_intake_withdrawn(meta: Metadata, data: IntakeWithdrawnData, *, store: MatchingStore,
                        publisher: EventPublisher) -> None:
    """Release the slot (if assigned) and leave a tombstone; then work off the school's waitlist."""
    current = store.get_assignment(data.intake_id)
    at = data.withdrawn_at.isoformat()
    if current is not None and current.status == "assigned" and current.companion_id:
        if store.release(data.intake_id, current.companion_id, "withdrawn", at):
            comp = store.get_companion(current.companion_id)
            work_off_waitlist(comp.school_ids if comp else [data.school_id], store=store, publisher=publisher,
                              correlation_id=meta.correlation_id)
        return
    if current is None or current.status == "waitlisted":
        try:
            store.mark_withdrawn(data.intake_id, at)
        except Exception:  # noqa: BLE001 - condition failed: already assigned/ended meanwhile; retried by SQS
            raise


def on_assignment_ended(meta: Metadata, data: AssignmentEndedData, *, store: MatchingStore,
                        publisher: EventPublisher) -> None:
    comp = store.get_companion(data.companion_id)
    work_off_waitlist(comp.school_ids if comp else [data.school_id], store=store, publisher=publisher,
                      correlation_id=meta.correlation_id)


def on_companion_updated(meta: Metadata, data: CompanionUpdatedData, *, store: MatchingStore,
                         publisher: EventPublisher) -> None:
    if data.active:
        work_off_waitlist(data.school_ids, store=store, publisher=publisher, correlation_id=meta.correlation_id)


def save_companion(body: CompanionIn, *, store: MatchingStore, publisher: EventPublisher,
                   correlation_id: str) -> Companion:
    """Create/replace a companion and emit ``CompanionUpdated`` (no personal data beyond the id)."""
    before = store.get_companion(body.companion_id)
    saved = store.upsert_companion(Companion(**body.model_dump()))
    now = _now()
    data = CompanionUpdatedData(companion_id=saved.companion_id, school_ids=saved.school_ids,
                                capacity=saved.capacity, active=saved.active, updated_at=now,
                                capacity_increased=before is None or saved.capacity > before.capacity)
    publisher.publish([OutgoingEvent(COMPANION_UPDATED, data,
                                     idempotency_key=f"{COMPANION_UPDATED.detail_type}:{saved.companion_id}:{now.isoformat()}",
                                     correlation_id=correlation_id, occurred_at=now)])
    return saved
