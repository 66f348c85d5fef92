"""Small-cell suppression (statistische Geheimhaltung) for the statistical tables of the reports.

Rule (docs/datenschutz.md), following the practice of the Statistik der Bundesagentur für Arbeit
(BA, "Statistische Geheimhaltung – Rechtliche Grundlagen und fachliche Regeln",
statistik.arbeitsagentur.de → Grundlagen → Rechtsgrundlagen → Statistische Geheimhaltung; legal basis
§ 16 BStatG with § 281 Abs. 3 SGB III): counts of 1 or 2, *and values from which such a count can be
computed*, are not published. The BA marks both kinds with ``*``; this project marks them apart:

* **primary suppression** – a count of 1 or 2 (a cell or a total) is shown as ``"<3"``;
  0 is always shown as 0 (an empty cell identifies nobody);
* **secondary suppression** – further values are withheld and shown as ``"x"`` so that the published
  row totals, column totals and the grand total cannot be used to compute a suppressed count.

Algorithm of :func:`suppress_table` (deterministic):

1. Primary: every cell and every published total of 1–2 becomes ``"<3"``.
2. Secondary, the classic rule: every *line* (a row with its row total, a column with its column total,
   the row of column totals with the grand total, the column of row totals with the grand total) that holds
   exactly one withheld value gets a second one: its smallest non-zero published cell (cells before totals).
   Repeat until no line changes.
3. Audit: solve the system of published figures exactly (see below). While a ``"<3"`` has a determined
   value (only 1 or only 2 possible), withhold more: the single step that protects it at the least loss
   (a cell in one of its lines, else turning a ``"<3"`` total into ``"x"``, else a total), and repeat
   from 2. This terminates (every step withholds more) and ends safe: with every non-zero total withheld
   no count can be derived.

Attacker model of the audit (strong on purpose; a table safe here is safe for any weaker reader): the
reader knows every published number; that a ``"<3"`` is 1 or 2; that an ``"x"`` *cell* is a count ≥ 3
(zeros are never hidden, and a 1–2 cell would read ``"<3"``); that an ``"x"`` *total* is ≥ 1 (a total of
1–2 may be shown as ``"x"`` when ``"<3"`` would give it away); and that rows and columns add up. Such a
table with its margins is a network flow (source → row totals → cells → column totals → sink → grand
total → source), so its constraint matrix is totally unimodular and the feasible integer values of an
entry are exactly the integers of its LP range. Each check is one max-flow feasibility test with lower
bounds, in pure Python. Revealed means: a ``"<3"`` can only be 1 or only be 2, or an ``"x"`` that is
really 1 or 2 has a single possible value.

Several tables of the same population (e.g. participants per school by gender, by age band and by German
support) share their row totals and grand total, so a reader can combine them. :func:`suppress_linked`
keeps the shared margins identical in all of them and, when a shared margin is withheld, audits the
combined system exactly as a small integer program with HiGHS (``highspy``, imported only then).

Totals are sums of the true values (including withheld ones); the reports say so in a footnote.
Derived figures (shares, differences, sums of cells) must be computed with :func:`ratio`, :func:`change`
and :func:`sum_display`, which give ``"x"`` as soon as a withheld value is involved. A figure printed
elsewhere that equals a table total must be that table's *display* total.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from services.reporting.logic.numbers import Derived, percent_text, signed_text

SMALL = "<3"
"""Display value of a primarily suppressed count (1 or 2)."""
SECONDARY = "x"
"""Display value of a secondarily suppressed value (withheld so that no count 1–2 can be computed)."""

Display = int | str
"""A published value: an int, :data:`SMALL` or :data:`SECONDARY`."""

TableSpec = tuple[Sequence[str], Sequence[str], Sequence[Sequence[int]]]
"""``(row_labels, col_labels, matrix)`` of one table for :func:`suppress_linked`."""

_PUB, _SMALL, _SEC, _ABSENT = 0, 1, 2, 3
_BIG = 10**9  # "unbounded" upper bound of withheld values


class SuppressionError(ValueError):
    """Linked tables that cannot be published together without revealing a count of 1–2
    (only for rows of 1–2 persons broken down in several tables): merge such rows first."""


@dataclass(frozen=True)
class SuppressedTable:
    """A statistical table as published: display values of the cells and of the totals.

    ``row_totals`` / ``col_totals`` are ``None`` when the table has no such margin (e.g. non-additive
    columns); ``grand_total`` is ``None`` unless both margins exist.
    """

    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    cells: tuple[tuple[Display, ...], ...]
    row_totals: tuple[Display, ...] | None
    col_totals: tuple[Display, ...] | None
    grand_total: Display | None

    @property
    def has_suppression(self) -> bool:
        """True when any value is withheld (the template then prints the footnote)."""
        return any(isinstance(v, str) for v in self.values())

    def values(self) -> Iterator[Display]:
        for row in self.cells:
            yield from row
        yield from self.row_totals or ()
        yield from self.col_totals or ()
        if self.grand_total is not None:
            yield self.grand_total

    def rows(self) -> Iterator[tuple[str, tuple[Display, ...], Display | None]]:
        """``(label, cells, row total or None)`` per row."""
        for i, label in enumerate(self.row_labels):
            yield label, self.cells[i], None if self.row_totals is None else self.row_totals[i]

    def cell(self, row_label: str, col_label: str) -> Display:
        return self.cells[self.row_labels.index(row_label)][self.col_labels.index(col_label)]

    def column(self, col_label: str) -> tuple[Display, ...]:
        j = self.col_labels.index(col_label)
        return tuple(row[j] for row in self.cells)

    def row_total(self, row_label: str) -> Display:
        if self.row_totals is None:
            raise KeyError("table has no row totals")
        return self.row_totals[self.row_labels.index(row_label)]

    def col_total(self, col_label: str) -> Display:
        if self.col_totals is None:
            raise KeyError("table has no column totals")
        return self.col_totals[self.col_labels.index(col_label)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_labels": list(self.row_labels),
            "col_labels": list(self.col_labels),
            "cells": [list(r) for r in self.cells],
            "row_totals": None if self.row_totals is None else list(self.row_totals),
            "col_totals": None if self.col_totals is None else list(self.col_totals),
            "grand_total": self.grand_total,
        }


# --------------------------------------------------------------------------------------------------
# internal state: the (m+1) x (n+1) table with margins; row m holds column totals, column n row totals

Pos = tuple[int, int]


@dataclass
class _State:
    m: int
    n: int
    values: list[list[int]]  # true values (for a published table: published ints, 0 elsewhere)
    status: list[list[int]]
    known: bool = True  # values of withheld entries are known (suppressor) or not (auditor)

    def copy(self) -> _State:
        return _State(self.m, self.n, self.values, [list(r) for r in self.status], self.known)

    def positions(self) -> Iterator[Pos]:
        for i in range(self.m + 1):
            for j in range(self.n + 1):
                yield i, j

    def is_total(self, i: int, j: int) -> bool:
        return i == self.m or j == self.n

    def lines(self) -> Iterator[list[Pos]]:
        """Lines that carry an equation (all their entries exist)."""
        for i in range(self.m + 1):
            line = [(i, j) for j in range(self.n + 1)]
            if all(self.status[a][b] != _ABSENT for a, b in line):
                yield line
        for j in range(self.n + 1):
            line = [(i, j) for i in range(self.m + 1)]
            if all(self.status[a][b] != _ABSENT for a, b in line):
                yield line

    def withheld(self, i: int, j: int) -> bool:
        return self.status[i][j] in (_SMALL, _SEC)

    def cost(self, i: int, j: int) -> tuple[int, int, int, int]:
        return (2 if self.is_total(i, j) else 0, self.values[i][j], i, j)

    def domain(self, i: int, j: int) -> tuple[int, int]:
        st = self.status[i][j]
        if st == _PUB:
            return self.values[i][j], self.values[i][j]
        if st == _SMALL:
            return 1, 2
        if st == _SEC:
            return (1 if self.is_total(i, j) else 3), _BIG
        return 0, _BIG

    def at_risk(self, i: int, j: int) -> bool:
        """Entries whose exact value must stay unknown: "<3", and "x" totals that are really 1–2
        (for a published table, where the truth is unknown: every "x" total)."""
        st = self.status[i][j]
        if st == _SMALL:
            return True
        return st == _SEC and self.is_total(i, j) and (not self.known or self.values[i][j] <= 2)


def _build(  # noqa: C901
    matrix: Sequence[Sequence[int]], row_totals: bool, col_totals: bool, *, primary: bool = True
) -> _State:
    m = len(matrix)
    n = len(matrix[0]) if m else 0
    if m == 0 or n == 0 or any(len(r) != n for r in matrix):
        raise ValueError("matrix must be a non-empty rectangle")
    values = [[0] * (n + 1) for _ in range(m + 1)]
    for i in range(m):
        for j in range(n):
            v = matrix[i][j]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"cell ({i}, {j}) is not a non-negative int: {v!r}")
            values[i][j] = v
    for i in range(m):
        values[i][n] = sum(values[i][:n])
    for j in range(n + 1):
        values[m][j] = sum(values[i][j] for i in range(m))
    status = [[_PUB] * (n + 1) for _ in range(m + 1)]
    if not row_totals:
        for i in range(m + 1):
            status[i][n] = _ABSENT
    if not col_totals:
        for j in range(n + 1):
            status[m][j] = _ABSENT
    for i, j in list(_State(m, n, values, status).positions()):
        if primary and status[i][j] == _PUB and 1 <= values[i][j] <= 2:
            status[i][j] = _SMALL  # step 1: primary suppression
    return _State(m, n, values, status)


def _close_singletons(s: _State) -> None:
    """Step 2: no line may hold exactly one withheld value."""
    changed = True
    while changed:
        changed = False
        for line in s.lines():
            if sum(s.withheld(i, j) for i, j in line) != 1:
                continue
            candidates = [(i, j) for i, j in line if s.status[i][j] == _PUB and s.values[i][j] > 0]
            if not candidates:  # cannot happen for a consistent table; nothing to choose from
                continue
            i, j = min(candidates, key=lambda e: s.cost(*e))
            s.status[i][j] = _SEC
            changed = True


# --------------------------------------------------------------------------------------------------
# exact audit of one table: feasibility of a circulation with lower bounds (Edmonds–Karp max flow)


def _feasible(s: _State, extra: Mapping[Pos, tuple[int, int]] | None = None) -> bool:  # noqa: C901
    """Is there a table of non-negative integers consistent with everything published (and with the
    additional bounds ``extra``)?"""
    m, n = s.m, s.n
    src, snk = 0, m + n + 1  # node ids: 0 source, 1..m rows, m+1..m+n columns, m+n+1 sink
    sstar, tstar = m + n + 2, m + n + 3
    size = m + n + 4
    cap: list[dict[int, int]] = [{} for _ in range(size)]
    excess = [0] * size
    arcs = [(src, 1 + i, (i, n)) for i in range(m)]
    arcs += [(1 + i, 1 + m + j, (i, j)) for i in range(m) for j in range(n)]
    arcs += [(1 + m + j, snk, (m, j)) for j in range(n)]
    arcs.append((snk, src, (m, n)))
    for u, v, pos in arcs:
        lo, hi = s.domain(*pos)
        if extra and pos in extra:
            lo, hi = max(lo, extra[pos][0]), min(hi, extra[pos][1])
        if lo > hi:
            return False
        excess[v] += lo
        excess[u] -= lo
        if hi > lo:
            cap[u][v] = cap[u].get(v, 0) + hi - lo
            cap[v].setdefault(u, 0)
    need = 0
    for v in range(m + n + 2):
        if excess[v] > 0:
            cap[sstar][v] = excess[v]
            cap[v].setdefault(sstar, 0)
            need += excess[v]
        elif excess[v] < 0:
            cap[v][tstar] = -excess[v]
            cap[tstar].setdefault(v, 0)
    flow = 0
    while flow < need:
        parent = [-1] * size
        parent[sstar] = sstar
        queue = deque([sstar])
        while queue and parent[tstar] < 0:
            u = queue.popleft()
            for v, c in cap[u].items():
                if c > 0 and parent[v] < 0:
                    parent[v] = u
                    queue.append(v)
        if parent[tstar] < 0:
            return False
        push, v = need - flow, tstar
        while v != sstar:
            push = min(push, cap[parent[v]][v])
            v = parent[v]
        v = tstar
        while v != sstar:
            u = parent[v]
            cap[u][v] -= push
            cap[v][u] += push
            v = u
        flow += push
    return True


def _pinned(feasible: Any, pos: Pos, status: int) -> bool:
    """Whether the value of an at-risk entry is determined; ``feasible(bounds)`` tests a range."""
    if status == _SMALL:
        return not (feasible({pos: (1, 1)}) and feasible({pos: (2, 2)}))
    # an "x" total that may be 1 or 2: determined if exactly one value is possible and it is 1 or 2
    if feasible({pos: (3, _BIG)}):
        return False
    return not (feasible({pos: (1, 1)}) and feasible({pos: (2, 2)}))


def _revealed(s: _State) -> list[Pos]:
    return [
        p
        for p in s.positions()
        if s.at_risk(*p) and _pinned(lambda extra: _feasible(s, extra), p, s.status[p[0]][p[1]])
    ]


def _loss(s: _State) -> float:
    """Information loss of a pattern: withheld cells count 1, withheld totals 3 (readers need totals
    most), plus a tie-breaker favouring small values."""
    return sum(
        (3 if s.is_total(i, j) else 1) + s.values[i][j] / 1e6
        for i, j in s.positions()
        if s.status[i][j] == _SEC
    )


def _actions(s: _State, target: Pos) -> list[tuple[tuple[int, int, int, int], int, int]]:
    near = {p for line in s.lines() if target in line for p in line}
    acts = [(s.cost(i, j), i, j) for i, j in sorted(near) if s.status[i][j] == _PUB and s.values[i][j] > 0]
    acts += [((1, 0, i, j), i, j) for i, j in s.positions() if s.status[i][j] == _SMALL and s.is_total(i, j)]
    if not acts:  # nothing near the target: withhold the cheapest value anywhere
        acts = [
            (s.cost(i, j), i, j) for i, j in s.positions() if s.status[i][j] == _PUB and s.values[i][j] > 0
        ]
    return sorted(acts)


def _fix(s: _State, target: Pos, protects: Any = None) -> _State | None:
    """Step 3: one more withholding step for a revealed entry; None if nothing is left to withhold.
    ``protects(trial)`` says whether a trial pattern protects the target (default: this table alone)."""
    best: tuple[tuple[int, float], _State] | None = None
    for _, i, j in _actions(s, target):
        trial = s.copy()
        trial.status[i][j] = _SEC
        _close_singletons(trial)
        if protects is not None:
            ok = protects(trial)
        else:
            ok = not trial.at_risk(*target) or not _pinned(
                lambda extra, t=trial: _feasible(t, extra), target, trial.status[target[0]][target[1]]
            )
        key = (int(not ok), _loss(trial))
        if best is None or key < best[0]:
            best = (key, trial)
    return None if best is None else best[1]


def _run(s: _State) -> _State:
    """Steps 2 and 3 until this table reveals nothing."""
    while True:
        _close_singletons(s)
        revealed = _revealed(s)
        if not revealed:
            return s
        fixed = _fix(s, revealed[0])
        if fixed is None:  # pragma: no cover - cannot happen: all totals withheld is always safe
            raise SuppressionError("table cannot be protected")
        s = fixed


def _display(s: _State, i: int, j: int) -> Display | None:
    st = s.status[i][j]
    if st == _ABSENT:
        return None
    return s.values[i][j] if st == _PUB else (SMALL if st == _SMALL else SECONDARY)


def _publish(s: _State, row_labels: Sequence[str], col_labels: Sequence[str]) -> SuppressedTable:
    m, n = s.m, s.n
    has_rt = s.status[0][n] != _ABSENT
    has_ct = s.status[m][0] != _ABSENT
    return SuppressedTable(
        row_labels=tuple(row_labels),
        col_labels=tuple(col_labels),
        cells=tuple(tuple(_display(s, i, j) for j in range(n)) for i in range(m)),  # type: ignore[misc]
        row_totals=tuple(_display(s, i, n) for i in range(m)) if has_rt else None,  # type: ignore[misc]
        col_totals=tuple(_display(s, m, j) for j in range(n)) if has_ct else None,  # type: ignore[misc]
        grand_total=_display(s, m, n) if has_rt and has_ct else None,
    )


def _check_labels(
    row_labels: Sequence[str], col_labels: Sequence[str], matrix: Sequence[Sequence[int]]
) -> None:
    if len(row_labels) != len(matrix) or any(len(col_labels) != len(r) for r in matrix):
        raise ValueError("labels do not match the matrix shape")


def suppress_table(
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    matrix: Sequence[Sequence[int]],
    *,
    row_totals: bool = True,
    col_totals: bool = True,
) -> SuppressedTable:
    """The publishable table (totals computed here; rule in the module docstring).

    ``row_totals=False`` for tables whose columns do not add up (e.g. "new intakes" next to "new
    assignments"); ``col_totals=False`` likewise for rows. For a one-column list see
    :func:`suppress_column`.
    """
    _check_labels(row_labels, col_labels, matrix)
    return _publish(_run(_build(matrix, row_totals, col_totals)), row_labels, col_labels)


def exact_table(
    row_labels: Sequence[str], col_labels: Sequence[str], matrix: Sequence[Sequence[int]], **margins: bool
) -> SuppressedTable:
    """The table with every count as it is, totals as in :func:`suppress_table` (``row_totals``,
    ``col_totals``): for office-internal views – nothing leaves the office, so nothing is withheld."""
    if set(margins) - {"row_totals", "col_totals"}:
        raise TypeError(f"unknown arguments {sorted(set(margins) - {'row_totals', 'col_totals'})}")
    _check_labels(row_labels, col_labels, matrix)
    built = _build(matrix, margins.get("row_totals", True), margins.get("col_totals", True), primary=False)
    return _publish(built, row_labels, col_labels)


def suppress_column(
    labels: Sequence[str], values: Sequence[int], *, header: str = "Anzahl", total: bool = True
) -> SuppressedTable:
    """A one-dimensional list (categories with a count, optionally their total)."""
    return suppress_table(labels, [header], [[v] for v in values], row_totals=False, col_totals=total)


# --------------------------------------------------------------------------------------------------
# linked tables: same population, shared margins


def _shared_positions(s: _State, share: str) -> list[Pos]:
    if share == "rows":
        return [(i, s.n) for i in range(s.m)] + [(s.m, s.n)]
    if share == "grand":
        return [(s.m, s.n)]
    raise ValueError(f"share must be 'rows' or 'grand', not {share!r}")


def _joint_feasible(  # noqa: C901
    states: Sequence[_State],
    shared: Sequence[Sequence[Pos]],
    extra: Mapping[tuple[int, Pos], tuple[int, int]] | None = None,
) -> bool:
    """Exact feasibility of several tables whose ``shared`` positions hold the same value.

    A small integer program (one integer per distinct cell, each line summing to its total) solved with
    HiGHS (``highspy``: a few MB, so it fits the reporting Lambda layer; OR-Tools does not).
    """
    import highspy
    import numpy as np

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", 10.0)
    col: dict[tuple[int, Pos], int] = {}
    bounds: dict[int, list[int]] = {}
    ref: dict[tuple[int, Pos], tuple[int, Pos]] = {}
    for k in range(len(states)):
        for p in shared[k]:
            ref[(k, p)] = (0, shared[0][shared[k].index(p)])
    for k, s in enumerate(states):
        for i, j in s.positions():
            key = ref.get((k, (i, j)), (k, (i, j)))
            lo, hi = s.domain(i, j)
            if extra and (k, (i, j)) in extra:
                lo, hi = max(lo, extra[(k, (i, j))][0]), min(hi, extra[(k, (i, j))][1])
            if key in col:
                b = bounds[col[key]]
                b[0], b[1] = max(b[0], lo), min(b[1], hi)
            else:
                col[key] = len(col)
                bounds[col[key]] = [lo, hi]
    if any(lo > hi for lo, hi in bounds.values()):
        return False
    for c in range(len(col)):
        h.addVar(float(bounds[c][0]), float(bounds[c][1]))
        h.changeColIntegrality(c, highspy.HighsVarType.kInteger)
    for k, s in enumerate(states):
        for line in s.lines():
            coef: dict[int, float] = {}
            for p in line[:-1]:
                c = col[ref.get((k, p), (k, p))]
                coef[c] = coef.get(c, 0.0) + 1.0
            t = col[ref.get((k, line[-1]), (k, line[-1]))]
            coef[t] = coef.get(t, 0.0) - 1.0
            idx = np.array(sorted(coef), dtype=np.int32)
            h.addRow(0.0, 0.0, len(idx), idx, np.array([coef[c] for c in sorted(coef)], dtype=np.float64))
    h.run()
    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)


def _joint_revealed(states: Sequence[_State], shared: Sequence[Sequence[Pos]]) -> tuple[int, Pos] | None:
    for k, s in enumerate(states):
        for p in s.positions():
            if s.at_risk(*p):

                def feasible(extra: Mapping[Pos, tuple[int, int]], k: int = k) -> bool:
                    return _joint_feasible(states, shared, {(k, q): b for q, b in extra.items()})

                if _pinned(feasible, p, s.status[p[0]][p[1]]):
                    return k, p
    return None


def _sync(states: list[_State], shared: Sequence[Sequence[Pos]]) -> bool:
    """Give every shared margin the strongest status any table chose for it."""
    changed = False
    for idx in range(len(shared[0])):
        strongest = max(s.status[shared[k][idx][0]][shared[k][idx][1]] for k, s in enumerate(states))
        for k, s in enumerate(states):
            i, j = shared[k][idx]
            if s.status[i][j] != strongest:
                s.status[i][j] = strongest
                changed = True
    return changed


def suppress_linked(  # noqa: C901
    tables: Mapping[str, TableSpec], *, share: Literal["rows", "grand"] = "rows"
) -> dict[str, SuppressedTable]:
    """Suppress tables that describe the same population and so share margins, consistently.

    ``share="rows"``: same row labels and row totals (e.g. schools × gender, schools × age band, schools ×
    German support) and hence the same grand total; ``share="grand"``: only the grand total is shared
    (e.g. exits by school × reason and exits by destination). The shared margins get the same display in
    every table; if one is withheld, the combined tables are audited exactly. Raises
    :class:`SuppressionError` if no pattern can protect them (a row of 1–2 persons broken down in several
    tables) and ``ValueError`` if the shared margins differ.
    """
    names = list(tables)
    if not names:
        return {}
    states: list[_State] = []
    for name in names:
        rows, cols, matrix = tables[name]
        _check_labels(rows, cols, matrix)
        states.append(_build(matrix, True, True))
    shared = [_shared_positions(s, share) for s in states]
    if share == "rows":
        first_rows = list(tables[names[0]][0])
        if any(list(tables[nm][0]) != first_rows for nm in names):
            raise ValueError("share='rows' needs the same row labels in every table")
    for k, s in enumerate(states):
        if [s.values[i][j] for i, j in shared[k]] != [states[0].values[i][j] for i, j in shared[0]]:
            raise ValueError(f"table {names[k]!r} does not have the same shared totals as {names[0]!r}")
    while True:
        states = [_run(s) for s in states]
        if _sync(states, shared):
            continue
        if not any(states[0].withheld(*p) for p in shared[0]):
            break  # shared margins are published numbers: the tables are independent, each one is safe
        hit = _joint_revealed(states, shared)
        if hit is None:
            break
        k, target = hit

        def protects(trial: _State, k: int = k, current: list[_State] = states) -> bool:
            trial_states = [trial if q == k else st for q, st in enumerate(current)]
            _sync(trial_states, shared)
            return _joint_revealed(trial_states, shared) is None

        fixed = _fix(states[k], target, protects)
        if fixed is None:
            others = [q for q in range(len(states)) if q != k and _actions(states[q], (0, 0))]
            if not others:
                raise SuppressionError(
                    f"tables {names} cannot be published together without revealing a "
                    "count of 1–2; merge small rows first"
                )
            fixed_other = _fix(states[others[0]], (0, 0))
            assert fixed_other is not None
            states[others[0]] = fixed_other
        else:
            states[k] = fixed
    return {
        name: _publish(s, tables[name][0], tables[name][1]) for name, s in zip(names, states, strict=True)
    }


# --------------------------------------------------------------------------------------------------
# audit of published tables


def _from_published(t: SuppressedTable) -> _State:  # noqa: C901
    m, n = len(t.cells), len(t.col_labels)
    values = [[0] * (n + 1) for _ in range(m + 1)]
    status = [[_ABSENT] * (n + 1) for _ in range(m + 1)]

    def put(i: int, j: int, v: Display | None) -> None:
        if v is None:
            return
        if v == SMALL:
            status[i][j] = _SMALL
        elif v == SECONDARY:
            status[i][j] = _SEC
        elif isinstance(v, int) and not isinstance(v, bool) and v >= 0:
            status[i][j], values[i][j] = _PUB, v
        else:
            raise ValueError(f"not a display value: {v!r}")

    for i, row in enumerate(t.cells):
        if len(row) != n:
            raise ValueError("ragged table")
        for j, v in enumerate(row):
            if v is None:
                raise ValueError("cells must not be None")
            put(i, j, v)
    for i, v in enumerate(t.row_totals or ()):
        put(i, n, v)
    for j, v in enumerate(t.col_totals or ()):
        put(m, j, v)
    if t.row_totals is not None and t.col_totals is not None:
        put(m, n, t.grand_total)
    return _State(m, n, values, status, known=False)


def _visible_small(s: _State) -> list[Pos]:
    return [(i, j) for i, j in s.positions() if s.status[i][j] == _PUB and 1 <= s.values[i][j] <= 2]


def revealed_entries(table: SuppressedTable) -> list[tuple[int, int]]:
    """Positions whose count of 1–2 is visible or can be computed: a published 1 or 2, a ``"<3"`` whose
    value is determined, or an ``"x"`` total determined to be 1 or 2. ``(i, n)`` is row total i,
    ``(m, j)`` column total j, ``(m, n)`` the grand total. An inconsistent table reveals everything."""
    s = _from_published(table)
    if not _feasible(s):
        return [p for p in s.positions() if s.status[p[0]][p[1]] != _ABSENT]
    return _visible_small(s) + _revealed(s)


def reveals(table: SuppressedTable) -> bool:
    """True if a count of 1 or 2 is shown or can be computed exactly from the published table."""
    return bool(revealed_entries(table))


def reveals_linked(tables: Sequence[SuppressedTable], *, share: Literal["rows", "grand"] = "rows") -> bool:
    """:func:`reveals` for tables published together with shared margins (see :func:`suppress_linked`)."""
    states = [_from_published(t) for t in tables]
    if any(_visible_small(s) for s in states):
        return True
    shared = [_shared_positions(s, share) for s in states]
    for k, s in enumerate(states):
        for i, j in shared[k]:
            a, b = shared[0][shared[k].index((i, j))]
            if s.status[i][j] != states[0].status[a][b] or (
                s.status[i][j] == _PUB and s.values[i][j] != states[0].values[a][b]
            ):
                return True  # shared margins published differently: combining them tells more
    if not _joint_feasible(states, shared):
        return True
    return _joint_revealed(states, shared) is not None


def feasible_values(table: SuppressedTable, i: int, j: int, candidates: Sequence[int]) -> list[int]:
    """Which of ``candidates`` entry (i, j) can take, given the published table (diagnostics, tests)."""
    s = _from_published(table)
    return [v for v in candidates if _feasible(s, {(i, j): (v, v)})]


# --------------------------------------------------------------------------------------------------
# derived figures


def suppress_value(n: int) -> Display:
    """A stand-alone count: 1–2 → ``"<3"``."""
    return SMALL if 1 <= n <= 2 else n


def sum_display(values: Sequence[Display]) -> Display:
    """Sum of published values; ``"x"`` if any part is withheld (the sum could reveal it)."""
    if any(isinstance(v, str) for v in values):
        return SECONDARY
    total = sum(int(v) for v in values)
    return SMALL if 1 <= total <= 2 else total


def change(current: Display | None, previous: Display | None) -> Derived:
    """``current - previous``; ``"x"`` when a side is withheld, None when there is no previous value."""
    if current is None or previous is None:
        return None
    if isinstance(current, str) or isinstance(previous, str):
        return SECONDARY
    return current - previous


def ratio(part: Display | None, whole: Display | None) -> Derived:
    """``part / whole`` as a fraction (0.385); ``"x"`` when part or whole is withheld, None for a zero or
    missing whole."""
    if isinstance(part, str) or isinstance(whole, str):
        return SECONDARY
    if not whole or part is None:
        return None
    return part / whole


def points(current: Derived, previous: Derived) -> Derived:
    """Change of two fractions in percentage points (0.42 − 0.38 → 4.0); ``"x"``/None as :func:`change`."""
    if SECONDARY in (current, previous):
        return SECONDARY
    if not isinstance(current, int | float) or not isinstance(previous, int | float):
        return None
    return round(100 * (current - previous), 1)


def delta(current: Display | None, previous: Display | None) -> str:
    """:func:`change` as text: ``"+3"``, ``"−2"``, ``"±0"``, ``"x"``, ``"–"``."""
    return signed_text(change(current, previous))


def share(part: Display | None, whole: Display | None, *, digits: int = 1) -> str:
    """:func:`ratio` as a German percentage (``"38,5 %"``), ``"x"`` or ``"–"``."""
    return percent_text(ratio(part, whole), digits)
