"""Whole-pool rebalance as a min-cost flow (pure: no I/O, no boto3).

Network (integer costs in ``cost.COST_SCALE`` units), solved as an LP with HiGHS and certified optimal in
integer arithmetic (``network_lp``, docs/adr/0025-min-cost-flow-with-highs.md)::

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
* ``unassigned(s)``: for a waiting student ``(w − j) × D`` with ``j`` the student's place in the
  waitlist priority (``w`` waiting students), for a currently assigned student ``(w + 1) × D``,
  with ``D = n × B + 1`` (``B`` bounds one student's path cost). Among equal optima, a second
  objective (``network_lp.solve``'s ``ties``) keeps the earlier submitted of the currently assigned
  students in place (the i-th of ``a`` by priority costs ``a − i`` unassigned). Because which
  students *can* be assigned together forms a (transversal) matroid and ``D`` exceeds any difference in
  assignment cost, the optimum is lexicographic: (1) as many students assigned as
  possible; (2) as many of the currently assigned students as possible stay assigned, then
  waiting students by the waitlist priority (submission time, earliest first, ties by intake
  id); (3) minimum move penalties + assignment cost among those. When not every assigned student
  can keep a place (a capacity cut with no room elsewhere), (3) decides who loses it: nobody
  moves to push out a student elsewhere, and among a companion's students the one whose
  place costs most under the model goes back to the waitlist.

Approximation: **class cohesion uses a fixed context** computed from the current
assignments (``cost.context_from``), each student excluded from their own class count. Its
true value depends on where the classmates end up, which would make the objective quadratic;
with the fixed context the rebalance pulls students towards where most of their class is
now. ``cost_after`` is reported under the same fixed context.

The pair arcs are built on numpy arrays, school by school (:func:`pair_arcs`), and are exactly those of
:func:`pair_units`; the explanations before and after are made for all students at once on the same codes
(:func:`_explain`) and are exactly those of ``cost.components`` student by student (both pinned by tests).

Per-student explanations in a plan attribute the load component by priority order: the
i-th student (0-based) at a companion gets ``load_balance × i / capacity``, so the
per-student costs sum exactly to the optimised objective minus the move penalties.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np

from contracts.events import StudentProfile
from services.matching.logic import cost as cm
from services.matching.logic import network_lp
from services.matching.logic.cost import DEFAULT_WEIGHTS, Context, Explanation, Weights
from services.matching.models.matching import Companion

CANDIDATE_PAIRS = 3
"""Pairs per student (the cheapest) the LP starts with; any other pair enters once it would lower the cost."""


@dataclass(frozen=True)
class StudentState:
    """A student known to matching: assigned (``companion_id``, since ``starts_on``) or waiting
    (``companion_id=None``)."""

    intake_id: str
    profile: StudentProfile
    companion_id: str | None = None
    submitted_at: datetime | None = None
    starts_on: date | None = None
    """First day of the current assignment (``cost.start_day`` when it was made); ``None``: unknown or
    waiting."""
    pinned: bool = False
    """The office chose the current companion: moving the student costs twice the move penalty."""


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


def pair_allowed(student: StudentState, companion: Companion, today: date | None) -> bool:
    """The hard rules of the pair as of ``today``: for the student's current companion those an existing
    assignment must keep (``cost.kept_violations``: a leave after the start breaks nothing), for any other
    those of a new assignment starting on ``cost.start_day``. Without ``today`` (pure tests): the leave is
    checked on the student's start date only, and a current assignment is kept whatever the leave."""
    current = student.companion_id == companion.companion_id
    if today is None:
        day = None if current else student.profile.start_date
        return cm.feasible(student.profile, companion, check_capacity=False, day=day)
    if current:
        return not cm.kept_violations(student.profile, companion, starts_on=student.starts_on, today=today)
    day = cm.start_day(student.profile, today)
    return cm.feasible(student.profile, companion, check_capacity=False, day=day)


def pair_units(
    student: StudentState, companion: Companion, context: Context, weights: Weights, today: date | None = None
) -> int | None:
    """Arc cost student → companion (without load, with move penalty); ``None`` if the pair breaks a hard
    rule as of ``today`` (:func:`pair_allowed`)."""
    if not pair_allowed(student, companion, today):
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
        units += cm.to_units(weights.move_penalty) * (2 if student.pinned else 1)
    return units


