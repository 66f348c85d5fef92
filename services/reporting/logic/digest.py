"""Alert digests: waitlist and capacity alerts of a window go to the office as at most one e-mail per kind.

The first alert of a kind opens a window of ``ALERT_DIGEST_MINUTES`` (default 15) from its time and schedules
the window's digest at its end (an EventBridge Scheduler one-time schedule, ``dal.alert_schedule``; locally
the runtime fires it on the simulated clock). Alerts of the window are collected (``AggregateStore``
``digest#…`` items); at the end one e-mail per kind lists what still needs the office – and gives the
all-clear: who was placed meanwhile, which companion has room again. A window whose alerts all resolved
themselves before its end sends nothing. Pseudonymous ids, schools and classes only, never names of
students (companions are named: they are staff).

Kinds and what a window collects:

* ``waitlisted`` – a student put on the waitlist (key: the waiting period), and the all-clear for a
  student placed after an earlier digest reported them waiting;
* ``companion_full`` – a companion at 100 % of the capacity (once per capacity; re-armed below 90 %),
  and the all-clear when one reported full has room again.

The daily 14-day check stays a daily e-mail of its own (``alerts.long_waits``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from common.observability import logger
from contracts.topology import ALERT_DIGEST_MINUTES_ENV
from services.reporting.dal.aggregates import AggregateStore, Window
from services.reporting.dal.alert_schedule import schedule_digest
from services.reporting.logic import mail
from services.reporting.logic.mail import MailSender, send_mail
from services.reporting.logic.projection import status, waiting_periods
from services.reporting.models.aggregates import StudentState

log = logger("reporting")
Kind = Literal["waitlisted", "companion_full"]
KINDS: tuple[Kind, ...] = ("waitlisted", "companion_full")
DEFAULT_MINUTES = 15
#: A digest claimed this long ago that never finished is taken over (a crashed run must not lose it).
STALE_CLAIM = timedelta(minutes=10)


def window_length() -> timedelta:
    """The configured window (``ALERT_DIGEST_MINUTES``, read per call; default 15 minutes)."""
    raw = os.environ.get(ALERT_DIGEST_MINUTES_ENV, "").strip()
    minutes = float(raw) if raw else DEFAULT_MINUTES
    if not 0 < minutes <= 24 * 60:
        raise ValueError(f"{ALERT_DIGEST_MINUTES_ENV} must be between 0 and 1440 minutes, not {raw!r}")
    return timedelta(minutes=minutes)


def collect(kind: Kind, key: str, entry: dict[str, Any], *, at: datetime, store: AggregateStore) -> Window:
    """Put the alert ``entry`` (key: its business key) into the window of ``kind`` open at ``at`` and make
    sure the window's digest is scheduled. Idempotent: the same key in the same window is stored once."""
    closed: str | None = None
    for _ in range(10):
        w = store.open_window(kind, at, window_length(), closed=closed)
        if store.add_to_window(w, key, entry):
            if not w.scheduled:
                schedule_digest(datetime.fromisoformat(w.end))
                store.window_scheduled(w)
            return w
        closed = w.end  # its digest started meanwhile: the next window
    raise RuntimeError(f"no open alert window for {kind}")


# ------------------------------------------------------------------------------------------ what is collected
def _student(state: StudentState, kind: str, **when: str | None) -> dict[str, Any]:
    """What a digest lists about a student: pseudonymous id, school, class – never a name."""
    ids = {"intake_id": state.intake_id, "school_id": state.school_id, "class_name": state.class_name}
    return {"type": kind, **ids, **when}


def waitlisted_entry(state: StudentState, since: datetime) -> dict[str, Any]:
    return _student(
        state,
        "waitlisted",
        school_year=state.school_year,
        since=since.isoformat(),
        reason=state.waitlist_reason,
    )


def placed_entry(state: StudentState, at: datetime) -> dict[str, Any]:
    return _student(state, "placed", at=at.isoformat())


def waitlist_key(state: StudentState) -> str | None:
    """The business key of the student's latest waiting period (the alert is about that period)."""
    periods = waiting_periods(state)
    return f"{state.intake_id}#{periods[-1][0].isoformat()}" if periods else None


