"""Whole-pool rebalance as a min-cost flow (pure: no I/O, no boto3).

Network (OR-Tools ``SimpleMinCostFlow``, integer costs in ``cost.COST_SCALE`` units)::

    student s ──cap 1, pair(s, c) + move(s, c)──▶ companion c ──slot arcs k = 0…capacity-1,
    (supply 1)                                                   cap 1 each, slot(c, k)──▶ sink (demand n)
        └─────────────────cap 1, unassigned(s)────────────────────────────────────────▶ sink

* ``pair(s, c)``: the cost model's components (``cost.components``) without the load component,
  each converted with ``cost.to_units``. Only pairs passing the hard rules get an arc (school,
  active / not on leave on the start date, consent); capacity is the flow constraint below.
* ``move(s, c)``: ``to_units(weights.move_penalty)`` if the student is currently assigned to a
  companion other than ``c``, else 0.
* ``slot(c, k) = to_units(round(weights.load_balance × k / capacity, 6))`` for ``k = 0 …
  capacity-1``: companion ``c`` has exactly ``capacity`` unit arcs to the sink, so capacity is
  never exceeded, and the k-th student there pays what the online assignment charges at
  ``used = k``. The marginal cost grows with the load (convex), so the flow balances load
  exactly; a single arc with a fixed ``used / capacity`` cost would pile students onto the
  emptiest companion instead.
* ``unassigned(s) = (n − i) × D`` with ``i`` the student's priority index and
  ``D = n × B + 1`` (``B`` bounds one student's path cost). Because which students *can* be
  assigned together forms a (transversal) matroid and ``D`` exceeds any difference in
  assignment cost, the optimum is lexicographic: (1) as many students assigned as
  possible; (2) currently assigned students stay assigned whenever possible, then waiting
  students by the waitlist priority (submission time, earliest first, ties by intake id);
  (3) minimum assignment cost + move penalties among those.

Approximation: **class cohesion uses a fixed context** computed from the current
assignments (``cost.context_from``), each student excluded from their own class count. Its
true value depends on where the classmates end up, which would make the objective quadratic;
with the fixed context the rebalance pulls students towards where most of their class is
now. ``cost_after`` is reported under the same fixed context.

Per-student explanations in a plan attribute the load component by priority order: the
i-th student (0-based) at a companion gets ``load_balance × i / capacity``, so the
per-student costs sum exactly to the optimised objective minus the move penalties.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
from ortools.graph.python import min_cost_flow

from contracts.events import StudentProfile
from services.matching.logic import cost as cm
from services.matching.logic.cost import DEFAULT_WEIGHTS, Context, Explanation, Weights
from services.matching.models.matching import Companion


@dataclass(frozen=True)
class StudentState:
    """A student known to matching: assigned (``companion_id``) or waiting (``companion_id=None``)."""

    intake_id: str
    profile: StudentProfile
    companion_id: str | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Move:
    """One change of the plan; ``None`` = unassigned (waiting). Costs under the rebalance model."""

    intake_id: str
    from_companion_id: str | None
    to_companion_id: str | None
    cost_before: float | None
    cost_after: float | None

    @property
    def cost_change(self) -> float:
        return round((self.cost_after or 0.0) - (self.cost_before or 0.0), cm.PRECISION)


@dataclass(frozen=True)
class Plan:
    """Result of :func:`plan`.

    ``assignment``: every student → new companion id (``None`` = unassigned).
    ``explanations``: the new explanation of every assigned student.
    ``total_cost_before`` / ``total_cost_after``: sum of the per-student model costs of the
    assigned students before / after (move penalties not included).
    ``objective_units``: the optimised integer objective without the unassigned arcs
    (= Σ per-student units after + move penalty units).
    """

    moves: list[Move]
    assignment: dict[str, str | None]
    explanations: dict[str, Explanation]
    total_cost_before: float
    total_cost_after: float
    objective_units: int
    unassigned: list[str] = field(default_factory=list)

    @property
    def cost_change(self) -> float:
        return round(self.total_cost_after - self.total_cost_before, cm.PRECISION)


def priority_key(s: StudentState) -> tuple[Any, ...]:
    """Who keeps / gets a slot first: currently assigned students, then waiting ones; within
    each group by submission time (earliest first, unknown last), ties by intake id."""
    group = 0 if s.companion_id is not None else 1
    if s.submitted_at is None:
        return (group, 1, s.intake_id)
    return (group, 0, s.submitted_at, s.intake_id)


def slot_units(companion: Companion, k: int, weights: Weights) -> int:
    """Cost units of the k-th (0-based) slot of ``companion`` (load balance at ``used = k``)."""
    return cm.to_units(round(weights.load_balance * _load_share(k, companion.capacity), cm.PRECISION))


def pair_units(
    student: StudentState, companion: Companion, context: Context, weights: Weights, day: date | None = None
) -> int | None:
    """Arc cost student → companion (without load, with move penalty); ``None`` if infeasible.

    ``day``: reference day of the leave check for students without a start date — only for a
    *new* companion: a current assignment is not broken because the companion is on leave now.
    """
    current = student.companion_id == companion.companion_id
    if not cm.feasible(student.profile, companion, check_capacity=False, day=None if current else day):
        return None
    comps = cm.components(
        student.profile,
        companion,
        context,
        weights,
        current_companion_id=student.companion_id,
        load_share=0.0,
    )
    units = sum(cm.to_units(v) for v in comps.values())
    if student.companion_id is not None and student.companion_id != companion.companion_id:
        units += cm.to_units(weights.move_penalty)
    return units


def _load_share(k: int, capacity: int) -> float:
    return k / capacity if capacity > 0 else 1.0


def _explain(
    students: Sequence[StudentState],
    mapping: dict[str, str | None],
    comps: dict[str, Companion],
    context: Context,
    weights: Weights,
) -> dict[str, Explanation]:
    """Per-student explanations for ``mapping``; ``students`` in priority order (load attribution)."""
    seen: dict[str, int] = {}
    out: dict[str, Explanation] = {}
    for s in students:
        cid = mapping.get(s.intake_id)
        if cid is None or cid not in comps:
            continue
        k = seen.get(cid, 0)
        seen[cid] = k + 1
        c = comps[cid]
        out[s.intake_id] = Explanation.of(
            cm.components(
                s.profile,
                c,
                context,
                weights,
                current_companion_id=s.companion_id,
                load_share=_load_share(k, c.capacity),
            )
        )
    return out


def plan(  # noqa: C901, PLR0915
    students: list[StudentState],
    companions: list[Companion],
    weights: Weights | None = None,
    day: date | None = None,
) -> Plan:
    """Optimal reassignment of the whole pool (see module docstring); deterministic.

    ``day``: reference day of the leave/active-period check for a new companion (see ``pair_units``).
    """
    w = weights or DEFAULT_WEIGHTS
    studs = sorted(students, key=priority_key)
    comps = sorted(companions, key=lambda c: c.companion_id)
    if len({s.intake_id for s in studs}) != len(studs):
        raise ValueError("duplicate intake_id")
    by_id = {c.companion_id: c for c in comps}
    if len(by_id) != len(comps):
        raise ValueError("duplicate companion_id")
    n, m = len(studs), len(comps)
    sink = n + m
    context = cm.context_from((s.profile, s.companion_id) for s in studs if s.companion_id is not None)

    tails: list[int] = []
    heads: list[int] = []
    costs: list[int] = []
    pair_arcs: list[tuple[int, int]] = []  # (student index, companion index) per pair arc, same order
    by_school: dict[str, list[tuple[int, Companion]]] = {}
    for j, c in enumerate(comps):
        for school in c.school_ids:
            by_school.setdefault(school, []).append((j, c))
    for i, s in enumerate(studs):
        for j, c in by_school.get(s.profile.school_id, ()):
            u = pair_units(s, c, context, w, day)
            if u is not None:
                tails.append(i)
                heads.append(n + j)
                costs.append(u)
                pair_arcs.append((i, j))
    n_pair = len(tails)
    max_pair = max(costs, default=0)
    max_slot = 0
    for j, c in enumerate(comps):
        for k in range(c.capacity):
            su = slot_units(c, k, w)
            max_slot = max(max_slot, su)
            tails.append(n + j)
            heads.append(sink)
            costs.append(su)
    bound = max_pair + max_slot + 1
    step = n * bound + 1
    first_unassigned = len(tails)
    for i in range(n):
        tails.append(i)
        heads.append(sink)
        costs.append((n - i) * step)

    flow = min_cost_flow.SimpleMinCostFlow()
    if tails:
        flow.add_arcs_with_capacity_and_unit_cost(
            np.asarray(tails, dtype=np.int32),
            np.asarray(heads, dtype=np.int32),
            np.ones(len(tails), dtype=np.int64),
            np.asarray(costs, dtype=np.int64),
        )
    supplies = np.zeros(n + m + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    flow.set_nodes_supplies(np.arange(n + m + 1, dtype=np.int32), supplies)
    if n:
        status = flow.solve()
        if status != flow.OPTIMAL:
            raise RuntimeError(f"min-cost flow failed: {status}")
        flows = flow.flows(np.arange(n_pair, dtype=np.int32)) if n_pair else np.zeros(0, dtype=np.int64)
    else:
        flows = np.zeros(0, dtype=np.int64)

    mapping: dict[str, str | None] = {s.intake_id: None for s in studs}
    objective = 0
    for a in np.flatnonzero(flows):
        i, j = pair_arcs[a]
        mapping[studs[i].intake_id] = comps[j].companion_id
        objective += costs[a]
    load = Counter(v for v in mapping.values() if v is not None)
    for c in comps:
        objective += sum(slot_units(c, k, w) for k in range(load[c.companion_id]))
    if n:
        unassigned_units = sum(
            costs[first_unassigned + i] for i, s in enumerate(studs) if mapping[s.intake_id] is None
        )
        assert objective + unassigned_units == flow.optimal_cost(), "decoded flow does not match the optimum"

    current = {s.intake_id: s.companion_id for s in studs}
    before = _explain(studs, current, by_id, context, w)
    after = _explain(studs, mapping, by_id, context, w)
    moves = [
        Move(
            s.intake_id,
            current[s.intake_id],
            mapping[s.intake_id],
            before[s.intake_id].total if s.intake_id in before else None,
            after[s.intake_id].total if s.intake_id in after else None,
        )
        for s in sorted(studs, key=lambda s: s.intake_id)
        if current[s.intake_id] != mapping[s.intake_id]
    ]
    return Plan(
        moves=moves,
        assignment=dict(sorted(mapping.items())),
        explanations=dict(sorted(after.items())),
        total_cost_before=round(sum(e.total for e in before.values()), cm.PRECISION),
        total_cost_after=round(sum(e.total for e in after.values()), cm.PRECISION),
        objective_units=objective,
        unassigned=sorted(k for k, v in mapping.items() if v is None),
    )