@dataclass(frozen=True)
class _Codes:
    """What the cost components of a pair depend on, as codes per student (rows, in the order of the
    students) and per companion (columns, in the order of the companions): built once per plan for the arcs
    (:func:`pair_arcs`) and the explanations (:func:`_explain`)."""

    col: dict[str, int]
    wanted: np.ndarray
    """Student × career field: 1 if the student names the field."""
    offered: np.ndarray
    """Companion × career field: 1 if the companion has expertise in it."""
    n_wanted: np.ndarray
    lang_of: np.ndarray
    needs_lang: np.ndarray
    """The parent-contact language is set and not German."""
    speaks: np.ndarray
    """Companion × language code of :attr:`lang_of`."""
    gender_of: np.ndarray
    pref: np.ndarray
    """Code of the preferred companion gender (``-1``: none)."""
    prev: np.ndarray
    """Column of the previous companion (``-1``: none, ``-2``: not among the companions)."""
    current: np.ndarray
    """Column of the current companion (``-1``: waiting, ``-2``: not among the companions)."""
    class_of: np.ndarray
    here: np.ndarray
    """Class × companion: the class's currently assigned students there (``context``)."""
    total: np.ndarray
    """The class's currently assigned students."""
    own: np.ndarray
    """1 if the student is counted in its class's counts (``cost.cohesion_share`` takes it out)."""


def _codes(studs: Sequence[StudentState], comps: Sequence[Companion], context: Context) -> _Codes:
    n, m = len(studs), len(comps)
    col = {c.companion_id: j for j, c in enumerate(comps)}
    # codes in the order first seen (career fields, languages, genders, classes)
    field_ix: dict[str, int] = {}
    lang_ix: dict[str, int] = {}
    gender_ix: dict[str, int] = {}
    class_ix: dict[tuple[str, str], int] = {}
    gender_of = [gender_ix.setdefault(c.gender, len(gender_ix)) for c in comps]
    offered_at = [
        (j, field_ix.setdefault(f, len(field_ix))) for j, c in enumerate(comps) for f in set(c.career_fields)
    ]
    wanted_at: list[tuple[int, int]] = []
    lang_of, needs_lang, pref, prev, current, class_of, own = [], [], [], [], [], [], []
    counts_of = context.class_counts
    for i, s in enumerate(studs):
        p = s.profile
        wanted_at.extend((i, field_ix.setdefault(f, len(field_ix))) for f in set(p.career_fields))
        lang = p.parent_contact_language
        lang_of.append(lang_ix.setdefault(lang or "", len(lang_ix)))
        needs_lang.append(bool(lang) and lang != cm.HOME_LANGUAGE)
        g = p.preferred_companion_gender
        pref.append(gender_ix.setdefault(g, len(gender_ix)) if g is not None and g != "keine_angabe" else -1)
        pc = p.previous_companion_id
        prev.append(-1 if pc is None else col.get(pc, -2))
        cid = s.companion_id
        current.append(-1 if cid is None else col.get(cid, -2))
        key = (p.school_id, p.class_name)
        class_of.append(class_ix.setdefault(key, len(class_ix)))
        own.append(cid is not None and (counts := counts_of.get(key)) is not None and counts.get(cid, 0) > 0)
    wanted = np.zeros((n, len(field_ix)), dtype=np.int32)
    if wanted_at:
        wanted[tuple(np.array(wanted_at, dtype=np.int64).T)] = 1
    offered = np.zeros((m, len(field_ix)), dtype=np.int32)
    if offered_at:
        offered[tuple(np.array(offered_at, dtype=np.int64).T)] = 1
    here = np.zeros((len(class_ix), m), dtype=np.int64)
    total = np.zeros(len(class_ix), dtype=np.int64)
    for key, x in class_ix.items():
        counts = counts_of.get(key)
        if counts:
            total[x] = sum(counts.values())
            for cid, k in counts.items():
                if cid in col:
                    here[x, col[cid]] = k
    return _Codes(
        col=col,
        wanted=wanted,
        offered=offered,
        n_wanted=wanted.sum(axis=1),
        lang_of=np.array(lang_of, dtype=np.int64),
        needs_lang=np.array(needs_lang, dtype=bool),
        speaks=np.array([[lang in c.languages for lang in lang_ix] for c in comps], dtype=bool).reshape(
            m, len(lang_ix)
        ),
        gender_of=np.array(gender_of, dtype=np.int64),
        pref=np.array(pref, dtype=np.int64),
        prev=np.array(prev, dtype=np.int64),
        current=np.array(current, dtype=np.int64),
        class_of=np.array(class_of, dtype=np.int64),
        here=here,
        total=total,
        own=np.array(own, dtype=np.int64),
    )


