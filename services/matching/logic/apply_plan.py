"""Applying a plan (``flow_solver.Plan``): every move's new record and event, ordered and grouped into
transactions so that no companion is ever above its capacity, each written with
:meth:`MatchingStore.commit` — conditional on the counters, registry revisions and student states the plan
was made from. A transaction that meets a changed state writes nothing, and the moves from there on are
reported as skipped (the caller plans again from a fresh read).

Order (:func:`schedule`): students who lose their place first (``X → None``), then every move whose target
has a free slot, then cycles of moves between full companions (each companion gives as many as it gets).
Consecutive steps are packed into one transaction up to DynamoDB's 100 items (:func:`transactions`): a plan
that fits one transaction — every online re-solve of the demo county does — is applied atomically.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from common.events import OutgoingEvent
from contracts import retention
from contracts.calendar import local_date, whole_days
from contracts.events import ReassignmentCause
from services.matching.dal.store import (
    MAX_TRANSACTION_ITEMS,
    CompanionWrite,
    MatchingStore,
    StaleStateError,
    StudentWrite,
)
from services.matching.logic import choose, events
from services.matching.logic import cost as cm
from services.matching.logic.assignment_rules import waiting_state
from services.matching.models.matching import (
    MAX_HISTORY,
    Assignment,
    AssignmentChange,
    Companion,
)

if TYPE_CHECKING:
    from services.matching.logic import flow_solver

MAX_CYCLE = 33
"""Longest cycle of moves between full companions: one transaction holds per move its record, its event and
its target's counter (3 × 33 ≤ 100)."""

STALE = "Der Stand hat sich inzwischen geändert; nicht angewendet."
NO_ROOM = "Kein freier Platz bei der Ziel-Begleitung."


@dataclass(frozen=True)
class Step:
    """One unit of the order: a single move, or a cycle of moves that only works as a whole."""

    moves: tuple[flow_solver.Move, ...]

    @property
    def is_cycle(self) -> bool:
        return len(self.moves) > 1


@dataclass
class Outcome:
    """What :func:`apply_plan` wrote: the applied moves, and the skipped ones with a German reason."""

    applied: list[flow_solver.Move] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def stale(self) -> bool:
        return STALE in self.skipped.values()


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
    moves: Sequence[flow_solver.Move], free: Mapping[str, int]
) -> tuple[list[Step], list[flow_solver.Move]]:
    """Order ``moves`` so that applying them one step at a time never exceeds a capacity.

    ``free``: capacity minus students per companion now (negative when a registry change lowered the capacity
    below the caseload). Returns the steps and the moves that cannot be ordered (their target has no room and
    they lie on no cycle — only possible when the counters differ from what the plan assumed, or a cycle is
    longer than :data:`MAX_CYCLE`).
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


def _companions_of(moves: Sequence[flow_solver.Move]) -> set[str]:
    return {c for m in moves for c in (m.from_companion_id, m.to_companion_id) if c is not None}


def transactions(steps: Sequence[Step], *, reserved: int = 0) -> list[list[Step]]:
    """Consecutive ``steps`` packed into transactions of at most ``MAX_TRANSACTION_ITEMS`` items: per move
    its record and its event, per companion involved its counter; ``reserved`` items stay free in the first
    one."""
    out: list[list[Step]] = []
    batch: list[Step] = []
    budget = MAX_TRANSACTION_ITEMS - reserved
    for step in steps:
        candidate = [*batch, step]
        moves = [m for s in candidate for m in s.moves]
        if batch and 2 * len(moves) + len(_companions_of(moves)) > budget:
            out.append(batch)
            batch, budget = [step], MAX_TRANSACTION_ITEMS
        else:
            batch = candidate
    if batch:
        out.append(batch)
    return out


def with_history(a: Assignment, change: AssignmentChange) -> list[AssignmentChange]:
    """``a``'s history with ``change`` appended (only the newest :data:`MAX_HISTORY` entries are kept)."""
    return [*a.history, change][-MAX_HISTORY:]


