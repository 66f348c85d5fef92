"""Small-cell suppression (statistische Geheimhaltung) for the statistical tables of the reports.

Rule (DESIGN.md §6, issue 5), following the practice of the Statistik der Bundesagentur für Arbeit
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
3. Audit: :func:`revealed_entries` solves the system of published totals exactly (see below). While it
   finds a ``"<3"`` whose value (1 or 2) is determined, withhold more: first the cheapest single step that
   protects that value (smallest cell in one of its lines, then turning a ``"<3"`` total into ``"x"``,
   then the smallest total), otherwise the cheapest step, and repeat from 2. This terminates (every step
   withholds more) and ends safe (with every non-zero total withheld nothing can be derived).

Attacker model of the audit (deliberately strong: a table safe here is safe for any weaker reader):
the reader knows every published number, that a ``"<3"`` is 1 or 2, that an ``"x"`` cell is a count ≥ 3
(suppression never hides a 0 and a 1–2 cell would read ``"<3"``), that an ``"x"`` total is ≥ 1, and that
rows and columns add up. The table with its margins is a network flow (source → row totals → cells →
column totals → sink → grand total → source), so the constraint matrix is totally unimodular: the feasible
integer values of one entry are exactly the integers of its LP range. A ``"<3"`` is *revealed* when the
system admits only one of the values 1 and 2 for it; each check is one max-flow feasibility test with
lower bounds (pure Python, no solver dependency).

Totals are sums of the true values (including withheld ones); the reports say so in a footnote.
Derived figures (shares, differences, sums of cells) must be computed with :func:`share`, :func:`delta`
and :func:`sum_display`, which give ``"x"`` as soon as a withheld value is involved.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

SMALL = "<3"
"""Display value of a primarily suppressed count (1 or 2)."""
SECONDARY = "x"
"""Display value of a secondarily suppressed value (withheld so that no count 1–2 can be computed)."""

Display = int | str
"""A published value: an int, :data:`SMALL` or :data:`SECONDARY`."""

_PUB, _SMALL, _SEC, _ABSENT = 0, 1, 2, 3
_BIG = 10**12  # "unbounded" upper bound for withheld values


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
        """``(label, cells, row total or None)`` per row: convenient in templates."""
        for i, label in enumerate(self.row_labels):
            yield label, self.cells[i], None if self.row_totals is None else self.row_totals[i]

    def cell(self, row_label: str, col_label: str) -> Display:
        return self.cells[self.row_labels.index(row_label)][self.col_labels.index(col_label)]

    def row_total(self, row_label: str) -> Display:
        if self.row_totals is None:
            raise KeyError("table has no row totals")
        return self.row_totals[self.row_labels.index(row_label)]

    def col_total(self, col_label: str) -> Display:
        if self.col_totals is None:
            raise KeyError("table has no column totals")
        return self.col_totals[self.col_labels.index(col_label)]

    def as_dict(self) -> dict[str, Any]:
        return {"row_labels": list(self.row_labels), "col_labels": list(self.col_labels),
                "cells": [list(r) for r in self.cells],
                "row_totals": None if self.row_totals is None else list(self.row_totals),
                "col_totals": None if self.col_totals is None else list(self.col_totals),
                "grand_total": self.grand_total}


# --------------------------------------------------------------------------------------------------
# internal state: the (m+1) x (n+1) table with margins; row m holds column totals, column n row totals


@dataclass
class _State:
    m: int
    n: int
    values: list[list[int]]
    status: list[list[int]]

    def copy(self) -> _State:
        return _State(self.m, self.n, self.values, [list(r) for r in self.status])

    def is_total(self, i: int, j: int) -> bool:
        return i == self.m or j == self.n

    def lines(self) -> Iterator[list[tuple[int, int]]]:
        """Lines that carry an equation (all their entries exist)."""
        for i in range(self.m + 1):
            line = [(i, j) for j in range(self.n + 1)]
            if all(self.status[a][b] != _ABSENT for a, b in line):
                yield line
        for j in range(self.n + 1):
            line = [(i, j) for i in range(self.m + 1)]
            if all(self.status[a][b] != _ABSENT for a, b in line):
                yield line

    def lines_through(self, i: int, j: int) -> list[list[tuple[int, int]]]:
        return [line for line in self.lines() if (i, j) in line]

    def withheld(self, i: int, j: int) -> bool:
        return self.status[i][j] in (_SMALL, _SEC)

    def cost(self, i: int, j: int) -> tuple[int, int, int, int]:
        return (int(self.is_total(i, j)) * 2, self.values[i][j], i, j)


def _build(matrix: Sequence[Sequence[int]], row_totals: bool, col_totals: bool) -> _State:
    m = len(matrix)
    n = len(matrix[0]) if m else 0
    if m == 0 or n == 0 or any(len(r) != n for r in matrix):
        raise ValueError("matrix must be a non-empty rectangle")
    values = [[int(v) for v in r] + [0] for r in matrix] + [[0] * (n + 1)]
    for i in range(m):
        for j in range(n):
            if values[i][j] < 0 or values[i][j] != matrix[i][j]:
                raise ValueError(f"cell ({i}, {j}) is not a non-negative integer: {matrix[i][j]!r}")
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
            # A line with one withheld (non-zero) value always has another non-zero published entry.
            i, j = min(candidates, key=lambda e: s.cost(*e))
            s.status[i][j] = _SEC
            changed = True


# --------------------------------------------------------------------------------------------------
# exact audit: feasibility of a circulation with lower bounds (Edmonds–Karp max flow)


def _bounds(s: _State, i: int, j: int) -> tuple[int, int]:
    st = s.status[i][j]
    if st == _PUB:
        return s.values[i][j], s.values[i][j]
    if st == _SMALL:
        return 1, 2
    if st == _SEC:
        return (1 if s.is_total(i, j) else 3), _BIG
    return 0, _BIG


def _feasible(s: _State, fixed: tuple[int, int, int] | None = None) -> bool:
    """Is there a table of non-negative integers consistent with everything published?
    ``fixed = (i, j, v)`` additionally pins entry (i, j) to v."""
    m, n = s.m, s.n
    src, snk = 0, m + n + 1  # node ids: 0 = source, 1..m rows, m+1..m+n columns, m+n+1 sink
    size = m + n + 4
    sstar, tstar = m + n + 2, m + n + 3
    cap: list[dict[int, int]] = [{} for _ in range(size)]
    excess = [0] * size

    def edge(u: int, v: int, i: int, j: int) -> None:
        lo, hi = _bounds(s, i, j)
        if fixed is not None and (i, j) == fixed[:2]:
            lo = hi = fixed[2]
        if lo > hi:
            raise _Infeasible
        excess[v] += lo
        excess[u] -= lo
        if hi > lo:
            cap[u][v] = cap[u].get(v, 0) + hi - lo
            cap[v].setdefault(u, 0)

    try:
        for i in range(m):
            edge(src, 1 + i, i, n)  # row total
            for j in range(n):
                edge(1 + i, 1 + m + j, i, j)  # cell
        for j in range(n):
            edge(1 + m + j, snk, m, j)  # column total
        edge(snk, src, m, n)  # grand total
    except _Infeasible:
        return False
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


class _Infeasible(Exception):
    pass


def _is_revealed(s: _State, i: int, j: int) -> bool:
    return not (_feasible(s, (i, j, 1)) and _feasible(s, (i, j, 2)))


def _revealed(s: _State) -> list[tuple[int, int]]:
    return [(i, j) for i in range(s.m + 1) for j in range(s.n + 1)
            if s.status[i][j] == _SMALL and _is_revealed(s, i, j)]


def _fix(s: _State, target: tuple[int, int]) -> _State:
    """Step 3: one more withholding step for a revealed ``"<3"`` at ``target``."""
    actions: list[tuple[tuple[int, int, int, int], int, int, int]] = []
    seen = set()
    for line in s.lines_through(*target):
        for i, j in line:
            if s.status[i][j] == _PUB and s.values[i][j] > 0 and (i, j) not in seen:
                seen.add((i, j))
                actions.append((s.cost(i, j), i, j, _SEC))
    for i in range(s.m + 1):
        for j in range(s.n + 1):
            if s.status[i][j] == _SMALL and s.is_total(i, j):
                actions.append(((1, 0, i, j), i, j, _SEC))
    if not actions:  # nothing left near the target: withhold the cheapest value anywhere
        actions = [(s.cost(i, j), i, j, _SEC) for i in range(s.m + 1) for j in range(s.n + 1)
                   if s.status[i][j] == _PUB and s.values[i][j] > 0]
    best: tuple[tuple[int, float], _State] | None = None
    for _, i, j, new in sorted(actions):
        trial = s.copy()
        trial.status[i][j] = new
        _close_singletons(trial)
        protected = trial.status[target[0]][target[1]] != _SMALL or not _is_revealed(trial, *target)
        key = (int(not protected), _loss(trial))
        if best is None or key < best[0]:
            best = (key, trial)
    assert best is not None
    return best[1]


def _loss(s: _State) -> float:
    """Information loss of a suppression pattern: withheld cells count 1, withheld totals 3 (readers
    need totals most), plus a tie-breaker favouring small values."""
    loss = 0.0
    for i in range(s.m + 1):
        for j in range(s.n + 1):
            if s.status[i][j] == _SEC:
                loss += (3 if s.is_total(i, j) else 1) + s.values[i][j] / 1e6
    return loss


def _display(s: _State, i: int, j: int) -> Display | None:
    st = s.status[i][j]
    return {_PUB: s.values[i][j], _SMALL: SMALL, _SEC: SECONDARY, _ABSENT: None}[st]


def suppress_table(row_labels: Sequence[str], col_labels: Sequence[str], matrix: Sequence[Sequence[int]], *,
                   row_totals: bool = True, col_totals: bool = True) -> SuppressedTable:
    """Totals are computed here; returns the publishable table (see the module docstring for the rule).

    ``row_totals=False`` for tables whose columns do not add up (e.g. "new intakes" next to "new
    assignments"); ``col_totals=False`` likewise for rows. A one-column list is
    ``suppress_table(labels, ["Anzahl"], [[v] for v in values], row_totals=False)``.
    """
    if len(row_labels) != len(matrix) or any(len(col_labels) != len(r) for r in matrix):
        raise ValueError("labels do not match the matrix shape")
    s = _build(matrix, row_totals, col_totals)
    for i in range(s.m + 1):
        for j in range(s.n + 1):
            if s.status[i][j] == _PUB and 1 <= s.values[i][j] <= 2:
                s.status[i][j] = _SMALL
    while True:
        _close_singletons(s)
        revealed = _revealed(s)
        if not revealed:
            break
        s = _fix(s, revealed[0])
    m, n = s.m, s.n
    return SuppressedTable(
        row_labels=tuple(row_labels), col_labels=tuple(col_labels),
        cells=tuple(tuple(_display(s, i, j) for j in range(n)) for i in range(m)),  # type: ignore[misc]
        row_totals=tuple(_display(s, i, n) for i in range(m)) if row_totals else None,  # type: ignore[misc]
        col_totals=tuple(_display(s, m, j) for j in range(n)) if col_totals else None,  # type: ignore[misc]
        grand_total=_display(s, m, n) if row_totals and col_totals else None)


def suppress_column(labels: Sequence[str], values: Sequence[int], *, header: str = "Anzahl",
                    total: bool = True) -> SuppressedTable:
    """A one-dimensional list (categories with a count, optionally the total)."""
    return suppress_table(labels, [header], [[v] for v in values], row_totals=False, col_totals=total)


def _from_published(t: SuppressedTable) -> _State:
    m, n = len(t.cells), len(t.col_labels)
    values = [[0] * (n + 1) for _ in range(m + 1)]
    status = [[_ABSENT] * (n + 1) for _ in range(m + 1)]

    def put(i: int, j: int, v: Display | None) -> None:
        if v is None:
            return
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise ValueError(f"not a display value: {v!r}")
        if v == SMALL:
            status[i][j] = _SMALL
        elif v == SECONDARY:
            status[i][j] = _SEC
        elif isinstance(v, int):
            status[i][j], values[i][j] = _PUB, v
        else:
            raise ValueError(f"not a display value: {v!r}")

    for i, row in enumerate(t.cells):
        for j, v in enumerate(row):
            if v is None:
                raise ValueError("cells must not be None")
            put(i, j, v)
    for i, v in enumerate(t.row_totals or ()):
        put(i, n, v)
    for j, v in enumerate(t.col_totals or ()):
        put(m, j, v)
    put(m, n, t.grand_total if t.row_totals is not None and t.col_totals is not None else None)
    return _State(m, n, values, status)


def revealed_entries(table: SuppressedTable) -> list[tuple[int, int]]:
    """Positions whose small count is visible or derivable: a published 1 or 2, or a ``"<3"`` whose
    value is determined by the published figures. ``(i, n)`` is row total i, ``(m, j)`` column total j,
    ``(m, n)`` the grand total. An inconsistent table (no solution at all) reveals everything."""
    s = _from_published(table)
    if not _feasible(s):
        return [(i, j) for i in range(s.m + 1) for j in range(s.n + 1) if s.status[i][j] != _ABSENT]
    visible = [(i, j) for i in range(s.m + 1) for j in range(s.n + 1)
               if s.status[i][j] == _PUB and 1 <= s.values[i][j] <= 2]
    return visible + _revealed(s)


def reveals(table: SuppressedTable) -> bool:
    """True if a count of 1 or 2 is shown or can be computed exactly from the published table."""
    return bool(revealed_entries(table))


def feasible_values(table: SuppressedTable, i: int, j: int, candidates: Sequence[int]) -> list[int]:
    """Which of ``candidates`` entry (i, j) can take, given the published table (diagnostics, tests)."""
    s = _from_published(table)
    return [v for v in candidates if _feasible(s, (i, j, v))]


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


def delta(current: Display | None, previous: Display | None) -> str:
    """Change as German text: ``"+3"``, ``"−2"``, ``"±0"``; ``"x"`` when a side is withheld, ``"–"``
    when there is no previous value."""
    if current is None or previous is None:
        return "–"
    if isinstance(current, str) or isinstance(previous, str):
        return SECONDARY
    d = current - previous
    return "±0" if d == 0 else (f"+{d}" if d > 0 else f"−{-d}")


def share(part: Display, whole: Display, *, digits: int = 1) -> str:
    """Percentage in German notation (``"38,5 %"``); ``"x"`` when part or whole is withheld,
    ``"–"`` for a zero whole."""
    if isinstance(part, str) or isinstance(whole, str):
        return SECONDARY
    if whole == 0:
        return "–"
    return f"{100 * part / whole:.{digits}f} %".replace(".", ",")
