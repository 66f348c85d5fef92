"""Office alerts: a student waitlisted, a companion at 100 % capacity (both collected into windows, one
digest e-mail per kind and window, with the all-clear: ``logic.digest``) and, daily, waits over 14 days.

Each alert counts once per business key, whatever the delivery: it is *claimed* in the store (conditional
write) before it is collected, marked queued afterwards and released again if collecting fails (so a retry
collects it). Keys: the student's waiting period (waitlisted, long wait), the companion and its capacity
(full; re-armed when the caseload drops below 90 % of the capacity or the capacity changes). The all-clear
of a key follows only when its digest went out (the office was told).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from common.observability import logger
from contracts import retention
from contracts.calendar import local_date
from contracts.reference import school_year_of
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.logic import digest, mail
from services.reporting.logic.mail import MailSender, send_mail
from services.reporting.logic.periods import LONG_WAIT_DAYS
from services.reporting.logic.projection import status, waiting_periods
from services.reporting.logic.waitlist import waitlist_rows
from services.reporting.models.aggregates import StudentState

log = logger("reporting")
REARM_SHARE = 0.9
"""The "companion full" alert is raised again after the caseload fell below this share of the capacity."""


def student_waitlisted(state: StudentState, *, store: AggregateStore, now: datetime) -> bool:
    """Collect the alert about a student waiting for a companion (unless placed meanwhile), at ``now`` (the
    event's time) into the waitlist window. True if collected."""
    key = digest.waitlist_key(state)
    if status(state) != "waitlisted" or key is None:
        return False
    if not store.claim_alert(
        "waitlisted", key, now, expires_at=retention.expires_at(state.school_year, state.exit_date)
    ):
        return False
    try:
        digest.collect(
            "waitlisted",
            key,
            digest.waitlisted_entry(state, waiting_periods(state)[-1][0]),
            at=now,
            store=store,
        )
    except Exception:
        store.release_alert("waitlisted", key)
        raise
    store.mark_alert("waitlisted", key, "queued", now)
    log.info("alert collected", extra={"alert": "waitlisted", "intake_id": state.intake_id})
    return True


def student_placed(state: StudentState, *, store: AggregateStore, now: datetime) -> bool:
    """The all-clear for a student who waited and is now assigned, if a digest told the office about the
    wait (once: the alert becomes ``cleared``; a retried delivery finds the same state). True if collected."""
    periods = waiting_periods(state)
    if status(state) != "assigned" or not periods or periods[-1][1] is None:
        return False
    key = digest.waitlist_key(state)
    if key is None or store.alert_state("waitlisted", key) != "sent":
        return False
    digest.collect(
        "waitlisted", f"placed#{key}", digest.placed_entry(state, periods[-1][1]), at=now, store=store
    )
    store.mark_alert("waitlisted", key, "cleared", now)
    return True


def companion_capacity(companion_id: str, school_year: str, *, store: AggregateStore, now: datetime) -> bool:
    """Collect the alert when a companion's caseload reaches the capacity – once per capacity: re-armed when
    the capacity changes or the caseload drops below :data:`REARM_SHARE` of it (one exit that the waitlist
    refills at once is no news), and then the all-clear if the office had been told. True if collected."""
    info, alerted_at, assigned = store.companion_and_counter(
        companion_id, school_year, f"companion#{companion_id}#assigned"
    )
    if info is None or info.capacity <= 0 or not info.active:
        return False
    entry = {"companion_id": companion_id, "school_year": school_year}
    if assigned < info.capacity:
        if alerted_at is not None and assigned < info.capacity * REARM_SHARE:
            told = f"{companion_id}#{alerted_at}"
            if store.alert_state("companion_full", told) == "sent":
                digest.collect(
                    "companion_full", f"freed#{told}", {**entry, "type": "freed"}, at=now, store=store
                )
            store.clear_full_alerted(companion_id)
        return False
    if alerted_at == info.capacity:
        return False
    return _companion_full(companion_id, school_year, info.capacity, store=store, now=now)


def companion_assigned(
    companion_id: str, school_year: str, caseload: int, capacity: int, *, store: AggregateStore, now: datetime
) -> bool:
    """The "full" check after an assignment whose event carries the companion's ``caseload`` after the claim
    and its ``capacity`` (matching's own count, exact at the claim): no read. An assignment raises the
    caseload, so it never re-arms the alert (the fact that lowered it did, :func:`companion_capacity`);
    the claim of the alert is conditional, so a repeat says nothing twice. True if collected."""
    if caseload < capacity:
        return False
    return _companion_full(companion_id, school_year, capacity, store=store, now=now)


def _companion_full(
    companion_id: str, school_year: str, capacity: int, *, store: AggregateStore, now: datetime
) -> bool:
    """Claim the "full" alert of the companion at ``capacity`` (once per capacity) and collect it."""
    if not store.mark_full_alerted(companion_id, capacity):
        return False
    try:
        digest.collect(
            "companion_full",
            f"{companion_id}#{capacity}",
            {"companion_id": companion_id, "school_year": school_year, "type": "full", "capacity": capacity},
            at=now,
            store=store,
        )
    except Exception:
        store.clear_full_alerted(companion_id)
        raise
    log.info("alert collected", extra={"alert": "companion_full", "companion_id": companion_id})
    return True


def long_waits(
    as_of: datetime, *, store: AggregateStore, mailer: MailSender, school_years: Iterable[str] | None = None
) -> list[str]:
    """Daily check: one email listing the students whose wait passed 14 days since the last check.
    Returns their intake ids (empty: nothing sent)."""
    years = list(school_years or _current_and_next(as_of))
    rows = [
        {**r, "school_year": sy}
        for sy in years
        for r in waitlist_rows(store.waitlist(sy), as_of)
        if r["days"] > LONG_WAIT_DAYS
    ]
    fresh, claimed = [], []
    for r in rows:
        key = f"{r['intake_id']}#{r['since'].isoformat()}"
        if store.claim_alert("long_wait", key, as_of, expires_at=retention.expires_at(r["school_year"])):
            fresh.append(r)
            claimed.append(key)
    if not fresh:
        return []
    try:
        send_mail(mailer, mail.long_wait_mail(fresh, total_long=len(rows), as_of=as_of), as_of)
    except Exception:
        for key in claimed:
            store.release_alert("long_wait", key)
        raise
    for key in claimed:
        store.mark_alert("long_wait", key, "sent", as_of)
    log.info("alert sent", extra={"alert": "long_wait", "students": len(fresh)})
    return [r["intake_id"] for r in fresh]


def _current_and_next(at: datetime) -> list[str]:
    sy = school_year_of(local_date(at))
    start = int(sy[:4]) + 1
    return [sy, f"{start}/{(start + 1) % 100:02d}"]