def moved_record(
    cur: Assignment,
    m: flow_solver.Move,
    plan: flow_solver.Plan,
    school_companions: Sequence[Companion],
    *,
    at: datetime,
    correlation_id: str,
    cause: ReassignmentCause,
    why: str | None = None,
) -> tuple[Assignment, OutgoingEvent]:
    """The student's record after move ``m`` of ``plan`` and its event: ``CompanionAssigned`` (from the
    waitlist), ``CompanionReassigned`` (``cause``) or ``StudentWaitlisted`` (nobody can keep the student);
    ``why`` (German) goes into the history of the assignment."""
    assert cur.profile is not None
    change = AssignmentChange(
        at=at,
        from_companion_id=m.from_companion_id,
        to_companion_id=m.to_companion_id,
        cause="waitlist" if m.from_companion_id is None else cause,
        why=why,
    )
    if m.to_companion_id is None:
        day = cm.start_day(cur.profile, local_date(at))
        reason = choose.waitlist_reason(cur.profile, school_companions, day)
        new = waiting_state(
            cur.intake_id,
            cur.profile,
            reason,
            at=at,
            submitted_at=cur.submitted_at,
            profile_updated_at=cur.profile_updated_at,
        ).model_copy(update={"history": with_history(cur, change)})
        return new, events.waitlisted(new, correlation_id, reason=reason, at=at)
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
            "waitlisted_at": None,
            "waitlist_reason": None,
            "history": with_history(cur, change.model_copy(update={"cost": expl.total})),
        }
    )
    if m.from_companion_id is None:
        waited = whole_days(cur.submitted_at, at) if cur.submitted_at else 0
        return new, events.assigned(new, correlation_id, from_waitlist=True, waited_days=waited)
    return new, events.reassigned(
        new, m.from_companion_id, correlation_id, cost_change=m.cost_change, at=at, cause=cause
    )


def companion_writes(
    moves: Sequence[flow_solver.Move], companions: Mapping[str, Companion]
) -> list[CompanionWrite]:
    """The counter writes of ``moves``, guarded: a companion that receives students must still be at the
    revision the plan saw and end at most at its capacity; one that only gives needs that many."""
    delta: Counter[str] = Counter()
    targets = set()
    for m in moves:
        if m.from_companion_id is not None:
            delta[m.from_companion_id] -= 1
        if m.to_companion_id is not None:
            delta[m.to_companion_id] += 1
            targets.add(m.to_companion_id)
    out = []
    for cid in sorted(set(delta) | targets):
        c = companions[cid]
        target = cid in targets
        out.append(
            CompanionWrite(
                cid,
                seen_revision=c.revision,
                delta=delta[cid],
                limit=c.capacity - delta[cid] if target else None,
                target=target,
            )
        )
    return out


def apply_plan(
    plan: flow_solver.Plan,
    moves: Sequence[flow_solver.Move],
    records: Mapping[str, Assignment],
    companions: Sequence[Companion],
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
    cause: Callable[[flow_solver.Move], ReassignmentCause],
    why: Mapping[str, str] | None = None,
) -> Outcome:
    """Write ``moves`` (of ``plan``, made from ``records`` and ``companions`` as read) in capacity-safe
    transactions; stop at the first that meets a changed state (see module docstring). ``cause`` says why a
    student moves (events and history), ``why`` explains each move in German (history), by intake id."""
    comps = {c.companion_id: c for c in companions}
    by_school: dict[str, list[Companion]] = defaultdict(list)
    for c in companions:
        for s in c.school_ids:
            by_school[s].append(c)
    steps, unordered = schedule(moves, {cid: c.capacity - c.used for cid, c in comps.items()})
    out = Outcome(skipped={m.intake_id: NO_ROOM for m in unordered})
    batches = transactions(steps)
    for i, batch in enumerate(batches):
        batch_moves = [m for s in batch for m in s.moves]
        writes, outgoing = [], []
        for m in batch_moves:
            cur = records[m.intake_id]
            assert cur.profile is not None
            new, event = moved_record(
                cur,
                m,
                plan,
                by_school[cur.profile.school_id],
                at=at,
                correlation_id=correlation_id,
                cause=cause(m),
                why=(why or {}).get(m.intake_id),
            )
            writes.append(StudentWrite(new, m.from_companion_id))
            outgoing.append(event)
        cws = companion_writes(batch_moves, comps)
        try:
            store.commit(writes, cws, events=outgoing)
        except StaleStateError:
            for later in batches[i:]:
                out.skipped.update({m.intake_id: STALE for s in later for m in s.moves})
            break
        out.applied += batch_moves
    return out
