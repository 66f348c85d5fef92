"""Every freed place used at once: the re-solve of the schools linked through shared companions.

Whenever capacity may have appeared — an exit, a withdrawal, a capacity raise, a leave that ended, a new
companion, a school added — or an assignment may have become impossible (a companion's activity ended), the
matching service re-solves the **component** of the schools concerned: the schools connected through
companions that serve more than one of them (a companion serving EBS and CSS links the two). The component
is planned as one min-cost flow (:func:`flow_solver.plan`) with a prohibitive move penalty
(:data:`MAKE_ROOM_WEIGHTS`), so the plan

1. assigns as many students as the capacities, schools, activity and leave allow (the maximum),
2. keeps every student who has a companion with one, and lets the longest-waiting students in first,
3. moves an assigned student only where that places someone — a waiting student, or a student whose
   companion can no longer keep them — and then as few as possible, the cheapest chain of moves under the
   cost model (who moves where is explained by the cost of each move),

and writes it at once, in the delivery of the event that freed the place (:mod:`apply_plan`). A plan made
from a state that changed meanwhile writes nothing and is made again (:data:`MAX_ATTEMPTS`).

Cheap when nothing can change: the companions alone show whether any has a free place (or ended with
students); only then are the waiting students and the component's students read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from contracts.calendar import local_date
from contracts.events import ReassignmentCause
from services.matching.dal.store import MatchingStore
from services.matching.logic import cost as cm
from services.matching.logic.apply_plan import Outcome, apply_plan
from services.matching.logic.cost import Weights
from services.matching.logic.plan_report import move_outs
from services.matching.models.matching import Assignment, Companion

if TYPE_CHECKING:
    from services.matching.logic import flow_solver

MAKE_ROOM_WEIGHTS = Weights(move_penalty=1000.0)
"""Every move costs far more than any difference of the cost model (≤ 10.5 per student): a student moves
only to let someone in (a waiting student, or one whose companion can no longer keep them), and as few as
possible; which student moves, and where, follows the cost model."""

MAX_ATTEMPTS = 3
"""Plans made again after a concurrent change before the re-solve gives up (the next event or the daily sweep
catches up)."""


@dataclass
class Resolved:
    """What a re-solve wrote: per component the applied moves (and the skipped ones)."""

    applied: list[flow_solver.Move] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    components: int = 0


def component(school_ids: Iterable[str], companions: Sequence[Companion]) -> tuple[set[str], list[Companion]]:
    """The schools connected to ``school_ids`` through shared companions, and those schools' companions."""
    schools, comps = set(school_ids), []
    changed = True
    while changed:
        changed = False
        comps = [c for c in companions if schools & set(c.school_ids)]
        more = {s for c in comps for s in c.school_ids} - schools
        if more:
            schools |= more
            changed = True
    return schools, sorted(comps, key=lambda c: c.companion_id)


def assignment_start(a: Assignment) -> date | None:
    """First day of ``a``'s current assignment: ``cost.start_day`` on the day it was made."""
    if a.profile is None or a.assigned_at is None:
        return None
    return cm.start_day(a.profile, local_date(a.assigned_at))


def student_states(records: Iterable[Assignment]) -> list[flow_solver.StudentState]:
    """The plan's view of assigned and waiting students (others, and records without a profile, are left
    out)."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    return [
        flow_solver.StudentState(
            a.intake_id,
            a.profile,
            a.companion_id if a.status == "assigned" else None,
            a.submitted_at,
            assignment_start(a) if a.status == "assigned" else None,
            pinned=a.status == "assigned" and bool(a.history) and a.history[-1].by == "office",
        )
        for a in records
        if a.profile is not None and a.status in ("assigned", "waitlisted")
    ]


def may_gain(companions: Iterable[Companion]) -> bool:
    """Some companion has a free place (whether anyone may take it is the plan's question)."""
    return any(c.active and c.used < c.capacity for c in companions)


def ended_with_students(companions: Iterable[Companion], today: date) -> bool:
    """Some companion can no longer keep its students: inactive, or its active period is over."""
    return any(
        c.used > 0 and (not c.active or (c.active_until is not None and today > c.active_until))
        for c in companions
    )


def cause_of(
    students: Sequence[flow_solver.StudentState], companions: Sequence[Companion], today: date
) -> Callable[[flow_solver.Move], ReassignmentCause]:
    """Why a move happens: the student's companion can no longer keep them (``registry_change``), else to let
    someone in (``make_room``)."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    by_id = {c.companion_id: c for c in companions}
    current = {s.intake_id: s for s in students}

    def cause(m: flow_solver.Move) -> ReassignmentCause:
        s, c = current.get(m.intake_id), by_id.get(m.from_companion_id or "")
        if s is not None and c is not None and not flow_solver.pair_allowed(s, c, today):
            return "registry_change"
        return "make_room"

    return cause


def component_records(store: MatchingStore, schools: Iterable[str], at: datetime) -> dict[str, Assignment]:
    """Assigned and waiting students of ``schools`` (with their profile) as of ``at``, by intake id."""
    return {
        a.intake_id: a
        for s in sorted(schools)
        for a in store.students_of_school(s, now=at)
        if a.status in ("assigned", "waitlisted") and a.profile is not None
    }


def resolve_once(
    schools: set[str],
    comps: list[Companion],
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
    force: bool,
) -> Outcome | None:
    """Plan and apply one component (``None``: nothing to do)."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    today = local_date(at)
    broken = ended_with_students(comps, today)
    waiting = (next(iter(store.waiting(s, page_size=1)), None) for s in sorted(schools))
    if not force and not broken and (not may_gain(comps) or not any(waiting)):
        return None
    records = component_records(store, schools, at)
    students = student_states(records.values())
    plan = flow_solver.plan(students, comps, MAKE_ROOM_WEIGHTS, today)
    if not plan.moves:
        return None
    rows = move_outs(plan, plan.moves, records, comps, students=students, today=today, at=at)
    return apply_plan(
        plan,
        plan.moves,
        records,
        comps,
        store=store,
        at=at,
        correlation_id=correlation_id,
        cause=cause_of(students, comps, today),
        why={r.intake_id: r.why for r in rows},
    )


def resolve(
    school_ids: Iterable[str],
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
    force: bool = False,
) -> Resolved:
    """Re-solve the components of ``school_ids`` as of ``at`` (the time of the event or schedule that may have
    freed capacity) and write the plan; see the module docstring. ``force`` reads the students even when the
    companions alone show nothing to gain (a registry change, the daily sweep)."""
    out = Resolved()
    done: set[str] = set()
    for school in sorted(set(school_ids)):
        if school in done:
            continue
        for _ in range(MAX_ATTEMPTS):
            schools, comps = component({school}, store.list_companions())
            done |= schools
            outcome = resolve_once(
                schools, comps, store=store, at=at, correlation_id=correlation_id, force=force
            )
            if outcome is None:
                break
            out.applied += outcome.applied
            if not outcome.stale:
                out.skipped.update(outcome.skipped)
                break
        out.components += 1
    return out
