"""Min-cost flow as a linear program solved with HiGHS, with an exact certificate of optimality (pure).

Why an LP gives the integer optimum and how each result is proven
(docs/adr/0025-min-cost-flow-with-highs.md):

* The constraint matrix of a flow network (one row per node, +1 at an arc's tail, −1 at its head) is
  totally unimodular, so with integer supplies and capacities every *basic* solution is integral; HiGHS'
  simplex returns a basic optimal solution. The flows are checked to be integers all the same
  (:class:`NotIntegral` if not).
* Optimality is not taken from the solver's tolerances: the row duals of a network basis are integers
  (sums of integer arc costs along the basis tree), so they are rounded to integers and checked exactly in
  integer arithmetic together with the flows: conservation and bounds (primal feasibility) and, for every
  arc of the network, reduced cost ``cost − π(tail) + π(head)`` ``≥ 0`` if the arc is below its capacity
  and ``≤ 0`` if it carries flow (dual feasibility with complementary slackness). By LP duality that proves
  the flow a minimum-cost one; if the check fails, :class:`NotProven` is raised, never a flow returned.
* Speed: the simplex starts on the caller's ``candidates`` (e.g. each student's cheapest arcs), from the
  caller's basis if given (:class:`Start`: a flow and a spanning tree of arcs, e.g. the current assignment),
  and adds the arcs whose exact reduced cost is negative until none is left (column generation,
  warm-started on the same HiGHS model); the final check covers every arc of the network, not only those
  the LP saw. Neither the candidates nor the start change what is proven, only the simplex's path (and so,
  among several flows of the same minimum cost, which one is returned).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NotIntegral(RuntimeError):
    """The LP solution has a fractional flow (cannot happen for a basic solution of a network LP)."""


class NotProven(RuntimeError):
    """The flow could not be certified optimal by integer potentials."""


@dataclass(frozen=True)
class Start:
    """A basis to start the simplex from (warm start): ``flows`` per arc meeting the supplies, and ``tree``,
    arcs among the candidates that form a spanning tree of the nodes they touch and the root; every other
    candidate arc is at 0 or its capacity in ``flows``. Only the simplex's path depends on it: the result is
    proven optimal the same way whatever the start (a start that is not such a basis is not used)."""

    flows: np.ndarray
    tree: np.ndarray


@dataclass(frozen=True)
class Flow:
    """A certified minimum-cost flow: ``flows`` per arc, integer node ``potentials`` (the root's is 0) that
    prove it optimal, its ``cost`` and the number of arcs the LP needed (``lp_arcs``)."""

    flows: np.ndarray
    potentials: np.ndarray
    cost: int
    lp_arcs: int
    started: bool = False
    """The simplex began from the caller's :class:`Start`."""


def solve(
    tails: np.ndarray,
    heads: np.ndarray,
    costs: np.ndarray,
    capacities: np.ndarray,
    supplies: np.ndarray,
    root: int,
    candidates: np.ndarray | None = None,
    ties: np.ndarray | None = None,
    start: Start | None = None,
) -> Flow:
    """Minimum-cost flow of the network ``tails[a] → heads[a]`` (integer ``costs``, ``capacities``), node
    ``supplies`` summing to zero (negative: demand). ``root``: a node every other node with arcs is connected
    to (its conservation row is implied by the others and left out). ``candidates``: arcs to start the LP
    with (a feasible subset; all arcs if ``None`` or if the subset is infeasible). ``ties``: a second,
    non-negative cost per arc, minimised among the minimum-cost flows (lexicographically). ``start``: a
    basis of the candidates to begin with (:class:`Start`)."""
    tails = np.asarray(tails, dtype=np.int64)
    heads = np.asarray(heads, dtype=np.int64)
    costs = np.asarray(costs, dtype=np.int64)
    capacities = np.asarray(capacities, dtype=np.int64)
    supplies = np.asarray(supplies, dtype=np.int64)
    nodes, arcs = len(supplies), len(tails)
    if int(supplies.sum()) != 0:
        raise ValueError("supplies must sum to zero")
    if not arcs:
        if supplies.any():
            raise NotProven("no arcs to carry the supplies")
        return Flow(np.zeros(0, dtype=np.int64), np.zeros(nodes, dtype=np.int64), 0, 0)
    active = np.ones(arcs, dtype=bool) if candidates is None else np.asarray(candidates, dtype=bool).copy()
    lp = _Lp(tails, heads, costs, capacities, supplies, root)
    lp.add(np.flatnonzero(active))
    started = start is not None and lp.start(start)
    if not lp.run():
        if active.all():
            raise NotProven("the supplies cannot be met")
        lp.add(np.flatnonzero(~active))
        active[:] = True
        if not lp.run():
            raise NotProven("the supplies cannot be met")
    while True:
        potentials = lp.potentials()
        reduced = costs - potentials[tails] + potentials[heads]
        entering = np.flatnonzero((reduced < 0) & ~active)
        if not len(entering):
            break
        active[entering] = True
        lp.add(entering)
        lp.run()
    flows = lp.flows()
    _certify(tails, heads, costs, capacities, supplies, flows, potentials)
    if ties is not None and int(np.asarray(ties, dtype=np.int64) @ flows):
        flows = _break_ties(tails, heads, costs, capacities, supplies, root, flows, potentials, ties)
    return Flow(flows, potentials, int(costs @ flows), int(active.sum()), started)


def _break_ties(
    tails: np.ndarray,
    heads: np.ndarray,
    costs: np.ndarray,
    capacities: np.ndarray,
    supplies: np.ndarray,
    root: int,
    flows: np.ndarray,
    potentials: np.ndarray,
    ties: np.ndarray,
) -> np.ndarray:
    """The minimum-``ties`` flow among the minimum-cost ones. By complementary slackness with the certified
    ``potentials`` those are exactly the flows that saturate every arc of negative reduced cost, leave every
    arc of positive reduced cost empty and are free on the arcs of reduced cost zero: a min-cost flow of
    ``ties`` on those, itself certified; the result is checked against ``potentials`` once more."""
    reduced = costs - potentials[tails] + potentials[heads]
    fixed = np.where(reduced < 0, capacities, 0)
    net = np.zeros(len(supplies), dtype=np.int64)
    np.add.at(net, tails, fixed)
    np.subtract.at(net, heads, fixed)
    free = np.flatnonzero(reduced == 0)
    second = solve(
        tails[free], heads[free], np.asarray(ties, np.int64)[free], capacities[free], supplies - net, root
    )
    out = fixed.copy()
    out[free] = second.flows
    _certify(tails, heads, costs, capacities, supplies, out, potentials)
    return out


def _certify(
    tails: np.ndarray,
    heads: np.ndarray,
    costs: np.ndarray,
    capacities: np.ndarray,
    supplies: np.ndarray,
    flows: np.ndarray,
    potentials: np.ndarray,
) -> None:
    """Exact check (integers only) that ``flows`` is feasible and ``potentials`` prove it optimal."""
    nodes = len(supplies)
    if (flows < 0).any() or (flows > capacities).any():
        raise NotProven("a flow is outside its arc's bounds")
    net = np.zeros(nodes, dtype=np.int64)
    np.add.at(net, tails, flows)
    np.subtract.at(net, heads, flows)
    if not np.array_equal(net, supplies):
        raise NotProven("the flow does not meet the supplies")
    reduced = costs - potentials[tails] + potentials[heads]
    if ((flows < capacities) & (reduced < 0)).any() or ((flows > 0) & (reduced > 0)).any():
        raise NotProven("the potentials do not prove the flow optimal")


class _Lp:
    """The HiGHS model of the network restricted to the arcs added so far (warm-started re-solves)."""

    def __init__(
        self,
        tails: np.ndarray,
        heads: np.ndarray,
        costs: np.ndarray,
        capacities: np.ndarray,
        supplies: np.ndarray,
        root: int,
    ) -> None:
        import highspy

        self._hs = highspy
        self.tails, self.heads, self.costs, self.capacities, self.root = tails, heads, costs, capacities, root
        self.nodes = len(supplies)
        # rows: every node but the root, in node order
        self.row_of = np.arange(self.nodes, dtype=np.int64) - (np.arange(self.nodes) > root)
        self.row_of[root] = -1
        rhs = np.delete(supplies, root).astype(np.float64)
        h = highspy.Highs()
        for option, value in (("output_flag", False), ("threads", 1), ("presolve", "off")):
            h.setOptionValue(option, value)
        h.addRows(len(rhs), rhs, rhs, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        self.h = h
        self.columns = np.zeros(0, dtype=np.int64)

    def add(self, arcs: np.ndarray) -> None:
        if not len(arcs):
            return
        t, hd = self.row_of[self.tails[arcs]], self.row_of[self.heads[arcs]]
        index = np.stack([t, hd], axis=1).ravel()
        value = np.tile([1.0, -1.0], len(arcs))
        keep = index >= 0
        starts = np.concatenate([[0], np.cumsum(keep.reshape(-1, 2).sum(axis=1))[:-1]])
        self.h.addCols(
            len(arcs),
            self.costs[arcs].astype(np.float64),
            np.zeros(len(arcs)),
            self.capacities[arcs].astype(np.float64),
            int(keep.sum()),
            starts.astype(np.int32),
            index[keep].astype(np.int32),
            value[keep],
        )
        self.columns = np.concatenate([self.columns, arcs])

    def start(self, start: Start) -> bool:
        """Set the basis of ``start`` (:class:`Start`) on the columns added so far; ``False`` (and nothing
        set) if it is not one."""
        cols = self.columns
        flows = np.asarray(start.flows, dtype=np.int64)[cols]
        caps = self.capacities[cols]
        in_tree = np.zeros(len(self.tails), dtype=bool)
        in_tree[np.asarray(start.tree, dtype=np.int64)] = True
        basic = in_tree[cols]
        if int(basic.sum()) != len(start.tree) or not ((flows == 0) | (flows == caps) | basic).all():
            return False
        touched = np.zeros(self.nodes, dtype=bool)
        touched[self.tails[start.tree]] = True
        touched[self.heads[start.tree]] = True
        touched[self.root] = False
        if int(touched.sum()) != len(start.tree):
            return False
        status = self._hs.HighsBasisStatus
        kinds = (status.kLower, status.kUpper, status.kBasic)
        code = np.where(basic, 2, np.where((flows == caps) & (caps > 0), 1, 0))
        basis = self.h.getBasis()
        basis.col_status = [kinds[c] for c in code.tolist()]
        basis.row_status = [
            status.kBasic if free else status.kLower for free in np.delete(~touched, self.root).tolist()
        ]
        return self.h.setBasis(basis) == self._hs.HighsStatus.kOk

    def run(self) -> bool:
        """Solve; ``False`` if the restricted network is infeasible."""
        self.h.run()
        status = self.h.getModelStatus()
        if status == self._hs.HighsModelStatus.kOptimal:
            return True
        if status == self._hs.HighsModelStatus.kInfeasible:
            return False
        raise NotProven(f"HiGHS ended with {self.h.modelStatusToString(status)}")

    def potentials(self) -> np.ndarray:
        duals = np.asarray(self.h.getSolution().row_dual, dtype=np.float64)
        return np.insert(np.rint(duals).astype(np.int64), self.root, 0)

    def flows(self) -> np.ndarray:
        values = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        rounded = np.rint(values)
        if np.abs(values - rounded).max(initial=0.0) > 1e-9:
            raise NotIntegral("the LP's flow is not integral")
        out = np.zeros(len(self.tails), dtype=np.int64)
        out[self.columns] = rounded.astype(np.int64)
        return out
