"""Online assignment: claim a slot at the best eligible companion, else the waitlist; work off
waitlists while capacity lasts (longest waiting first); the daily sweep over every school.

Every write is conditional on the state the decision was based on, so a duplicate delivery or a
concurrent decision makes the second write fail without effect (``AlreadyDecidedError``) — and with
it its events, which go to the outbox in the same transaction. The reactions to incoming events
that call these are :mod:`services.matching.logic.reactions`.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from datetime import datetime

from contracts.calendar import whole_days
from contracts.events import (
    StudentProfile,
)
from contracts.reference import SCHOOLS
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import choose, events
from services.matching.logic.assignment_rules import (
    has_room,
    prepare_claim,
    reference_day,
    waiting_state,
)
from services.matching.logic.rebalance import make_room
from services.matching.models.matching import Assignment, Companion

MAX_CLAIM_ATTEMPTS = 20


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
    """Claim a slot at the best eligible companion; ``None`` if nobody has room — with the last read
    of the school's companions.

    Re-reads after a lost race (``CompanionFullError``) — never over capacity. Raises
    ``AlreadyDecidedError`` when another delivery decided this student first.
    """
    comps: list[Companion] = []
    for _ in range(MAX_CLAIM_ATTEMPTS):
        comps = store.companions_for_school(profile.school_id)
        if not any(choose.eligible(profile, c, reference_day(profile, at)) for c in comps):
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
        waited = whole_days(a.submitted_at, at) if from_waitlist and a.submitted_at else 0
        try:
            store.claim(
                a,
                from_waitlist=from_waitlist,
                events=[events.assigned(a, correlation_id, from_waitlist=from_waitlist, waited_days=waited)],
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
    """A student new to matching, as of ``at``: assign at the best companion, else put on the school's
    waitlist."""
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
        reason = choose.waitlist_reason(profile, comps, reference_day(profile, at))
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
    # A slot may have freed between the failed claim and the waitlist write (lost wake-up when the
    # school's events are not serialised): look once more. Otherwise: room at a connected school?
    if has_room(store.companions_for_school(profile.school_id)):
        work_off_waitlist([profile.school_id], store=store, correlation_id=correlation_id, at=at)
    else:
        make_room([profile.school_id], store=store, correlation_id=correlation_id, at=at)


def work_off_waitlist(
    school_ids: Sequence[str], *, store: MatchingStore, correlation_id: str, at: datetime
) -> list[Assignment]:
    """As of ``at`` (the time of the event or schedule that freed capacity), assign waiting students of
    ``school_ids`` while capacity lasts: **longest waiting first**
    across the given schools (submission time, ties by intake id). A student no companion with a
    free slot may take (e.g. consent missing, everyone on leave on the start date) is skipped,
    the next one gets the slot; a school whose companions are all full is done — unless a companion
    of a connected school has room: then :func:`rebalance.make_room` moves students to let the
    longest-waiting in."""
    done: list[Assignment] = []
    schools = sorted(set(school_ids))
    exhausted: set[str] = set()
    queue = heapq.merge(*(store.waiting(s) for s in schools), key=lambda a: a.waitlisted_at or "")
    for waiting in queue:
        if waiting.profile is None or waiting.waitlist_school in exhausted:
            continue
        try:
            a, comps = try_assign(
                waiting.intake_id,
                waiting.profile,
                store=store,
                from_waitlist=True,
                at=at,
                correlation_id=correlation_id,
                base=waiting,
            )
        except AlreadyDecidedError:
            continue
        if a is not None:
            done.append(a)
            continue
        school = waiting.profile.school_id
        if not has_room(comps):
            exhausted.add(school)
            if exhausted >= set(schools):
                break
    if exhausted:
        make_room(sorted(exhausted), store=store, correlation_id=correlation_id, at=at)
    return done


def sweep(*, store: MatchingStore, correlation_id: str, at: datetime) -> list[Assignment]:
    """Daily schedule, as of its scheduled instant ``at``: every school's waitlist (catches a leave or an
    active period that ended or began without a registry change)."""
    return work_off_waitlist(sorted(SCHOOLS), store=store, correlation_id=correlation_id, at=at)