def _fraction_table(
    value: Callable[[int, int], Any], num: np.ndarray, den: np.ndarray, dtype: Any
) -> np.ndarray:
    """``value(a, b)`` for every ``(num, den)`` pair, computed in Python once per distinct pair (so each
    rounds exactly as ``cost.components`` does) and spread over the arrays' shape."""
    if not num.size:
        return np.zeros(num.shape, dtype=dtype)
    low_num, low_den = min(int(num.min()), 0), min(int(den.min()), 0)
    base = int(den.max()) - low_den + 1
    keys = (num - low_num) * base + (den - low_den)
    size = int(keys.max()) + 1
    if size <= 4 * keys.size + 1024:  # small numbers (the usual case): a table indexed by the key
        seen = np.zeros(size, dtype=bool)
        seen[keys] = True
        distinct = np.flatnonzero(seen)
        table = np.zeros(size, dtype=dtype)
        table[distinct] = [
            value(a + low_num, b + low_den) for a, b in (divmod(int(k), base) for k in distinct)
        ]
        return table[keys]
    distinct, inverse = np.unique(keys, return_inverse=True)
    values = [value(a + low_num, b + low_den) for a, b in (divmod(int(k), base) for k in distinct)]
    return np.asarray(values, dtype=dtype)[inverse].reshape(num.shape)


def _share(weight: float, if_empty: float = 0.0) -> Callable[[int, int], float]:
    """``weight × a / b`` (``if_empty`` for ``b ≤ 0``) rounded as ``cost.components`` rounds a component."""
    return lambda a, b: round(weight * (a / b if b > 0 else if_empty), cm.PRECISION)


