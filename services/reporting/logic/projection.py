"""Pure projection rules: merge a fact into a student's state, and the counters a state contributes.

Correct under duplicate and out-of-order delivery by construction:

* **merge** (:func:`merge`) is commutative, associative and idempotent. The timeline is a *set* of
  entries (one per fact); the profile (class, gender, age band, German support, career fields), the
  waitlist reason and the exit are last-writer-wins by the time of their fact, ties broken by the
  content. A withdrawal erases the profile for good (docs/datenschutz.md: reporting keeps only counts).
* **counters** (:func:`counters`) are a pure function of the merged state; the store applies
  ``counters(new) - counters(old)`` together with the new state in one transaction, conditional on
  the state it read. So every student is counted exactly once in every counter whatever the
  delivery order, and applying a fact twice changes nothing.

The status is read off the timeline: the latest entry decides, ``withdrawn`` is final and after
``ended`` only a withdrawal counts.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from contracts.calendar import whole_days
from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    DestinationCompanyRecordedData,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
    InternshipEndedData,
    InternshipStartedData,
    MeetingRecordedData,
    StudentWaitlistedData,
)
from services.reporting.logic.casework_counters import (
    casework_counters,
    companion_goal_counters,
    merge_casework,
)
from services.reporting.logic.periods import week_key
from services.reporting.models.aggregates import (
    COMPANION_COUNTER,
    COMPANION_GOALS,
    OPEN_WAITS,
    EntryKind,
    Status,
    StudentState,
    TimelineEntry,
    WaitlistItem,
    day_key,
)

Fact = (
    IntakeSubmittedData
    | IntakeUpdatedData
    | IntakeWithdrawnData
    | StudentWaitlistedData
    | CompanionAssignedData
    | CompanionReassignedData
    | AssignmentEndedData
    | DestinationCompanyRecordedData
    | InternshipStartedData
    | InternshipEndedData
    | MeetingRecordedData
)
#: Facts of the casework: they add to the student's internships and meetings, not to the timeline.
CASEWORK_FACTS = (
    DestinationCompanyRecordedData,
    InternshipStartedData,
    InternshipEndedData,
    MeetingRecordedData,
)
CounterKey = tuple[str, str]
"""(partition, counter) – partition ``year#<school year>``."""

_STATUS_OF_KIND: dict[str, Status] = {
    "submitted": "submitted",
    "waitlisted": "waitlisted",
    "assigned": "assigned",
    "reassigned": "assigned",
    "ended": "ended",
    "withdrawn": "withdrawn",
}
WAIT_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0", 0, 0),
    ("1-7", 1, 7),
    ("8-14", 8, 14),
    ("15-28", 15, 28),
    ("29+", 29, None),
)
"""Waiting time until the first assignment, in days: (key, from, to)."""
TRAINING_DESTINATIONS = ("dual_training", "school_based_training")
NO_STATUS = "none"
"""The ``from`` of a student's first status in the ``move#`` counters (the student was not known before)."""


def year_partition(school_year: str) -> str:
    return f"year#{school_year}"


# ----------------------------------------------------------------------------------------------- merge
def _entry(fact: Fact) -> TimelineEntry:
    kind: EntryKind
    companion = ""
    match fact:
        case IntakeSubmittedData():
            at, kind = fact.submitted_at, "submitted"
        case IntakeWithdrawnData():
            at, kind = fact.withdrawn_at, "withdrawn"
        case StudentWaitlistedData():
            at, kind = fact.waitlisted_at, "waitlisted"
        case CompanionAssignedData():
            at, kind, companion = fact.assigned_at, "assigned", fact.companion_id
        case CompanionReassignedData():
            at, kind, companion = fact.reassigned_at, "reassigned", fact.to_companion_id
        case AssignmentEndedData():
            at, kind = fact.ended_at, "ended"
        case _:
            raise TypeError(f"{type(fact).__name__} adds no timeline entry")
    return TimelineEntry(at=at, kind=kind, companion_id=companion)


def _profile(fact: Fact) -> tuple[datetime, dict[str, Any]] | None:
    if isinstance(
        fact, IntakeSubmittedData | IntakeUpdatedData | StudentWaitlistedData | CompanionAssignedData
    ):
        at = (
            fact.submitted_at
            if isinstance(fact, IntakeSubmittedData)
            else fact.updated_at
            if isinstance(fact, IntakeUpdatedData)
            else fact.waitlisted_at
            if isinstance(fact, StudentWaitlistedData)
            else fact.assigned_at
        )
        return at, {
            "school_id": fact.school_id,
            "school_year": fact.school_year,
            "class_name": fact.class_name,
            "gender": fact.gender,
            "age_band": fact.age_band,
            "german_support": fact.german_support,
            "career_fields": sorted(fact.career_fields),
        }
    return None


def _newer(at: datetime, value: Any, current_at: datetime | None, current: Any) -> bool:
    """Last writer wins; equal times are decided by the content, so the order of delivery never matters."""
    if current_at is None or at > current_at:
        return True
    return at == current_at and json.dumps(value, sort_keys=True, default=str) > json.dumps(
        current, sort_keys=True, default=str
    )


