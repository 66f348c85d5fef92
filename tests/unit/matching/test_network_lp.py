"""The min-cost flow LP (network_lp): its certified optimum equals networkx's network simplex on random small
networks, the second objective (``ties``) is the lexicographic optimum, and a flow it cannot prove is
refused. Pure, no I/O."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.matching.logic import network_lp

ROOT_ARC_COST = 1_000


@st.composite
def networks(draw: st.DrawFn) -> tuple[np.ndarray, ...]:
    """A random network with parallel arcs, negative costs and zero capacities; every node is linked to the
    root both ways by an expensive arc, so the supplies can always be met."""
    nodes = draw(st.integers(2, 7))
    k = draw(st.integers(0, 18))
    tails = draw(st.lists(st.integers(0, nodes - 1), min_size=k, max_size=k))
    heads = draw(st.lists(st.integers(0, nodes - 1), min_size=k, max_size=k))
    costs = draw(st.lists(st.integers(0, 12), min_size=k, max_size=k))
    caps = draw(st.lists(st.integers(0, 3), min_size=k, max_size=k))
    ties = draw(st.lists(st.integers(0, 4), min_size=k, max_size=k))
    arcs = [(t, h, c, u, x) for t, h, c, u, x in zip(tails, heads, costs, caps, ties, strict=True) if t != h]
    root = nodes - 1
    for v in range(nodes - 1):
        arcs += [(v, root, ROOT_ARC_COST, 10, 0), (root, v, ROOT_ARC_COST, 10, 0)]
    supply = draw(st.lists(st.integers(-3, 3), min_size=nodes - 1, max_size=nodes - 1))
    supplies = np.array([*supply, -sum(supply)], dtype=np.int64)
    t, h, c, u, x = (np.array(col, dtype=np.int64) for col in zip(*arcs, strict=True))
    return t, h, c, u, x, supplies, np.int64(root)


def networkx_cost(t: np.ndarray, h: np.ndarray, c: np.ndarray, u: np.ndarray, supplies: np.ndarray) -> int:
    g = nx.MultiDiGraph()
    for v, s in enumerate(supplies.tolist()):
        g.add_node(v, demand=-s)
    for a in range(len(t)):
        g.add_edge(int(t[a]), int(h[a]), key=a, weight=int(c[a]), capacity=int(u[a]))
    cost, _ = nx.network_simplex(g)
    return int(cost)


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.booleans())
def test_the_certified_flow_has_the_network_simplex_cost(
    net: tuple[np.ndarray, ...], start_small: bool
) -> None:
    t, h, c, u, _, supplies, root = net
    candidates = (c <= np.median(c)) | (t == root) | (h == root) if start_small else None
    flow = network_lp.solve(t, h, c, u, supplies, int(root), candidates=candidates)
    assert flow.cost == int(c @ flow.flows) == networkx_cost(t, h, c, u, supplies)
    balance = np.zeros(len(supplies), dtype=np.int64)
    np.add.at(balance, t, flow.flows)
    np.subtract.at(balance, h, flow.flows)
    assert balance.tolist() == supplies.tolist()
    assert ((flow.flows >= 0) & (flow.flows <= u)).all()
    reduced = c - flow.potentials[t] + flow.potentials[h]
    assert not ((flow.flows < u) & (reduced < 0)).any() and not ((flow.flows > 0) & (reduced > 0)).any()


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_ties_are_minimised_among_the_minimum_cost_flows(net: tuple[np.ndarray, ...]) -> None:
    t, h, c, u, x, supplies, root = net
    flow = network_lp.solve(t, h, c, u, supplies, int(root), ties=x)
    big = int(x.sum()) * int(u.max(initial=1)) + 1  # > any difference of the second objective
    lexicographic = networkx_cost(t, h, c * big + x, u, supplies)
    assert flow.cost == networkx_cost(t, h, c, u, supplies)
    assert flow.cost * big + int(x @ flow.flows) == lexicographic


def root_start(t: np.ndarray, h: np.ndarray, supplies: np.ndarray, root: int) -> network_lp.Start:
    """A basis of :func:`networks`: every node's supply carried over one of its two root arcs, the tree."""
    flows = np.zeros(len(t), dtype=np.int64)
    tree = []
    for v, s in enumerate(supplies.tolist()):
        if v == root:
            continue
        out = int(np.flatnonzero((t == v) & (h == root))[0])
        back = int(np.flatnonzero((t == root) & (h == v))[0])
        arc = back if s < 0 else out
        flows[arc] = abs(s)
        tree.append(arc)
    return network_lp.Start(flows, np.array(tree, dtype=np.int64))


@settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks(), st.booleans(), st.booleans())
def test_a_start_basis_changes_the_path_not_the_proven_optimum(
    net: tuple[np.ndarray, ...], start_small: bool, broken: bool
) -> None:
    """From a basis of the caller (each node's supply over a root arc) the LP reaches the network simplex's
    cost, certified as without one; a start that is not a basis (a cycle) is not used."""
    t, h, c, u, x, supplies, root = net
    candidates = (c <= np.median(c)) | (t == root) | (h == root) if start_small else None
    start = root_start(t, h, supplies, int(root))
    if broken:  # both root arcs of node 0: a cycle, not a tree
        both = np.flatnonzero(((t == 0) & (h == root)) | ((t == root) & (h == 0)))[:2]
        start = network_lp.Start(start.flows, np.unique(np.concatenate([start.tree, both])))
    flow = network_lp.solve(t, h, c, u, supplies, int(root), candidates=candidates, ties=x, start=start)
    assert flow.started is not broken
    assert flow.cost == networkx_cost(t, h, c, u, supplies)
    plain = network_lp.solve(t, h, c, u, supplies, int(root), candidates=candidates, ties=x)
    assert not plain.started
    assert (flow.cost, int(x @ flow.flows)) == (plain.cost, int(x @ plain.flows))


def test_unmet_supplies_are_refused() -> None:
    t, h = np.array([0]), np.array([1])
    with pytest.raises(network_lp.NotProven):
        network_lp.solve(t, h, np.array([1]), np.array([1]), np.array([2, -2]), root=1)


def test_a_flow_the_potentials_do_not_prove_optimal_is_refused() -> None:
    # two parallel arcs 0 → 1, the flow on the dearer one: feasible, not optimal
    t, h, c, u = np.array([0, 0]), np.array([1, 1]), np.array([1, 5]), np.array([1, 1])
    supplies = np.array([1, -1])
    with pytest.raises(network_lp.NotProven, match="optimal"):
        network_lp._certify(t, h, c, u, supplies, np.array([0, 1]), np.array([0, 0]))
    network_lp._certify(t, h, c, u, supplies, np.array([1, 0]), np.array([1, 0]))  # optimal, proven
