"""Rebalance use case (office): read the whole pool, optimise it (``flow_solver.plan`` with the continuity
penalty of the cost model), list the moves with their cost change — or apply exactly the previewed moves.

The preview carries a ``plan_id``, a fingerprint of its moves; applying plans again from a fresh read and
writes only if that plan has the same fingerprint, so the office applies what it saw or gets a 409 and a new
preview. The writes are those of :mod:`apply_plan`: capacity-safe transactions, each conditional on the
state the plan was made from (a move that meets a changed state is skipped and reported, never forced).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from common.errors import ConflictError
from contracts.calendar import local_date
from services.matching.dal.store import MatchingStore
from services.matching.logic.apply_plan import apply_plan
from services.matching.logic.cost import DEFAULT_WEIGHTS, Weights
from services.matching.logic.plan_report import move_outs
from services.matching.logic.resolve import student_states
from services.matching.models.matching import RebalanceResult

if TYPE_CHECKING:
    from services.matching.logic import flow_solver

STALE_PLAN = (
    "Der Vorschlag ist nicht mehr aktuell (Zuordnungen oder Register haben sich inzwischen geändert). "
    "Bitte den Probelauf neu anzeigen und erneut anwenden."
)


def plan_id(moves: Sequence[flow_solver.Move]) -> str:
    """Fingerprint of a plan's moves (who goes from where to where)."""
    text = "\n".join(
        f"{m.intake_id}:{m.from_companion_id}:{m.to_companion_id}"
        for m in sorted(moves, key=lambda m: m.intake_id)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def run_rebalance(
    *,
    dry_run: bool,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
    expected_plan_id: str | None = None,
    weights: Weights | None = None,
) -> RebalanceResult:
    """Optimise the whole pool as of ``at``; with ``dry_run`` only list the moves, else apply them — only if
    they are the moves of ``expected_plan_id`` (the preview's), else :class:`ConflictError`."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    w = weights or DEFAULT_WEIGHTS
    today = local_date(at)
    companions = store.list_companions()
    records = {
        a.intake_id: a
        for a in store.all_assignments(now=at)
        if a.status in ("assigned", "waitlisted") and a.profile is not None
    }
    students = student_states(records.values())
    plan = flow_solver.plan(students, companions, w, today)
    pid = plan_id(plan.moves)
    if not dry_run and expected_plan_id != pid:
        raise ConflictError(STALE_PLAN)
    outs = move_outs(
        plan, plan.moves, records, companions, students=students, today=today, at=at, penalty=w.move_penalty
    )
    if not dry_run and plan.moves:
        outcome = apply_plan(
            plan,
            plan.moves,
            records,
            companions,
            store=store,
            at=at,
            correlation_id=correlation_id,
            cause=lambda m: "rebalance",
            why={o.intake_id: o.why for o in outs},
        )
        done = {m.intake_id for m in outcome.applied}
        for o in outs:
            o.applied = o.intake_id in done
            o.skipped_reason = outcome.skipped.get(o.intake_id)
    return RebalanceResult(
        dry_run=dry_run,
        plan_id=pid,
        students=len(students),
        companions=len(companions),
        assigned_before=sum(1 for s in students if s.companion_id is not None),
        assigned_after=len(students) - len(plan.unassigned),
        total_cost_before=plan.total_cost_before,
        total_cost_after=plan.total_cost_after,
        cost_change=plan.cost_change,
        move_penalty=w.move_penalty,
        moves=outs,
        applied=sum(1 for o in outs if o.applied),
        skipped=sum(1 for o in outs if o.skipped_reason),
    )