# ------------------------------------------------------------------------------------------ the digest
@dataclass
class Sent:
    kind: Kind
    window_end: str
    mailed: bool
    listed: int


def flush(at: datetime, *, store: AggregateStore, mailer: MailSender) -> list[Sent]:
    """Send the digest of every window that ended by ``at`` (the schedule's time) and has not gone out."""
    done = []
    for kind in KINDS:
        for end in store.due_windows(kind, at):
            if not store.claim_window(kind, end, at, stale_after=STALE_CLAIM):
                continue
            try:
                sent = _digest(kind, end, at, store=store, mailer=mailer)
            except Exception:
                store.release_window(kind, end)
                raise
            store.window_done(kind, end, at, mailed=sent.mailed)
            done.append(sent)
            log.info(
                "alert digest",
                extra={"alert": kind, "window_end": end, "mailed": sent.mailed, "listed": sent.listed},
            )
    return done


def _digest(kind: Kind, end: str, at: datetime, *, store: AggregateStore, mailer: MailSender) -> Sent:
    entries = store.window_entries(kind, end)
    start = datetime.fromisoformat(end) - window_length()
    if kind == "waitlisted":
        m, listed, keys = _waitlist_digest(entries, start, datetime.fromisoformat(end), store=store)
    else:
        m, listed, keys = _capacity_digest(entries, start, datetime.fromisoformat(end), store=store)
    if m is not None:
        send_mail(mailer, m, at)
    if m is not None:
        for k in keys:  # what the office was told (an all-clear follows only for these)
            store.mark_alert(kind, k, "sent", at)
    return Sent(kind, end, m is not None, listed)


def _waitlist_digest(
    entries: dict[str, dict[str, Any]], start: datetime, end: datetime, *, store: AggregateStore
) -> tuple[mail.Mail | None, int, list[str]]:
    waiting, placed, meanwhile, told = [], [], [], []
    for key, e in sorted(entries.items()):
        state = store.get_state(e["intake_id"])
        if e["type"] == "placed":  # the all-clear for a student an earlier digest reported waiting
            placed.append(e)
            continue
        now = status(state) if state is not None else "withdrawn"
        if now == "waitlisted" and state is not None and waitlist_key(state) == key:
            waiting.append(e)
            told.append(key)
        elif now == "assigned" and state is not None:
            meanwhile.append(placed_entry(state, _assigned_at(state, start)))
    if not waiting and not placed:
        return None, 0, []  # every alert of the window resolved itself: nobody needs to act
    placed += meanwhile
    per_school = {
        (e["school_year"], e["school_id"]): store.counter(
            e["school_year"], f"school#{e['school_id']}#waitlisted"
        )
        for e in waiting
    }
    at_school = {sid: n for (_, sid), n in sorted(per_school.items())}
    m = mail.waitlist_digest_mail(waiting, placed, start=start, end=end, waiting_at_school=at_school)
    return m, len(waiting) + len(placed), told


def _assigned_at(state: StudentState, since: datetime) -> datetime:
    at = [e.at for e in state.timeline if e.kind in ("assigned", "reassigned") and e.at >= since]
    return at[-1] if at else since


def _capacity_digest(
    entries: dict[str, dict[str, Any]], start: datetime, end: datetime, *, store: AggregateStore
) -> tuple[mail.Mail | None, int, list[str]]:
    full, freed, told = [], [], []
    for key, e in sorted(entries.items()):
        info, alerted_at = store.companion(e["companion_id"])
        if info is None:
            continue
        assigned = store.counter(e["school_year"], f"companion#{info.companion_id}#assigned")
        row = {
            "companion_id": info.companion_id,
            "name": info.display_name,
            "school_ids": info.school_ids,
            "assigned": assigned,
            "capacity": info.capacity,
        }
        if e["type"] == "full" and info.capacity and assigned >= info.capacity and alerted_at is not None:
            full.append(row)
            told.append(key)
        elif e["type"] == "freed" and assigned < info.capacity:
            freed.append(row)
    if not full and not freed:
        return None, 0, []
    return mail.capacity_digest_mail(full, freed, start=start, end=end), len(full) + len(freed), told
