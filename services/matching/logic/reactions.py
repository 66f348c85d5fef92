"""Matching's reactions to incoming events: intake submitted, changed or withdrawn, a slot freed, a
companion changed (online assignment and waitlist work: :mod:`services.matching.logic.assign`).

Every handler is idempotent and order-tolerant (item 8):

* a student's record is written with conditions on the state the decision was based on, so a
  duplicate delivery or a concurrent decision makes the second write fail without effect
  (``AlreadyDecidedError``) — and with it its events, which go to the outbox in the same
  transaction;
* ``IntakeWithdrawn`` leaves a tombstone, so a late ``IntakeSubmitted``/``IntakeUpdated`` is ignored;
* ``IntakeUpdated`` carries the whole profile and its ``updated_at``: older updates than the one
  stored are ignored; an update arriving before its submission admits the student with it.

Rules for ``IntakeUpdated`` with ``matching_relevant=True`` (documented in ``docs/matching.md``):
waiting → store the new profile (school changed: move to that school's waitlist, keeping the
original submission time) and work off the waitlist; assigned and the current companion still
fits the hard rules (ignoring capacity and leave) → keep the companion (continuity), store the
profile; assigned but the pair broke (school changed, consent missing, companion inactive) →
move to the best companion of the new school (``CompanionReassigned``) or, if nobody has room,
back to the waitlist (``StudentWaitlisted``); the freed slot works off the old school's waitlist.
"""

from __future__ import annotations

from datetime import datetime

from contracts import retention
from contracts.events import (
    AssignmentEndedData,
    CompanionUpdatedData,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
    Metadata,
    StudentProfile,
)
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import choose, events
from services.matching.logic import cost as cm
from services.matching.logic.assign import (
    MAX_CLAIM_ATTEMPTS,
    ConcurrentChangeError,
    admit,
    work_off_waitlist,
)
from services.matching.logic.assignment_rules import (
    MAX_RACE_RETRIES,
    prepare_claim,
    profile_of,
    reference_day,
    submitted_at_of,
    waiting_state,
)
from services.matching.models.matching import Assignment


def on_intake_submitted(meta: Metadata, data: IntakeSubmittedData, *, store: MatchingStore) -> None:
    """Assign or waitlist a new student. Duplicate/late deliveries are no-ops: every write is conditional
    on the student being unknown (a tombstone counts as known)."""
    admit(
        data.intake_id,
        profile_of(data),
        submitted_at=data.submitted_at,
        profile_updated_at=None,
        store=store,
        correlation_id=meta.correlation_id,
        at=meta.occurred_at,
    )


def on_intake_updated(meta: Metadata, data: IntakeUpdatedData, *, store: MatchingStore) -> None:
    """Re-evaluate a student whose matching inputs changed (rules: module docstring)."""
    profile, at = profile_of(data), meta.occurred_at
    for _ in range(MAX_RACE_RETRIES):
        current = store.get_assignment(data.intake_id, now=at)
        if current is None:  # the update overtook the submission: admit with the newer profile
            admit(
                data.intake_id,
                profile,
                submitted_at=submitted_at_of(data.intake_id, fallback=data.updated_at),
                profile_updated_at=data.updated_at,
                store=store,
                correlation_id=meta.correlation_id,
                at=at,
            )
            return
        if current.status in ("withdrawn", "ended") or not data.matching_relevant:
            return
        if current.profile_updated_at is not None and data.updated_at <= current.profile_updated_at:
            return  # duplicate or older than what we have
        try:
            if current.status == "waitlisted":
                _update_waiting(
                    current, profile, data.updated_at, store=store, correlation_id=meta.correlation_id, at=at
                )
            else:
                _update_assigned(
                    current, profile, data.updated_at, store=store, correlation_id=meta.correlation_id, at=at
                )
            return
        except AlreadyDecidedError:
            continue  # the record changed meanwhile (e.g. assigned from the waitlist): decide again
    raise ConcurrentChangeError(data.intake_id)