_PROFILE_FIELDS = (
    "school_id",
    "school_year",
    "class_name",
    "gender",
    "age_band",
    "german_support",
    "career_fields",
)


def _current_profile(s: StudentState) -> dict[str, Any]:
    return {f: getattr(s, f) for f in _PROFILE_FIELDS}


def _merge_withdrawal(s: StudentState, fact: Fact) -> None:
    if isinstance(fact, IntakeWithdrawnData):  # final: one withdrawal per intake, a repeat says the same
        s.withdrawn_reason = fact.reason


def merge(state: StudentState | None, fact: Fact) -> StudentState:
    """The state after ``fact`` (a new object; ``state`` is not modified)."""
    s = (
        state.model_copy(deep=True)
        if state
        else StudentState(intake_id=fact.intake_id, school_id=fact.school_id, school_year=fact.school_year)
    )
    if not isinstance(fact, (IntakeUpdatedData, *CASEWORK_FACTS)):
        entry = _entry(fact)
        if entry not in s.timeline:
            s.timeline = sorted([*s.timeline, entry], key=TimelineEntry.sort_key)
    withdrawn = any(e.kind == "withdrawn" for e in s.timeline)
    profile = _profile(fact)
    if profile and not withdrawn and _newer(profile[0], profile[1], s.profile_at, _current_profile(s)):
        for k, v in profile[1].items():
            setattr(s, k, v)
        s.profile_at = profile[0]
    if isinstance(fact, StudentWaitlistedData) and _newer(
        fact.waitlisted_at, fact.reason, s.waitlist_reason_at, s.waitlist_reason
    ):
        s.waitlist_reason, s.waitlist_reason_at = fact.reason, fact.waitlisted_at
    if isinstance(fact, AssignmentEndedData):
        exit_value = [fact.reason, fact.destination, str(fact.exit_date)]
        stored = [s.exit_reason, s.destination, str(s.exit_date)]
        if _newer(fact.ended_at, exit_value, s.exit_at, stored):
            s.exit_reason, s.destination, s.exit_at = fact.reason, fact.destination, fact.ended_at
            s.exit_date = fact.exit_date
    if isinstance(fact, DestinationCompanyRecordedData) and _newer(
        fact.recorded_at, fact.former_internship_company, s.with_former_company_at, s.with_former_company
    ):  # the Klebeeffekt, as casework compared the exit company with the internships
        s.with_former_company, s.with_former_company_at = fact.former_internship_company, fact.recorded_at
    merge_casework(s, fact)
    _merge_withdrawal(s, fact)
    if withdrawn:  # erasure: only the school placement and the timeline stay
        s.class_name = s.gender = s.age_band = s.german_support = None
        s.career_fields = []
        s.profile_at = None
        s.internships, s.goal_meetings = {}, {}
    return s


def merge_all(state: StudentState | None, facts: Iterable[Fact]) -> StudentState | None:
    for f in facts:
        state = merge(state, f)
    return state


# --------------------------------------------------------------------------------------------- reading
def status_timeline(s: StudentState) -> list[tuple[datetime, Status, str]]:
    """``(time, status, companion)`` at every change of status; terminal rules applied."""
    out: list[tuple[datetime, Status, str]] = []
    for e in s.timeline:
        status = _STATUS_OF_KIND[e.kind]
        if out and out[-1][1] == "withdrawn":
            break
        if out and out[-1][1] == "ended" and status != "withdrawn":
            continue
        if out and out[-1][1] == status:
            if status == "assigned":  # a reassignment changes the companion, not the status
                out[-1] = (out[-1][0], status, e.companion_id or out[-1][2])
            continue
        out.append((e.at, status, e.companion_id))
    return out


def status(s: StudentState) -> Status:
    tl = status_timeline(s)
    return tl[-1][1] if tl else "submitted"


def companion(s: StudentState) -> str | None:
    """The current companion while the student is assigned (the latest assignment or reassignment)."""
    if status(s) != "assigned":
        return None
    entries = [e for e in s.timeline if e.kind in ("assigned", "reassigned")]
    return entries[-1].companion_id if entries else None


def waiting_periods(s: StudentState) -> list[tuple[datetime, datetime | None]]:
    periods: list[tuple[datetime, datetime | None]] = []
    tl = status_timeline(s)
    for i, (at, st, _) in enumerate(tl):
        if st == "waitlisted":
            periods.append((at, tl[i + 1][0] if i + 1 < len(tl) else None))
    return periods


def first_at(s: StudentState, st: Status) -> datetime | None:
    return next((at for at, x, _ in status_timeline(s) if x == st), None)


def waited_days_until_assignment(s: StudentState) -> int | None:
    """Days from the first waitlisting to the first assignment (0 without waiting); None if never assigned."""
    assigned = first_at(s, "assigned")
    if assigned is None:
        return None
    waited = first_at(s, "waitlisted")
    return whole_days(waited, assigned) if waited is not None else 0