def _new_pair_rules(
    studs: Sequence[StudentState], comps: Sequence[Companion], move: int, today: date | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per student the move penalty (``move`` units, twice for a pinned one), the consent and the code of the
    day a new assignment is checked on (:func:`pair_allowed`); per companion and day code: active then."""
    moves, consents, day_of = [], [], []
    d_ix: dict[date | None, int] = {}
    for s in studs:
        moves.append(0 if s.companion_id is None else move * (2 if s.pinned else 1))
        consents.append(s.profile.consent_present)
        day = s.profile.start_date if today is None else cm.start_day(s.profile, today)
        day_of.append(d_ix.setdefault(day, len(d_ix)))
    works = np.array([[c.active and not cm.on_leave(c, d) for d in d_ix] for c in comps], dtype=bool)
    return (
        np.array(moves, dtype=np.int64),
        np.array(consents, dtype=bool),
        np.array(day_of, dtype=np.int64),
        works.reshape(len(comps), len(d_ix)),
    )


def _kept_rules(comps: Sequence[Companion], today: date | None) -> Callable[[StudentState, int], bool]:
    """:func:`pair_allowed` of a student's current pair (companion ``comps[j]``), computed once per what it
    depends on: the companion, the student's consent, school and start date, and when the assignment
    began."""
    kept: dict[tuple[Any, ...], bool] = {}

    def allowed(s: StudentState, j: int) -> bool:
        key = (j, s.profile.consent_present, s.profile.school_id, s.profile.start_date, s.starts_on)
        if (ok := kept.get(key)) is None:
            ok = kept[key] = pair_allowed(s, comps[j], today)
        return ok

    return allowed


def _in_student_order(
    pi: np.ndarray, pj: np.ndarray, pu: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The arcs, made school by school with each student's arcs in one run, in student order (a stable
    reordering of the runs, no sort)."""
    if not len(pi):
        return pi, pj, pu
    runs = np.bincount(pi, minlength=n)
    run_at = np.zeros(n, dtype=np.int64)
    first = np.flatnonzero(np.r_[True, pi[1:] != pi[:-1]])
    run_at[pi[first]] = first
    order = np.repeat(run_at - (np.cumsum(runs) - runs), runs) + np.arange(len(pi))
    return pi[order], pj[order], pu[order]


def pair_arcs(
    studs: Sequence[StudentState],
    comps: Sequence[Companion],
    context: Context,
    weights: Weights,
    today: date | None = None,
    codes: _Codes | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every allowed pair at once: (student index, companion index, :func:`pair_units`) ordered by student,
    then by the companion's position — exactly the arcs :func:`pair_units` gives pair by pair (a test pins
    them equal), built per school on numpy arrays. Each component depends on a few codes per student and
    per companion (``codes``, made from ``context`` if not given); fractional ones (career fields, class
    cohesion) are converted through a table of their distinct (numerator, denominator) pairs with the same
    rounding as ``cost.components``. The few current pairs take :func:`pair_allowed` itself (the rules an
    existing assignment must keep)."""
    n, m = len(studs), len(comps)
    empty = np.zeros(0, dtype=np.int64)
    if not n or not m:
        return empty, empty, empty
    w = weights
    k = codes or _codes(studs, comps, context)
    move_units, consent, day_ix, works = _new_pair_rules(studs, comps, cm.to_units(w.move_penalty), today)
    u_cont = cm.to_units(round(w.continuity * 1.0, cm.PRECISION))
    u_lang = cm.to_units(round(w.parent_language * 1.0, cm.PRECISION))
    u_gender = cm.to_units(round(w.gender_preference * 1.0, cm.PRECISION))
    career = _share(w.career_fields)
    cohesion = _share(w.class_cohesion)

    kept_allowed = _kept_rules(comps, today)
    by_school: dict[str, list[int]] = {}
    for j, c in enumerate(comps):
        for school in c.school_ids:
            by_school.setdefault(school, []).append(j)
    rows_of: dict[str, list[int]] = {}
    for i, s in enumerate(studs):
        if s.profile.school_id in by_school:
            rows_of.setdefault(s.profile.school_id, []).append(i)
    out_i, out_j, out_u = [], [], []
    for school, rows in rows_of.items():
        r = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(by_school[school], dtype=np.int64)
        R, C = r[:, None], cols[None, :]
        units = np.where((k.prev[R] != -1) & (k.prev[R] != C), u_cont, 0)
        units += np.where(k.needs_lang[R] & ~k.speaks[C, k.lang_of[R]], u_lang, 0)
        units += np.where((k.pref[R] >= 0) & (k.pref[R] != k.gender_of[C]), u_gender, 0)
        missing = k.n_wanted[R] - k.wanted[r] @ k.offered[cols].T
        n_wanted = np.broadcast_to(k.n_wanted[R], missing.shape)
        units += _fraction_table(lambda a, b: cm.to_units(career(a, b)), missing, n_wanted, np.int64)
        is_current = k.current[R] == C
        den = k.total[k.class_of[R]] - k.own[R]
        num = den - (k.here[k.class_of[R], C] - (k.own[R] * is_current))
        units += _fraction_table(
            lambda a, b: cm.to_units(cohesion(a, b)), num, np.broadcast_to(den, num.shape), np.int64
        )
        units += np.where((k.current[R] != -1) & ~is_current, move_units[R], 0)
        allowed = consent[R] & works[C, day_ix[R]]
        at_a, at_b = np.nonzero(is_current)
        if len(at_a):
            allowed[at_a, at_b] = [
                kept_allowed(studs[rows[a]], int(cols[b]))
                for a, b in zip(at_a.tolist(), at_b.tolist(), strict=True)
            ]
        ii, jj = np.nonzero(allowed)
        out_i.append(r[ii])
        out_j.append(cols[jj])
        out_u.append(units[ii, jj])
    if not out_i:
        return empty, empty, empty
    return _in_student_order(np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_u), n)


def _slot_table(capacity: int, weights: Weights) -> np.ndarray:
    """:func:`slot_units` of the slots ``0 … capacity-1`` of a companion with ``capacity``."""
    return _slot_units_cached(capacity, weights.load_balance)


@functools.lru_cache(maxsize=512)
def _slot_units_cached(capacity: int, load_balance: float) -> np.ndarray:
    table = np.array(
        [cm.to_units(round(load_balance * _load_share(k, capacity), cm.PRECISION)) for k in range(capacity)],
        dtype=np.int64,
    )
    table.flags.writeable = False
    return table


def _candidates(
    pair_i: np.ndarray, pair_j: np.ndarray, pair_u: np.ndarray, current: np.ndarray, arcs: int
) -> np.ndarray:
    """The arcs the LP starts with: each student's ``CANDIDATE_PAIRS`` cheapest pairs (equal costs: the
    earlier companion) and current companion (``current``: its column per student), every slot and every
    unassigned arc (feasible on its own: anyone may stay unassigned). The others enter while their reduced
    cost is negative (``network_lp.solve``)."""
    out = np.ones(arcs, dtype=bool)
    n_pair = len(pair_i)
    if not n_pair:
        return out
    # the pairs are ordered by student: one segment per student; the key orders a student's pairs by
    # cost, then by the companion's position, and is unique within the segment
    starts = np.flatnonzero(np.r_[True, pair_i[1:] != pair_i[:-1]])
    sizes = np.diff(np.r_[starts, n_pair])
    key = pair_u * (int(pair_j.max()) + 1) + pair_j
    taken = np.iinfo(np.int64).max
    chosen = current[pair_i] == pair_j
    for _ in range(CANDIDATE_PAIRS):
        least = np.repeat(np.minimum.reduceat(key, starts), sizes)
        pick = (key == least) & (key != taken)
        chosen |= pick
        key = np.where(pick, taken, key)
    out[:n_pair] = chosen
    return out


def _start(
    pair_i: np.ndarray,
    pair_j: np.ndarray,
    pair_u: np.ndarray,
    current: np.ndarray,
    capacity: np.ndarray,
    candidates: np.ndarray,
) -> network_lp.Start:
    """A basis of the candidate arcs near the optimum for the LP to start from: the current assignments
    that are allowed pairs, up to each companion's capacity in priority order; then, in priority order,
    every other student at the cheapest of its candidate pairs with a free slot; the rest unassigned. Its
    tree: each student's pair or unassigned arc and each companion's first free slot (its last if full); a
    companion without slots is left out of it (only the LP's path depends on the start, not its proof)."""
    n, m, n_pair = len(current), len(capacity), len(pair_i)
    n_slot = int(capacity.sum())
    first_slot = np.concatenate([[0], np.cumsum(capacity)[:-1]]).astype(np.int64) if m else capacity
    at = np.full(n, -1, dtype=np.int64)
    # the current pairs (ordered by student, i.e. by priority), up to each companion's capacity
    kept = np.flatnonzero(candidates[:n_pair] & (current[pair_i] == pair_j))
    j = pair_j[kept]
    order = np.argsort(j, kind="stable")
    place = np.empty(len(kept), dtype=np.int64)
    place[order] = np.arange(len(kept)) - np.searchsorted(j[order], j[order])
    kept = kept[place < capacity[j]]
    at[pair_i[kept]] = kept
    free = (capacity - np.bincount(pair_j[kept], minlength=m)).tolist()
    # the others: the cheapest candidate pair with a free slot, in priority order
    others = np.flatnonzero(candidates[:n_pair] & (at[pair_i] < 0))
    others = others[np.lexsort((pair_u[others], pair_i[others]))]
    placed = at.tolist()
    for a, i, c in zip(others.tolist(), pair_i[others].tolist(), pair_j[others].tolist(), strict=True):
        if placed[i] < 0 and free[c] > 0:
            placed[i] = a
            free[c] -= 1
    at = np.asarray(placed, dtype=np.int64)
    load = capacity - np.asarray(free, dtype=np.int64)
    flows = np.zeros(n_pair + n_slot + n, dtype=np.int64)
    waiting = at < 0
    flows[at[~waiting]] = 1
    flows[n_pair + n_slot + np.flatnonzero(waiting)] = 1
    slot_j = np.repeat(np.arange(m, dtype=np.int64), capacity)
    flows[n_pair : n_pair + n_slot] = (np.arange(n_slot) - first_slot[slot_j]) < load[slot_j]
    with_slots = np.flatnonzero(capacity > 0)
    basic_slot = first_slot[with_slots] + np.minimum(load[with_slots], capacity[with_slots] - 1)
    tree = np.concatenate([at[~waiting], n_pair + n_slot + np.flatnonzero(waiting), n_pair + basic_slot])
    return network_lp.Start(flows, tree)


def _load_share(k: int, capacity: int) -> float:
    return k / capacity if capacity > 0 else 1.0


def _explain(
    codes: _Codes, target: np.ndarray, capacity: np.ndarray, weights: Weights
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``cost.components`` and ``Explanation.of``'s total for every student ``i`` with a companion
    (``target[i]``: its column, negative: none), all at once: the students' rows (priority order), their
    components (one column per ``cost.CRITERIA``) and totals, each float exactly as the scalar functions
    round it (a test pins them equal). The load component is attributed by priority order: the k-th student
    (0-based) at a companion gets ``load_balance × k / capacity``."""
    w, k = weights, codes
    rows = np.flatnonzero(target >= 0)
    t = target[rows]
    order = np.argsort(t, kind="stable")
    rank = np.empty(len(rows), dtype=np.int64)
    rank[order] = np.arange(len(rows)) - np.searchsorted(t[order], t[order])
    cls, own = k.class_of[rows], k.own[rows]
    den = k.total[cls] - own
    missing = k.n_wanted[rows] - (k.wanted[rows] * k.offered[t]).sum(axis=1)

    def binary(weight: float, hit: np.ndarray) -> np.ndarray:
        return np.where(hit, round(weight * 1.0, cm.PRECISION), round(weight * 0.0, cm.PRECISION))

    by_criterion = {
        "continuity": binary(w.continuity, (k.prev[rows] != -1) & (k.prev[rows] != t)),
        "class_cohesion": _fraction_table(
            _share(w.class_cohesion), den - (k.here[cls, t] - own * (k.current[rows] == t)), den, np.float64
        ),
        "career_fields": _fraction_table(_share(w.career_fields), missing, k.n_wanted[rows], np.float64),
        "parent_language": binary(w.parent_language, k.needs_lang[rows] & ~k.speaks[t, k.lang_of[rows]]),
        "gender_preference": binary(
            w.gender_preference, (k.pref[rows] >= 0) & (k.pref[rows] != k.gender_of[t])
        ),
        "load_balance": _fraction_table(_share(w.load_balance, 1.0), rank, capacity[t], np.float64),
    }
    parts = np.stack([by_criterion[c] for c in cm.CRITERIA], axis=1).reshape(len(rows), len(cm.CRITERIA))
    total = np.zeros(len(rows), dtype=np.float64)
    for x in range(parts.shape[1]):  # added one by one in the order Explanation.of sums them
        total = total + parts[:, x]
    distinct, inverse = np.unique(total, return_inverse=True)
    rounded = np.array([round(v, cm.PRECISION) for v in distinct.tolist()], dtype=np.float64)
    return rows, parts, rounded[inverse].reshape(len(rows))


def plan(
    students: list[StudentState],
    companions: list[Companion],
    weights: Weights | None = None,
    today: date | None = None,
) -> Plan:
    """Optimal reassignment of the whole pool (see module docstring); deterministic.

    ``today``: the day (in the county) the hard rules are checked as of (see :func:`pair_allowed`).
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

    codes = _codes(studs, comps, context)
    pair_i, pair_j, pair_u = pair_arcs(studs, comps, context, w, today, codes)
    n_pair = len(pair_i)
    capacity = np.array([max(0, c.capacity) for c in comps], dtype=np.int64)
    slot_j = np.repeat(np.arange(m, dtype=np.int64), capacity)
    slot_u = np.concatenate([_slot_table(c.capacity, w) for c in comps]) if m else np.zeros(0, np.int64)
    bound = int(pair_u.max(initial=0)) + int(slot_u.max(initial=0)) + 1
    step = n * bound + 1
    assigned_now = np.array([s.companion_id is not None for s in studs], dtype=bool)
    waiting, kept = int((~assigned_now).sum()), int(assigned_now.sum())
    rank = np.cumsum(~assigned_now) - 1
    unassigned_u = np.where(assigned_now, (waiting + 1) * step, (waiting - rank) * step).astype(np.int64)
    # ties of (1)–(3) among the currently assigned: the earlier one keeps the place
    ties = np.concatenate(
        [
            np.zeros(n_pair + len(slot_j), np.int64),
            np.where(assigned_now, kept - np.cumsum(assigned_now) + 1, 0),
        ]
    )
    tails = np.concatenate([pair_i, n + slot_j, np.arange(n, dtype=np.int64)])
    heads = np.concatenate([pair_j + n, np.full(len(slot_j) + n, sink, dtype=np.int64)])
    costs = np.concatenate([pair_u, slot_u, unassigned_u])
    supplies = np.zeros(n + m + 1, dtype=np.int64)
    supplies[:n] = 1
    supplies[sink] = -n
    candidates = _candidates(pair_i, pair_j, pair_u, codes.current, len(tails))
    flow = network_lp.solve(
        tails,
        heads,
        costs,
        np.ones(len(tails), dtype=np.int64),
        supplies,
        root=sink,
        candidates=candidates,
        ties=ties,
        start=_start(pair_i, pair_j, pair_u, codes.current, capacity, candidates),
    )
    flows = flow.flows[:n_pair]
    used = np.flatnonzero(flows)
    after = np.full(n, -1, dtype=np.int64)
    after[pair_i[used]] = pair_j[used]
    # the pair and slot arcs used (the LP fills a companion's cheapest slots first)
    objective = int(pair_u @ flows) + int(slot_u @ flow.flows[n_pair : n_pair + len(slot_j)])

    return _result(studs, comps, codes, after, w, objective)


def _result(
    studs: Sequence[StudentState],
    comps: Sequence[Companion],
    codes: _Codes,
    after: np.ndarray,
    w: Weights,
    objective: int,
) -> Plan:
    """The plan of the new companion column per student (``after``, ``-1``: unassigned): moves,
    assignment and explanations ordered by intake id, the costs before and after."""
    n = len(studs)
    capacities = np.array([c.capacity for c in comps], dtype=np.int64)
    rows_before, _, totals_before = _explain(codes, codes.current, capacities, w)
    rows_after, parts_after, totals_after = _explain(codes, after, capacities, w)
    cost_before: list[float | None] = [None] * n
    for i, v in zip(rows_before.tolist(), totals_before.tolist(), strict=True):
        cost_before[i] = v
    cost_after: list[float | None] = [None] * n
    explained: dict[int, Explanation] = {}
    for i, row, v in zip(rows_after.tolist(), parts_after.tolist(), totals_after.tolist(), strict=True):
        cost_after[i] = v
        explained[i] = Explanation(dict(zip(cm.CRITERIA, row, strict=True)), v)

    ids = [s.intake_id for s in studs]
    companion_ids: list[str | None] = [c.companion_id for c in comps]
    new = [companion_ids[j] if j >= 0 else None for j in after.tolist()]
    by_id = sorted(range(n), key=ids.__getitem__)
    moved = (codes.current != after).tolist()  # a current companion not among comps (-2) always moves
    moves = [
        Move(ids[i], studs[i].companion_id, new[i], cost_before[i], cost_after[i]) for i in by_id if moved[i]
    ]
    return Plan(
        moves=moves,
        assignment={ids[i]: new[i] for i in by_id},
        explanations={ids[i]: explained[i] for i in by_id if i in explained},
        total_cost_before=round(sum(totals_before.tolist()), cm.PRECISION),
        total_cost_after=round(sum(totals_after.tolist()), cm.PRECISION),
        objective_units=objective,
        unassigned=[ids[i] for i in by_id if new[i] is None],
    )
