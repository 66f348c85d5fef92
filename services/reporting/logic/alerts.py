"""Office alerts by email: a student waitlisted, a companion at 100 % capacity, waits over 14 days.

Each alert is sent once per business key, whatever the delivery: the alert is *claimed* in the store
(conditional write) before it is sent, marked sent afterwards, and released again if sending fails
(so a retry sends it). Keys: the student's waiting period (waitlisted, long wait), the companion and
its capacity (full; re-armed when the caseload drops below 90 % of the capacity or the capacity changes).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from common.observability import logger
from contracts import retention
from contracts.calendar import local_date
from contracts.reference import school_year_of
from services.reporting.dal.aggregates import AggregateStore, office_address, sender_address
from services.reporting.logic import mail
from services.reporting.logic.figures import waitlist_rows
from services.reporting.logic.periods import LONG_WAIT_DAYS
from services.reporting.logic.projection import status, waiting_periods
from services.reporting.models.aggregates import StudentState

log = logger("reporting")
REARM_SHARE = 0.9
"""The "companion full" alert is sent again after the caseload fell below this share of the capacity."""


class MailSender(Protocol):
    def send(self, raw: bytes, *, to: str, sender: str) -> str: ...


def send_mail(mailer: MailSender, m: mail.Mail, at: datetime) -> str:
    """Send ``m`` to the office mailbox from the platform's sender address."""
    sender, to = sender_address(), office_address()
    return mailer.send(mail.build_message(m, sender=sender, to=to, at=at), to=to, sender=sender)


def student_waitlisted(
    state: StudentState, *, store: AggregateStore, mailer: MailSender, now: datetime
) -> bool:
    """Tell the office about a student waiting for a companion (unless placed meanwhile), at ``now`` (the
    event's time). True if sent."""
    if status(state) != "waitlisted":
        return False
    since = waiting_periods(state)[-1][0]
    key = f"{state.intake_id}#{since.isoformat()}"
    if not store.claim_alert(
        "waitlisted", key, now, expires_at=retention.expires_at(state.school_year, state.exit_date)
    ):
        return False
    try:
        waiting = store.counter(state.school_year, f"school#{state.school_id}#waitlisted")
        m = mail.waitlisted_mail(
            intake_id=state.intake_id,
            school_id=state.school_id,
            class_name=state.class_name,
            since=since,
            reason=state.waitlist_reason,
            waiting_at_school=waiting,
        )
        send_mail(mailer, m, now)
    except Exception:
        store.release_alert("waitlisted", key)
        raise
    store.alert_sent("waitlisted", key, now)
    log.info("alert sent", extra={"alert": "waitlisted", "intake_id": state.intake_id})
    return True


def companion_capacity(
    companion_id: str,
    school_year: str,
    *,
    store: AggregateStore,
    mailer: MailSender,
    now: datetime,
) -> bool:
    """Tell the office when a companion's caseload reaches the capacity. Once per capacity: the alert is
    re-armed when the capacity changes or the caseload drops below :data:`REARM_SHARE` of it (one exit
    that the waitlist refills at once is no news). True if sent."""
    info, alerted_at = store.companion(companion_id)
    if info is None or info.capacity <= 0 or not info.active:
        return False
    assigned = store.counter(school_year, f"companion#{companion_id}#assigned")
    if assigned < info.capacity:
        if alerted_at is not None and assigned < info.capacity * REARM_SHARE:
            store.clear_full_alerted(companion_id)
        return False
    if alerted_at == info.capacity or not store.mark_full_alerted(companion_id, info.capacity):
        return False
    try:
        send_mail(
            mailer,
            mail.companion_full_mail(
                companion_id=companion_id,
                name=info.display_name,
                assigned=assigned,
                capacity=info.capacity,
                school_ids=info.school_ids,
            ),
            now,
        )
    except Exception:
        store.clear_full_alerted(companion_id)
        raise
    log.info("alert sent", extra={"alert": "companion_full", "companion_id": companion_id})
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
        store.alert_sent("long_wait", key, as_of)
    log.info("alert sent", extra={"alert": "long_wait", "students": len(fresh)})
    return [r["intake_id"] for r in fresh]


def _current_and_next(at: datetime) -> list[str]:
    sy = school_year_of(local_date(at))
    start = int(sy[:4]) + 1
    return [sy, f"{start}/{(start + 1) % 100:02d}"]
