"""Online assignment: a new student claims a place at the best companion of the school that has one, else
waits; every freed place is then used at once by the re-solve of the linked schools (:mod:`resolve`); the
daily sweep re-solves every school as of its scheduled time.

Every write is conditional on the state the decision was based on (the student not known yet, the
companion's registry entry as read), so a duplicate delivery or a concurrent decision makes the second write
fail without effect (``AlreadyDecidedError``) — and with it its events, which go to the outbox in the same
transaction. The reactions to incoming events that call these are :mod:`services.matching.logic.reactions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from contracts.calendar import local_date, whole_days
from contracts.events import StudentProfile
from contracts.reference import SCHOOLS
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import choose, events
from services.matching.logic import cost as cm
from services.matching.logic.assignment_rules import prepare_claim, waiting_state
from services.matching.models.matching import Assignment, Companion

if TYPE_CHECKING:
    from services.matching.logic.resolve import Resolved

MAX_CLAIM_ATTEMPTS = 20


def resolve(school_ids: list[str], **kwargs: Any) -> Resolved:
    """:func:`services.matching.logic.resolve.resolve`, imported when first needed: the solver (numpy,
    min-cost flow) is not loaded with the consumer on every cold start (docs/performance.md)."""
    from services.matching.logic import resolve as r

    return r.resolve(school_ids, **kwargs)


class ConcurrentChangeError(RuntimeError):
    """The record kept changing under us; the message is retried by SQS."""


# ----------------------------------------------------------------------------------------- assignment
def try_assign(
    intake_id: str,
    profile: StudentProfile,
    *,
    store: MatchingStore,
    from_waitlist: bool,
    at: datetime,
    correlation_id: str,
    base: Assignment | None = None,
    submitted_at: datetime | None = None,
) -> tuple[Assignment | None, list[Companion]]:
    """Claim a place at the best eligible companion as of ``at``; ``None`` if nobody has room — with the last
    read of the school's companions.

    Re-reads after a lost race (``CompanionFullError``: full meanwhile, or its registry entry changed) — never
    over capacity, never on an outdated entry. Raises ``AlreadyDecidedError`` when another delivery decided
    this student first.
    """
    comps: list[Companion] = []
    day = cm.start_day(profile, local_date(at))
    for _ in range(MAX_CLAIM_ATTEMPTS):
        comps = store.companions_for_school(profile.school_id)
        if not any(choose.eligible(profile, c, day) for c in comps):
            return None, comps  # nobody eligible: no need to read the classmates
        a = prepare_claim(
            intake_id,
            profile,
            comps,
            store.classmates(profile.school_id, profile.class_name, exclude=intake_id),
            at=at,
            base=base,
            submitted_at=submitted_at,
        )
        assert a is not None
        chosen = next(c for c in comps if c.companion_id == a.companion_id)
        waited = whole_days(a.submitted_at, at) if from_waitlist and a.submitted_at else 0
        event = events.assigned(
            a,
            correlation_id,
            from_waitlist=from_waitlist,
            waited_days=waited,
            caseload=(chosen.used + 1, chosen.capacity),
        )
        try:  # conditional on the places read too: the event tells the caseload the claim left
            store.claim(
                a, from_waitlist=from_waitlist, events=[event], revision=chosen.revision, used=chosen.used
            )
            return a, comps
        except CompanionFullError:
            continue
    return None, comps


def admit(
    intake_id: str,
    profile: StudentProfile,
    *,
    submitted_at: datetime,
    profile_updated_at: datetime | None,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> None:
    """A student new to matching, as of ``at``: assign at the best companion of the school with a free place,
    else put on the school's waitlist — and then let the re-solve see whether a linked school's free place
    can be passed on to them (or one freed between the failed claim and the waitlist write)."""
    try:
        a, comps = try_assign(
            intake_id,
            profile,
            store=store,
            from_waitlist=False,
            at=at,
            correlation_id=correlation_id,
            submitted_at=submitted_at,
        )
        if a is not None:
            return
        reason = choose.waitlist_reason(profile, comps, cm.start_day(profile, local_date(at)))
        waiting = waiting_state(
            intake_id,
            profile,
            reason,
            at=at,
            submitted_at=submitted_at,
            profile_updated_at=profile_updated_at,
        )
        store.put_waitlisted(
            waiting, events=[events.waitlisted(waiting, correlation_id, reason=reason, at=at)]
        )
    except AlreadyDecidedError:
        return  # a duplicate or an overtaking event decided first
    resolve([profile.school_id], store=store, at=at, correlation_id=correlation_id)


def sweep(*, store: MatchingStore, correlation_id: str, at: datetime) -> Resolved:
    """Daily schedule, as of its scheduled instant ``at``: re-solve every school (catches a leave or an
    active period that ended or began without a registry change)."""
    return resolve(sorted(SCHOOLS), store=store, at=at, correlation_id=correlation_id, force=True)
