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
from contracts.calendar import local_date
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
from services.matching.logic.apply_plan import with_history
from services.matching.logic.assign import MAX_CLAIM_ATTEMPTS, ConcurrentChangeError, admit
from services.matching.logic.assignment_rules import (
    MAX_RACE_RETRIES,
    prepare_claim,
    profile_of,
    reference_day,
    submitted_at_of,
    waiting_state,
)
from services.matching.logic.resolve import assignment_start, resolve
from services.matching.models.matching import Assignment, AssignmentChange


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
    """Re-evaluate a student whose matching inputs changed (rules: module docstring), as of the event."""
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
    resolve([profile.school_id], store=store, at=at, correlation_id=correlation_id)


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
    assert old_cid is not None and current.profile is not None
    old = store.get_companion(old_cid)
    kept = current.model_copy(
        update={
            "profile": profile,
            "profile_updated_at": updated_at,
            "updated_at": at,
            "expires_at": retention.expires_at(profile.school_year),
        }
    )
    starts_on = assignment_start(kept)
    if old is not None and not cm.kept_violations(profile, old, starts_on=starts_on, today=local_date(at)):
        store.replace_assigned(kept)
        return
    new = _move_to_new_school(
        current, profile, updated_at, old_cid, store=store, at=at, correlation_id=correlation_id
    )
    if new is None:  # nobody at the new school has room: back to the waitlist, keeping the submission time
        reason = choose.waitlist_reason(
            profile, store.companions_for_school(profile.school_id), reference_day(profile, at)
        )
        change = AssignmentChange(at=at, from_companion_id=old_cid, cause="school_change")
        new = waiting_state(
            current.intake_id,
            profile,
            reason,
            at=at,
            submitted_at=current.submitted_at,
            profile_updated_at=updated_at,
        ).model_copy(update={"history": with_history(current, change)})
        if not store.release(
            new, old_cid, events=[events.waitlisted(new, correlation_id, reason=reason, at=at)]
        ):
            raise AlreadyDecidedError(current.intake_id)
    schools = {profile.school_id, current.profile.school_id, *(old.school_ids if old else [])}
    resolve(schools, store=store, at=at, correlation_id=correlation_id)


def _move_to_new_school(
    current: Assignment,
    profile: StudentProfile,
    updated_at: datetime,
    old_cid: str,
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
) -> Assignment | None:
    """The student's pair broke (school changed, consent missing, companion inactive): the best companion of
    the (new) school with a free place (``CompanionReassigned``), or ``None`` if nobody has one."""
    base = current.model_copy(update={"profile_updated_at": updated_at})
    for _ in range(MAX_CLAIM_ATTEMPTS):
        comps = store.companions_for_school(profile.school_id)
        new = prepare_claim(
            current.intake_id,
            profile,
            comps,
            store.classmates(profile.school_id, profile.class_name, exclude=current.intake_id),
            at=at,
            base=base,
        )
        if new is None:
            return None
        change = new.history[-1].model_copy(update={"from_companion_id": old_cid, "cause": "school_change"})
        new = new.model_copy(update={"history": [*new.history[:-1], change]})
        cost_change = (new.cost or 0.0) - (current.cost or 0.0)
        event = events.reassigned(
            new, old_cid, correlation_id, cost_change=cost_change, at=at, cause="school_change"
        )
        revision = next(c.revision for c in comps if c.companion_id == new.companion_id)
        try:
            store.reassign(new, old_cid, events=[event], revision=revision)
        except CompanionFullError:
            continue
        return new
    return None


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
            resolve(
                comp.school_ids if comp else [data.school_id],
                store=store,
                at=meta.occurred_at,
                correlation_id=meta.correlation_id,
            )
            return
    raise ConcurrentChangeError(data.intake_id)


def on_assignment_ended(meta: Metadata, data: AssignmentEndedData, *, store: MatchingStore) -> None:
    """A place freed: the re-solve of the companion's linked schools uses it at once."""
    comp = store.get_companion(data.companion_id)
    resolve(
        comp.school_ids if comp else [data.school_id],
        store=store,
        at=meta.occurred_at,
        correlation_id=meta.correlation_id,
    )


def on_companion_updated(meta: Metadata, data: CompanionUpdatedData, *, store: MatchingStore) -> None:
    """Companion added or changed: the registry use case applied the change through matching already; the
    re-solve of its linked schools here is the safety net of the same delivery (it finds nothing to do when
    the change's own re-solve ran)."""
    resolve(data.school_ids, store=store, at=meta.occurred_at, correlation_id=meta.correlation_id, force=True)
