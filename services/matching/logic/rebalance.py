"""Rebalance use case: read the pool, optimise (``flow_solver.plan``), list or apply the moves.

Applying never exceeds a capacity, not even in between: the moves are ordered by
:func:`schedule` — first students who lose their place (``X → None``, back to the waitlist),
then every move whose target has a free slot (``None → Y`` assigns a waiting student,
``X → Y`` moves one), each in its own conditional transaction; when only moves into full
companions are left they form cycles (each companion gives as many as it gets), and a cycle is
written in **one** transaction (no counter changes). Every write is conditional on the state
the plan saw; a move that meets a changed state is skipped and reported, never forced.

:func:`make_room` is the same machinery, used online: when students of a school wait while a
companion of a *connected* school (one that shares a companion with it) has a free slot — e.g. a
companion serving EBS and CSS is full of CSS students while CSS's own companion has room — it
plans that component with a prohibitive move penalty (so only moves that let a waiting student in
are made, as few as possible) and applies the result. The longest-waiting students get the places
(the plan's priority is the waitlist order).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from common.events import OutgoingEvent
from contracts import retention
from contracts.calendar import local_date, whole_days
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import choose, events, flow_solver
from services.matching.logic.assignment_rules import reference_day, waiting_state
from services.matching.logic.cost import Weights
from services.matching.models.matching import Assignment, Companion, MoveOut, RebalanceResult

#: A cycle is one transaction: per move the assignment put + one outbox item + one target check (≤ 100 items).
MAX_CYCLE = 33

MAKE_ROOM_WEIGHTS = Weights(move_penalty=1000.0)
"""Online "make room": every move costs far more than any cost difference (the model's costs are
≤ 10 per student), so the plan moves a student only to let a waiting student in, and as few as
possible; which student moves then follows the cost model."""


@dataclass(frozen=True)
class Step:
    """One write: a single move, or a cycle of moves applied together."""

    moves: tuple[flow_solver.Move, ...]

    @property
    def is_cycle(self) -> bool:
        return len(self.moves) > 1


def _find_cycle(pending: Sequence[flow_solver.Move]) -> list[flow_solver.Move] | None:
    """A cycle of companion-to-companion moves among ``pending`` (deterministic), if any."""
    out: dict[str, list[flow_solver.Move]] = defaultdict(list)
    for m in pending:
        if m.from_companion_id is not None and m.to_companion_id is not None:
            out[m.from_companion_id].append(m)
    for start in pending:
        if start.from_companion_id is None or start.to_companion_id is None:
            continue
        path, seen = [start], {start.from_companion_id: 0}
        cur = start.to_companion_id
        while cur not in seen:
            nxt = out.get(cur)
            if not nxt:
                break
            seen[cur] = len(path)
            path.append(nxt[0])
            cur = nxt[0].to_companion_id  # type: ignore[assignment]
        else:
            return path[seen[cur] :]
    return None


def schedule(
    moves: Sequence[flow_solver.Move], free: dict[str, int]
) -> tuple[list[Step], list[flow_solver.Move]]:
    """Order ``moves`` so that applying them one step at a time never exceeds a capacity.

    ``free``: free slots per companion now. Returns the steps and the moves that cannot be
    ordered (their target has no room and they lie on no cycle — only possible when the counters
    differ from what the plan assumed, or a cycle is longer than :data:`MAX_CYCLE`).
    """
    room = dict(free)
    steps: list[Step] = []
    pending = sorted(moves, key=lambda m: m.intake_id)
    for m in pending:
        if m.to_companion_id is None:
            steps.append(Step((m,)))
            if m.from_companion_id is not None:
                room[m.from_companion_id] = room.get(m.from_companion_id, 0) + 1
    pending = [m for m in pending if m.to_companion_id is not None]
    while pending:
        rest: list[flow_solver.Move] = []
        for m in pending:
            assert m.to_companion_id is not None
            if room.get(m.to_companion_id, 0) > 0:
                steps.append(Step((m,)))
                room[m.to_companion_id] -= 1
                if m.from_companion_id is not None:
                    room[m.from_companion_id] = room.get(m.from_companion_id, 0) + 1
            else:
                rest.append(m)
        if len(rest) < len(pending):
            pending = rest
            continue
        cycle = _find_cycle(rest)
        if cycle is None or len(cycle) > MAX_CYCLE:
            break
        steps.append(Step(tuple(cycle)))
        done = {m.intake_id for m in cycle}
        pending = [m for m in rest if m.intake_id not in done]
    return steps, pending


def run_rebalance(
    *,
    dry_run: bool,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
    weights: Weights | None = None,
) -> RebalanceResult:
    """Optimise the whole pool as of ``at`` (the request time); with ``dry_run`` only list the moves, else
    apply them."""
    companions = store.list_companions()
    records = {
        a.intake_id: a
        for a in store.all_assignments(now=at)
        if a.status in ("assigned", "waitlisted") and a.profile is not None
    }
    students = _students(records)
    plan = flow_solver.plan(students, companions, weights, day=local_date(at))
    outs = {
        m.intake_id: MoveOut(
            intake_id=m.intake_id,
            school_id=records[m.intake_id].profile.school_id,  # type: ignore[union-attr]
            from_companion_id=m.from_companion_id,
            to_companion_id=m.to_companion_id,
            cost_before=m.cost_before,
            cost_after=m.cost_after,
            cost_change=m.cost_change,
        )
        for m in plan.moves
    }
    if not dry_run and plan.moves:
        _apply(plan, plan.moves, records, companions, outs, store=store, correlation_id=correlation_id, at=at)
    moves = [outs[m.intake_id] for m in plan.moves]
    return RebalanceResult(
        dry_run=dry_run,
        students=len(students),
        companions=len(companions),
        assigned_before=sum(1 for s in students if s.companion_id is not None),
        assigned_after=len(students) - len(plan.unassigned),
        total_cost_before=plan.total_cost_before,
        total_cost_after=plan.total_cost_after,
        cost_change=plan.cost_change,
        moves=moves,
        applied=sum(1 for m in moves if m.applied),
        skipped=sum(1 for m in moves if m.skipped_reason),
    )


def _students(records: dict[str, Assignment]) -> list[flow_solver.StudentState]:
    return [
        flow_solver.StudentState(
            a.intake_id, a.profile, a.companion_id if a.status == "assigned" else None, a.submitted_at
        )
        for a in records.values()
        if a.profile is not None
    ]


def component(school_ids: set[str], companions: Sequence[Companion]) -> tuple[set[str], list[Companion]]:
    """The schools connected to ``school_ids`` through shared companions, and those companions."""
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


def make_room(school_ids: Sequence[str], *, store: MatchingStore, correlation_id: str, at: datetime) -> int:
    """As of ``at``, let waiting students of ``school_ids`` in by moving students within their connected
    schools (see module docstring); returns how many moves were applied. Does nothing unless a companion
    of the component has a free slot and someone there waits."""
    companions = store.list_companions()
    done, seen = 0, set()
    for school in sorted(set(school_ids)):
        if school in seen:
            continue
        schools, comps = component({school}, companions)
        seen |= schools
        if len(schools) < 2 or not any(c.active and c.free > 0 for c in comps):
            continue  # nothing to gain: a school on its own has no room elsewhere to shift to
        records = {
            a.intake_id: a
            for s in sorted(schools)
            for a in store.students_of_school(s, now=at)
            if a.status in ("assigned", "waitlisted") and a.profile is not None
        }
        if not any(a.status == "waitlisted" for a in records.values()):
            continue
        students = _students(records)
        plan = flow_solver.plan(students, comps, MAKE_ROOM_WEIGHTS, day=local_date(at))
        if len(students) - len(plan.unassigned) <= sum(1 for x in students if x.companion_id is not None):
            continue  # no waiting student can get in
        moves = [m for m in plan.moves if m.to_companion_id is not None]
        outs = {
            m.intake_id: MoveOut(
                intake_id=m.intake_id,
                school_id=records[m.intake_id].profile.school_id,  # type: ignore[union-attr]
                from_companion_id=m.from_companion_id,
                to_companion_id=m.to_companion_id,
                cost_before=m.cost_before,
                cost_after=m.cost_after,
                cost_change=m.cost_change,
            )
            for m in moves
        }
        _apply(plan, moves, records, comps, outs, store=store, correlation_id=correlation_id, at=at)
        done += sum(1 for o in outs.values() if o.applied)
    return done


def _apply(  # noqa: C901
    plan: flow_solver.Plan,
    moves: Sequence[flow_solver.Move],
    records: dict[str, Assignment],
    companions: list[Companion],
    outs: dict[str, MoveOut],
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> None:
    fresh = {c.companion_id: c for c in store.list_companions()}
    free = {cid: c.free for cid, c in fresh.items()}
    steps, unordered = schedule(moves, free)
    for m in unordered:
        outs[m.intake_id].skipped_reason = "Kein freier Platz bei der Ziel-Begleitung."
    by_school: dict[str, list[Companion]] = defaultdict(list)
    for c in companions:
        for s in c.school_ids:
            by_school[s].append(c)
    for step in steps:
        news: list[tuple[Assignment, flow_solver.Move]] = []
        outgoing: list[OutgoingEvent] = []
        for m in step.moves:
            cur = records[m.intake_id]
            assert cur.profile is not None
            if m.to_companion_id is None:
                reason = choose.waitlist_reason(
                    cur.profile, by_school[cur.profile.school_id], reference_day(cur.profile, at)
                )
                new = waiting_state(
                    cur.intake_id,
                    cur.profile,
                    reason,
                    at=at,
                    submitted_at=cur.submitted_at,
                    profile_updated_at=cur.profile_updated_at,
                )
                outgoing.append(events.waitlisted(new, correlation_id, reason=reason, at=at))
            else:
                expl = plan.explanations[m.intake_id]
                new = cur.model_copy(
                    update={
                        "status": "assigned",
                        "companion_id": m.to_companion_id,
                        "cost": expl.total,
                        "explanation": dict(expl.components),
                        "assigned_at": at,
                        "updated_at": at,
                        "expires_at": retention.expires_at(cur.profile.school_year),
                        "waitlist_school": None,
                        "waitlist_reason": None,
                    }
                )
                if m.from_companion_id is None:
                    waited = whole_days(cur.submitted_at, at) if cur.submitted_at else 0
                    outgoing.append(
                        events.assigned(new, correlation_id, from_waitlist=True, waited_days=waited)
                    )
                else:
                    outgoing.append(
                        events.reassigned(
                            new, m.from_companion_id, correlation_id, cost_change=m.cost_change, at=at
                        )
                    )
            news.append((new, m))
        try:
            _write(step, news, outgoing, store)
        except (AlreadyDecidedError, CompanionFullError) as e:
            why = (
                "Die Ziel-Begleitung ist inzwischen voll oder inaktiv."
                if isinstance(e, CompanionFullError)
                else "Die Zuordnung hat sich inzwischen geändert."
            )
            for m in step.moves:
                outs[m.intake_id].skipped_reason = why
            continue
        for m in step.moves:
            outs[m.intake_id].applied = True


def _write(
    step: Step,
    news: list[tuple[Assignment, flow_solver.Move]],
    outgoing: list[OutgoingEvent],
    store: MatchingStore,
) -> None:
    if step.is_cycle:
        store.move_cycle(
            [(new, m.from_companion_id) for new, m in news if m.from_companion_id], events=outgoing
        )
        return
    ((new, m),) = news
    if m.from_companion_id is None:
        store.claim(new, from_waitlist=True, events=outgoing)
    elif m.to_companion_id is None:
        if not store.release(new, m.from_companion_id, events=outgoing):
            raise AlreadyDecidedError(m.intake_id)
    else:
        store.reassign(new, m.from_companion_id, events=outgoing)