def _update_waiting(
    current: Assignment,
    profile: StudentProfile,
    updated_at: datetime,
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> None:
    assert current.profile is not None
    school_changed = current.profile.school_id != profile.school_id
    reason = choose.waitlist_reason(
        profile, store.companions_for_school(profile.school_id), reference_day(profile, at)
    )
    new = current.model_copy(
        update={
            "profile": profile,
            "waitlist_school": profile.school_id,
            "waitlist_reason": reason,
            "profile_updated_at": updated_at,
            "updated_at": at,
            "expires_at": retention.expires_at(profile.school_year),
        }
    )
    outgoing = [events.waitlisted(new, correlation_id, reason=reason, at=at)] if school_changed else []
    store.replace_waitlisted(new, events=outgoing)
    work_off_waitlist([profile.school_id], store=store, correlation_id=correlation_id, at=at)


def _update_assigned(
    current: Assignment,
    profile: StudentProfile,
    updated_at: datetime,
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> None:
    old_cid = current.companion_id
    assert old_cid is not None
    old = store.get_companion(old_cid)
    if old is not None and cm.feasible(profile, old, check_capacity=False):
        store.replace_assigned(
            current.model_copy(
                update={
                    "profile": profile,
                    "profile_updated_at": updated_at,
                    "updated_at": at,
                    "expires_at": retention.expires_at(profile.school_year),
                }
            )
        )
        return
    base = current.model_copy(update={"profile_updated_at": updated_at})
    for _ in range(MAX_CLAIM_ATTEMPTS):
        new = prepare_claim(
            current.intake_id,
            profile,
            store.companions_for_school(profile.school_id),
            store.classmates(profile.school_id, profile.class_name, exclude=current.intake_id),
            at=at,
            base=base,
        )
        if new is None:
            break
        event = events.reassigned(
            new, old_cid, correlation_id, cost_change=(new.cost or 0.0) - (current.cost or 0.0), at=at
        )
        try:
            store.reassign(new, old_cid, events=[event])
        except CompanionFullError:
            continue
        break
    else:
        new = None
    if new is None:  # nobody at the new school has room: back to the waitlist, keeping the submission time
        reason = choose.waitlist_reason(
            profile, store.companions_for_school(profile.school_id), reference_day(profile, at)
        )
        new = waiting_state(
            current.intake_id,
            profile,
            reason,
            at=at,
            submitted_at=current.submitted_at,
            profile_updated_at=updated_at,
        )
        if not store.release(
            new, old_cid, events=[events.waitlisted(new, correlation_id, reason=reason, at=at)]
        ):
            raise AlreadyDecidedError(current.intake_id)
    work_off_waitlist(
        old.school_ids if old else [current.profile.school_id if current.profile else profile.school_id],
        store=store,
        correlation_id=correlation_id,
        at=at,
    )


def on_intake_withdrawn(meta: Metadata, data: IntakeWithdrawnData, *, store: MatchingStore) -> None:
    """Consent withdrawn / intake withdrawn: free the slot (if assigned), erase the profile and leave
    a tombstone (also if matching never saw the intake); then work off the school's waitlist."""
    at = data.withdrawn_at.isoformat()
    for _ in range(MAX_RACE_RETRIES):
        current = store.get_assignment(data.intake_id, now=meta.occurred_at)
        try:
            if current is None or current.status in ("waitlisted", "withdrawn"):
                store.mark_withdrawn(data.intake_id, at, retention.expires_at(data.school_year))
                return
            if current.status == "ended":
                store.erase_profile(data.intake_id, at)
                return
        except AlreadyDecidedError:
            continue
        cid = current.companion_id
        assert cid is not None
        tomb = Assignment(
            intake_id=data.intake_id,
            status="withdrawn",
            updated_at=data.withdrawn_at,
            submitted_at=current.submitted_at,
            expires_at=retention.expires_at(data.school_year),
        )
        if store.release(tomb, cid):
            comp = store.get_companion(cid)
            work_off_waitlist(
                comp.school_ids if comp else [data.school_id],
                store=store,
                correlation_id=meta.correlation_id,
                at=meta.occurred_at,
            )
            return
    raise ConcurrentChangeError(data.intake_id)


def on_assignment_ended(meta: Metadata, data: AssignmentEndedData, *, store: MatchingStore) -> None:
    """A slot freed: the longest-waiting eligible student of the companion's schools gets it."""
    comp = store.get_companion(data.companion_id)
    work_off_waitlist(
        comp.school_ids if comp else [data.school_id],
        store=store,
        correlation_id=meta.correlation_id,
        at=meta.occurred_at,
    )


def on_companion_updated(meta: Metadata, data: CompanionUpdatedData, *, store: MatchingStore) -> None:
    """Companion added, capacity raised, back from leave, new school: work off those waitlists."""
    if data.active:
        work_off_waitlist(
            data.school_ids, store=store, correlation_id=meta.correlation_id, at=meta.occurred_at
        )