def wait_bucket(days: int) -> str:
    for key, lo, hi in WAIT_BUCKETS:
        if days >= lo and (hi is None or days <= hi):
            return key
    raise ValueError(days)


def waitlist_item(s: StudentState) -> WaitlistItem | None:
    periods = waiting_periods(s)
    if not periods:
        return None
    return WaitlistItem(
        intake_id=s.intake_id,
        school_id=s.school_id,
        school_year=s.school_year,
        class_name=s.class_name,
        reason=s.waitlist_reason,
        periods=periods,
    )


# -------------------------------------------------------------------------------------------- counters
def counters(s: StudentState | None) -> Counter[CounterKey]:  # noqa: C901
    """Every counter this student contributes to (value 1, or ±1 for weekly net changes).

    Keys (partition ``year#<school year>``):

    * ``school#<school>#intakes`` and ``school#<school>#<status>`` – current status
    * ``companion#<id>#assigned`` – current caseload
    * ``gender|age|german|class#<school>#<value>``, ``career#<field>`` – participants (not withdrawn)
    * ``exit#<school>#<reason>``, ``dest#<destination>#<1|0 with former internship company>``
    * ``withdrawn#<school>#<reason>`` – withdrawals by the reason the school gave
    * ``wait#<bucket>`` – waiting days until the first assignment
    * ``new#<week>#<school>#intakes|assigned|waitlisted`` – facts of that calendar week
    * ``lvl#<week>#<school>#<status>`` – net change of the status counts in that week (a level at the
      end of week W is the sum over the weeks up to W)
    * ``move#<week>#<school>#<from>#<to>`` – changes of status in that week (``from`` = :data:`NO_STATUS`
      for the first one): the inflows and outflows whose difference ``lvl`` is

    and, in the partition ``waitopen#<school year>``, ``<UTC day>`` – students waiting now, by the day their
    wait began (what a report sums instead of reading every waiting student); in the partition
    ``goals#<school year>``, ``<companion>#students|done|due<k>`` – the goal-agreement figures of a
    companion's students, stored as attributes of the companion's item (``dal.aggregates``)
    """
    out: Counter[CounterKey] = Counter()
    if s is None:
        return out
    p = year_partition(s.school_year)
    sid = s.school_id

    def add(key: str, n: int = 1) -> None:
        out[(p, key)] += n

    st = status(s)
    add(f"school#{sid}#intakes")
    add(f"school#{sid}#{st}")
    comp = companion(s)
    if comp:
        add(f"{COMPANION_COUNTER}#{comp}#assigned")
    if st != "withdrawn" and s.gender is not None:
        add(f"gender#{sid}#{s.gender}")
        add(f"age#{sid}#{s.age_band}")
        add(f"german#{sid}#{'yes' if s.german_support else 'no'}")
        add(f"class#{sid}#{s.class_name}")
        for f in s.career_fields:
            add(f"career#{f}")
    if st == "ended" and s.exit_reason:
        add(f"exit#{sid}#{s.exit_reason}")
        add(f"dest#{s.destination}#{1 if s.with_former_company else 0}")
    if st == "withdrawn" and s.withdrawn_reason:
        add(f"withdrawn#{sid}#{s.withdrawn_reason}")
    waited = waited_days_until_assignment(s)
    if waited is not None and st != "withdrawn":
        add(f"wait#{wait_bucket(waited)}")
    tl = status_timeline(s)
    submitted = first_at(s, "submitted") or (tl[0][0] if tl else None)
    if submitted is not None:
        add(f"new#{week_key(submitted)}#{sid}#intakes")
    assigned = first_at(s, "assigned")
    if assigned is not None:
        add(f"new#{week_key(assigned)}#{sid}#assigned")
    periods = waiting_periods(s)
    for start, _ in periods:
        add(f"new#{week_key(start)}#{sid}#waitlisted")
    if periods and periods[-1][1] is None:  # waiting now: counted by the day the wait began
        out[(f"{OPEN_WAITS}#{s.school_year}", day_key(periods[-1][0]))] += 1
    for i, (at, now, _) in enumerate(tl):
        add(f"lvl#{week_key(at)}#{sid}#{now}")
        if i:
            add(f"lvl#{week_key(at)}#{sid}#{tl[i - 1][1]}", -1)
        add(f"move#{week_key(at)}#{sid}#{tl[i - 1][1] if i else NO_STATUS}#{now}")
    if st in ("assigned", "ended"):
        for key, n in casework_counters(s, status=st, companion=comp, assigned_at=assigned).items():
            add(key, n)
        for key, n in companion_goal_counters(s, status=st, companion=comp, assigned_at=assigned).items():
            out[(f"{COMPANION_GOALS}#{s.school_year}", key)] += n
    return Counter({k: v for k, v in out.items() if v})


def deltas(old: StudentState | None, new: StudentState | None) -> Counter[CounterKey]:
    """``counters(new) - counters(old)`` with negative values kept, zeros dropped."""
    d: Counter[CounterKey] = Counter(counters(new))
    d.subtract(counters(old))
    return Counter({k: v for k, v in d.items() if v})
