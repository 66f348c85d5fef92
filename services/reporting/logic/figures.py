"""Report figures from aggregates (pure): the contexts of the weekly and the school-year report and
the dashboard summary.

Inputs are the counters of a school year (``logic.projection.counters``), the companions and the
waitlist periods, never student data. Two audiences (docs/adr/0016-exact-figures-inside-the-office.md):

* **inside the office** – the Wochenbericht and the dashboard show exact counts (``exact_table``): they
  do not leave the office, and a figure shown as "x" on the office's own dashboard helps nobody. Each
  week is a set of stocks and flows (``movement_rows``): Wochenbeginn + Zugänge − Abgänge = Stand, and a
  week's Stand is the next week's Wochenbeginn;
* **leaving the office** – the Schuljahresbericht for the steering group: every statistical table goes
  through ``logic.suppression``; every figure printed outside a table is derived from *displayed* values
  (``ratio``, ``sum_display``, ``change``) or is a stand-alone count passed through ``suppress_value``.

Working lists (waitlist, caseload per companion) hold no student names.

Small schools: the three tables of participants (by gender, age band, German support) share their rows,
so a school with 1–2 participants would be broken down three ways and could not be protected
(``SuppressionError``). Such schools are merged into a row "übrige Schulen" before suppression (if that
row still has 1–2 participants, the next smallest school joins it), and the report says so.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from services.reporting.logic import charts
from services.reporting.logic.labels import (
    AGE_BAND_LABELS,
    CAREER_FIELDS,
    DESTINATIONS,
    EXIT_REASONS,
    GENDER_LABELS,
    GERMAN_SUPPORT,
    OTHER_SCHOOLS,
    SCHOOLS,
    STATUS_LABELS,
    WAIT_BUCKET_LABELS,
    WITH_COMPANY_COLUMNS,
)
from services.reporting.logic.periods import LONG_WAIT_DAYS, ReportWeek, local, monday
from services.reporting.logic.projection import NO_STATUS, TRAINING_DESTINATIONS, WAIT_BUCKETS
from services.reporting.logic.suppression import (
    Derived,
    Display,
    SuppressedTable,
    SuppressionError,
    change,
    exact_table,
    points,
    ratio,
    signed_text,
    sum_display,
    suppress_column,
    suppress_linked,
    suppress_value,
)
from services.reporting.logic.waitlist import waitlist_rows
from services.reporting.models.aggregates import (
    CompanionGoals,
    CompanionInfo,
    CompanionLoad,
    RegistryTotals,
    WaitlistItem,
    WaitlistSlice,
    waitlist_slice,
)

TARGET_PER_FTE = 40
STATUS_ORDER = ("submitted", "assigned", "waitlisted", "ended", "withdrawn")
STATUS_COLUMNS = [STATUS_LABELS[s] for s in STATUS_ORDER]
NEW_COLUMNS = [
    "neu angemeldet",
    "zugeordnet",
    "davon von der Warteliste",
    "auf die Warteliste",
    "beendet",
    "zurückgezogen",
]
"""Columns of "Neu in KW …": what happened in the week (students entering each status), not who is where."""
MOVEMENT_LABELS = {
    "assigned": "zugeordnet",
    "waitlisted": "auf der Warteliste",
    "submitted": "in Bearbeitung",
    "ended": "beendet (Austritt)",
    "withdrawn": "zurückgezogen",
}
FROM_LABELS = {
    NO_STATUS: "neu angemeldet",
    "submitted": "aus der Bearbeitung",
    "assigned": "aus einer Zuordnung",
    "waitlisted": "von der Warteliste",
    "ended": "nach Austritt",
    "withdrawn": "nach Rücknahme",
}
TO_LABELS = {
    "submitted": "in Bearbeitung",
    "assigned": "zugeordnet",
    "waitlisted": "auf die Warteliste",
    "ended": "ausgetreten",
    "withdrawn": "zurückgezogen",
}
WAITLIST_LIST_LIMIT = 60
"""At most this many waiting students are listed (the longest waits, in every format): the report's size does
not grow with the county; the counts (waiting, longer than 14 days) cover everyone (docs/performance.md)."""
COMPANION_LIST_LIMIT = 60
"""At most this many companions are listed (the most loaded, in every format); the totals row sums all."""
CHART_BARS = 30
"""At most this many companions in the caseload chart (the most loaded)."""


def _most_loaded(companions: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    """The ``limit`` first rows by :attr:`CompanionLoad.rank`, in the list's order (by name)."""
    if len(companions) <= limit:
        return list(companions)
    ranked = sorted(
        companions, key=lambda c: CompanionLoad(c["companion_id"], c["assigned"], c["info"]).rank
    )[:limit]
    keep = {c["companion_id"] for c in ranked}
    return [c for c in companions if c["companion_id"] in keep]


# ------------------------------------------------------------------------------------------ counters
def _nested(depth: int) -> Any:
    return defaultdict(int) if depth == 1 else defaultdict(lambda: _nested(depth - 1))


@dataclass
class Counts:
    """The counters of one school year, parsed by kind."""

    status: dict[str, dict[str, int]] = field(default_factory=lambda: _nested(2))
    new: dict[str, dict[str, dict[str, int]]] = field(default_factory=lambda: _nested(3))
    lvl: dict[str, dict[str, dict[str, int]]] = field(default_factory=lambda: _nested(3))
    """week → school → status → net change in that week"""
    move: dict[str, dict[str, dict[tuple[str, str], int]]] = field(default_factory=lambda: _nested(3))
    """week → school → (from, to) → changes of status in that week"""
    people: dict[str, dict[str, dict[str, int]]] = field(default_factory=lambda: _nested(3))
    career: dict[str, int] = field(default_factory=lambda: _nested(1))
    exits: dict[str, dict[str, int]] = field(default_factory=lambda: _nested(2))
    withdrawn: dict[str, dict[str, int]] = field(default_factory=lambda: _nested(2))
    """school → reason code (contracts.events.WithdrawReason) → withdrawals"""
    dest: dict[tuple[str, int], int] = field(default_factory=lambda: _nested(1))
    wait: dict[str, int] = field(default_factory=lambda: _nested(1))
    companion: dict[str, int] = field(default_factory=lambda: _nested(1))

    @classmethod
    def parse(cls, counters: Mapping[str, int]) -> Counts:  # noqa: C901
        c = cls()
        for key, n in counters.items():
            parts = key.split("#")
            kind = parts[0]
            if kind == "school" and len(parts) == 3:
                c.status[parts[1]][parts[2]] += n
            elif kind == "new" and len(parts) == 4:
                c.new[parts[1]][parts[2]][parts[3]] += n
            elif kind == "lvl" and len(parts) == 4:
                c.lvl[parts[1]][parts[2]][parts[3]] += n
            elif kind == "move" and len(parts) == 5:
                c.move[parts[1]][parts[2]][(parts[3], parts[4])] += n
            elif kind in ("gender", "age", "german", "class") and len(parts) == 3:
                c.people[kind][parts[1]][parts[2]] += n
            elif kind == "career" and len(parts) == 2:
                c.career[parts[1]] += n
            elif kind == "exit" and len(parts) == 3:
                c.exits[parts[1]][parts[2]] += n
            elif kind == "withdrawn" and len(parts) == 3:
                c.withdrawn[parts[1]][parts[2]] += n
            elif kind == "dest" and len(parts) == 3:
                c.dest[(parts[1], int(parts[2]))] += n
            elif kind == "wait" and len(parts) == 2:
                c.wait[parts[1]] += n
            elif kind == "companion" and len(parts) == 3:
                c.companion[parts[1]] += n
        return c

    def level(self, status: str, before_week: str, school: str | None = None) -> int:
        """How many students had ``status`` at the start of the week ``before_week`` (a Monday, ISO),
        at ``school`` or at every school."""
        return sum(
            v.get(status, 0)
            for w, per_school in self.lvl.items()
            if w < before_week
            for sid, v in per_school.items()
            if school is None or sid == school
        )

    def moves(self, week: str, school: str | None = None) -> Counter[tuple[str, str]]:
        """Changes of status ``(from, to)`` in ``week`` (``from`` = ``NO_STATUS`` for new students)."""
        out: Counter[tuple[str, str]] = Counter()
        for sid, m in self.move.get(week, {}).items():
            if school is None or sid == school:
                out.update(m)
        return out

    def inflow(self, week: str, status: str, school: str | None = None, *, source: str | None = None) -> int:
        return sum(n for (f, t), n in self.moves(week, school).items() if t == status and source in (None, f))

    def outflow(self, week: str, status: str, school: str | None = None) -> int:
        """Students leaving ``status`` in ``week``; ``outflow(week, NO_STATUS)``: new students."""
        return sum(n for (f, _), n in self.moves(week, school).items() if f == status)

    def new_in(self, week: str, kind: str, school: str | None = None) -> int:
        per_school = self.new.get(week, {})
        return sum(v.get(kind, 0) for s, v in per_school.items() if school is None or s == school)

    def participants(self) -> int:
        return sum(sum(v.values()) for v in self.people["gender"].values())

    @property
    def first_week(self) -> str | None:
        return min(self.lvl) if self.lvl else None


@dataclass
class Inputs:
    """What a report reads: aggregates only."""

    school_year: str
    counters: Mapping[str, int]
    companions: Mapping[str, CompanionInfo]
    waitlist: Sequence[WaitlistItem] = ()
    previous_school_year: str | None = None
    previous_counters: Mapping[str, int] | None = None
    waitlist_slice: WaitlistSlice | None = None
    """What the store read of the waitlist for the week (bounded); without it, computed from ``waitlist``."""
    registry: RegistryTotals | None = None
    """The registry's totals as stored (one item); without them, counted from ``companions``."""
    caseload: Sequence[CompanionLoad] | None = None
    """The most loaded companions as the store read them (bounded: at least the list's limit, exact); without
    them, every companion of ``companions`` with its caseload counter of ``counters``."""
    companion_goals: Sequence[CompanionGoals] = ()
    """The companions most behind with their goal-agreement meetings as of the report's day (bounded: the
    casework list's limit and its ties); the school-year report reads none."""

    def counts(self) -> Counts:
        return Counts.parse(self.counters)

    def loads(self) -> list[CompanionLoad]:
        """The companions the caseload list ranks: the ones read (bounded), else every one known."""
        if self.caseload is not None:
            return list(self.caseload)
        per_companion = self.counts().companion
        known = sorted({*self.companions, *per_companion})
        return [CompanionLoad(cid, per_companion.get(cid, 0), self.companions.get(cid)) for cid in known]

    def registry_totals(self) -> RegistryTotals:
        if self.registry is not None:
            return self.registry
        return RegistryTotals.recount(self.companions.values())

    def waiting(self, week: ReportWeek) -> WaitlistSlice:
        """The waitlist at the end of ``week`` (and the long waits at its start)."""
        s = self.waitlist_slice
        if s is not None:
            if s.at != week.end_instant or week.start_instant not in s.long:
                raise ValueError(f"the waitlist was read for another week than {week.label}")
            return s
        return waitlist_slice(
            self.waitlist, at=week.end_instant, instants=[week.start_instant], long_days=LONG_WAIT_DAYS
        )


# ------------------------------------------------------------------------------------------ helpers
def _school_rows(values: Callable[[str], list[int]]) -> tuple[list[str], list[list[int]]]:
    return list(SCHOOLS.values()), [values(sid) for sid in SCHOOLS]


def _merge_rows(
    labels: list[str], matrices: dict[str, list[list[int]]], rows: set[int]
) -> tuple[list[str], dict[str, list[list[int]]]]:
    keep = [i for i in range(len(labels)) if i not in rows]
    out_labels = [labels[i] for i in keep] + [OTHER_SCHOOLS]
    out = {}
    for name, m in matrices.items():
        merged = [sum(m[i][j] for i in rows) for j in range(len(m[0]))]
        out[name] = [m[i] for i in keep] + [merged]
    return out_labels, out


def _rows_to_merge(totals: list[int], start: set[int]) -> set[int] | None:
    """Rows to merge: ``start`` plus the smallest others until the merged row has 0 or ≥ 3 persons.
    None when every non-empty row would have to be merged."""
    rows = set(start)
    while 1 <= sum(totals[i] for i in rows) <= 2:
        rest = sorted((totals[i], i) for i in range(len(totals)) if i not in rows and totals[i] > 0)
        if not rest:
            return None
        rows.add(rest[0][1])
    if rows and len([i for i in range(len(totals)) if i not in rows and totals[i] > 0]) == 0:
        return None
    return rows


def suppress_school_tables(
    school_tables: Mapping[str, tuple[list[str], list[list[int]]]],
    other_tables: Mapping[str, tuple[list[str], list[str], list[list[int]]]] | None = None,
    *,
    share_: Literal["rows", "grand"] = "rows",
) -> tuple[dict[str, SuppressedTable] | None, list[str]]:
    """:func:`suppress_linked` for tables of the same population, merging small schools when needed.

    ``school_tables``: name → (column labels, matrix with one row per school in ``SCHOOLS`` order);
    ``other_tables``: name → (row labels, column labels, matrix), linked only through the grand total.
    With ``share_="rows"`` schools of 1–2 persons are merged first (they would be broken down several
    ways); on :class:`SuppressionError` the smallest school joins the merged row and it is tried again.
    Returns the published tables (None if even merging cannot protect them) and the merged schools.
    """
    labels = list(SCHOOLS.values())
    first = next(iter(school_tables.values()))[1]
    totals = [sum(row) for row in first]
    merged: set[int] = set()
    if share_ == "rows":
        small = {i for i, t in enumerate(totals) if 1 <= t <= 2}
        found = _rows_to_merge(totals, small) if small else set()
        if found is None:
            return None, []
        merged = found
    while True:
        matrices = {n: m for n, (_, m) in school_tables.items()}
        row_labels, mats = _merge_rows(labels, matrices, merged) if merged else (labels, matrices)
        specs: dict[str, Any] = {n: (row_labels, cols, mats[n]) for n, (cols, _) in school_tables.items()}
        specs.update(other_tables or {})
        try:
            return suppress_linked(specs, share=share_), [labels[i] for i in sorted(merged)]
        except SuppressionError:
            rest = sorted((t, i) for i, t in enumerate(totals) if i not in merged and t > 0)
            found = _rows_to_merge(totals, merged | {rest[0][1]}) if rest else None
            if found is None:
                return None, []
            merged = found


# ------------------------------------------------------------------------------------------ weekly
def _companion_rows(inputs: Inputs) -> list[dict[str, Any]]:
    """The caseload list's rows (by name) of the companions the list ranks (:meth:`Inputs.loads`)."""
    rows = []
    loads = inputs.loads()
    for load in sorted(loads, key=lambda c: (_display_name(c).casefold(), c.companion_id)):
        c = load.info or CompanionInfo(companion_id=load.companion_id)
        rows.append(
            {
                "label": c.display_name if c.active else f"{c.display_name} (inaktiv)",
                "name": c.display_name,
                "companion_id": load.companion_id,
                "schools": ", ".join(SCHOOLS.get(s, s) for s in c.school_ids),
                "school_codes": ", ".join(c.school_ids),
                "school_ids": list(c.school_ids),
                "assigned": load.assigned,
                "capacity": c.capacity or None,
                "fte": c.fte,
                "active": c.active,
                "info": load.info,
            }
        )
    return rows


def _display_name(load: CompanionLoad) -> str:
    return load.info.display_name if load.info is not None else load.companion_id


def waitlist_trend(counts: Counts, week: ReportWeek) -> list[tuple[date, int]]:
    """Waitlist level at the end of every week since the first data, up to the report week."""
    first = counts.first_week
    if first is None:
        return []
    points = []
    last_week = week.start if week.period == "last_week" else monday(week.as_of)
    d = date.fromisoformat(first)
    while d <= last_week:
        end = d + timedelta(days=6)
        level = counts.level("waitlisted", (d + timedelta(days=7)).isoformat())
        points.append((min(end, local(week.as_of).date()), level))
        d += timedelta(days=7)
    return points


def movement_rows(counts: Counts, inputs: Inputs, week: ReportWeek) -> list[dict[str, Any]]:
    """The key figures of a week as stocks and flows: ``start`` (Monday 0:00), ``inflow``, ``outflow``,
    ``end`` (:attr:`ReportWeek.end_instant`) and ``change`` = ``end - start`` = ``inflow - outflow`` – so
    week N's ``start`` is week N−1's ``end``. Exact counts (office-internal)."""
    key, nxt = week.key, week.next_key
    rows: list[dict[str, Any]] = [
        {
            "key": "intakes",
            "label": "Anmeldungen insgesamt",
            "start": sum(counts.level(s, key) for s in STATUS_ORDER),
            "inflow": counts.outflow(key, NO_STATUS),
            "outflow": 0,
            "end": sum(counts.level(s, nxt) for s in STATUS_ORDER),
        }
    ]
    for st in ("assigned", "waitlisted", "submitted", "ended", "withdrawn"):
        rows.append(
            {
                "key": st,
                "label": MOVEMENT_LABELS[st],
                "start": counts.level(st, key),
                "inflow": counts.inflow(key, st),
                "outflow": counts.outflow(key, st),
                "end": counts.level(st, nxt),
            }
        )
    waiting = inputs.waiting(week)
    rows.append(
        {
            "key": "long_waits",
            "label": f"länger als {LONG_WAIT_DAYS} Tage wartend",
            "start": waiting.long[week.start_instant],
            "inflow": None,
            "outflow": None,
            "end": waiting.long[week.end_instant],
        }
    )
    for r in rows:
        r["change"] = r["end"] - r["start"]
    return rows


def _flow_text(moves: Counter[tuple[str, str]], status: str, *, into: bool) -> str:
    parts = sorted(
        ((n, (f if into else t)) for (f, t), n in moves.items() if (t if into else f) == status and n),
        key=lambda x: (-x[0], x[1]),
    )
    if not parts:
        return ""
    names = FROM_LABELS if into else TO_LABELS
    return " (" + ", ".join(f"{names[other]} {n}" for n, other in parts) + ")"


def movement_notes(rows: Sequence[Mapping[str, Any]], counts: Counts, week: ReportWeek) -> list[str]:
    """Each stock as an equation (start + inflow − outflow = end), with where students came from and went
    to – so the "Neu in …" table and the status table can be read against each other."""
    moves = counts.moves(week.key)
    by = {r["key"]: r for r in rows}
    t = by["intakes"]
    notes = [
        f"Anmeldungen insgesamt: {t['start']} zu Wochenbeginn + {t['inflow']} neu = {t['end']} "
        "(Tabelle „Stand nach Schule“, Spalte „Anmeldungen insgesamt“; zurückgezogene Anmeldungen "
        "zählen mit)."
    ]
    for st in ("assigned", "waitlisted", "ended", "withdrawn"):
        r = by[st]
        if not (r["start"] or r["inflow"] or r["outflow"] or r["end"]):
            continue
        notes.append(
            f"{r['label']}: {r['start']} zu Wochenbeginn + {r['inflow']} Zugänge"
            f"{_flow_text(moves, st, into=True)} − {r['outflow']} Abgänge"
            f"{_flow_text(moves, st, into=False)} = {r['end']}."
        )
    return notes


def weekly_figures(inputs: Inputs, week: ReportWeek) -> dict[str, Any]:
    """Everything the Wochenbericht and the dashboard show (without charts and ids). Office-internal:
    exact counts, nothing withheld. Every figure is as of the end of the week (``end_instant``)."""
    counts = inputs.counts()
    names = list(SCHOOLS.values())
    status = exact_table(
        names,
        STATUS_COLUMNS,
        [[counts.level(s, week.next_key, sid) for s in STATUS_ORDER] for sid in SCHOOLS],
    )
    new = exact_table(
        names,
        NEW_COLUMNS,
        [
            [
                counts.outflow(week.key, NO_STATUS, sid),
                counts.inflow(week.key, "assigned", sid),
                counts.inflow(week.key, "assigned", sid, source="waitlisted"),
                counts.inflow(week.key, "waitlisted", sid),
                counts.inflow(week.key, "ended", sid),
                counts.inflow(week.key, "withdrawn", sid),
            ]
            for sid in SCHOOLS
        ],
        row_totals=False,
    )
    movements = movement_rows(counts, inputs, week)
    waiting = inputs.waiting(week)
    companions = _companion_rows(inputs)
    registry = inputs.registry_totals()
    ftes = registry.fte_per_school()
    assigned = dict(zip(status.row_labels, status.column(STATUS_LABELS["assigned"]), strict=True))
    schools_caseload = [
        {"school": name, "school_id": sid, "assigned": assigned[name], "fte": ftes[sid]}
        for sid, name in SCHOOLS.items()
    ]
    return {
        "school_year": inputs.school_year,
        "week": week.as_context(),
        "kpis": movements,
        "movement_notes": movement_notes(movements, counts, week),
        "new_this_week": new,
        "status_by_school": status,
        "waitlist": waitlist_rows(waiting.longest, week.end_instant)[:WAITLIST_LIST_LIMIT],
        "waitlist_count": waiting.waiting[week.end_instant],
        "long_wait_count": waiting.long[week.end_instant],
        "companions": companions,
        "registry": registry,
        "schools_caseload": schools_caseload,
        "target_per_fte": TARGET_PER_FTE,
        "trend": waitlist_trend(counts, week),
    }


def weekly_context(
    inputs: Inputs, week: ReportWeek, *, report_id: str, generated_at: datetime, with_charts: bool = True
) -> dict[str, Any]:
    """The context of ``weekly.html.j2`` (see its header)."""
    f = weekly_figures(inputs, week)
    end = local(week.end_instant)
    notes = [
        f"Berichtszeitraum {week.label}. „Wochenbeginn“ ist der Stand am {week.start.strftime('%d.%m.%Y')}, "
        f"0 Uhr; „Stand“ der am {end.strftime('%d.%m.%Y, %H:%M')} Uhr. Der Stand einer Woche ist der "
        "Wochenbeginn der nächsten. Alle Zahlen sind exakt (interner Bericht, nichts geheimgehalten)."
    ]
    counts = inputs.counts()
    now_assigned = sum(v.get("assigned", 0) for v in counts.status.values())
    week_assigned = f["status_by_school"].col_total(STATUS_LABELS["assigned"])
    if now_assigned != week_assigned:
        notes.append(
            f"Die Fallzahlen je Begleiter/in zeigen den Stand bei Erstellung des Berichts "
            f"({local(generated_at).strftime('%d.%m.%Y, %H:%M')} Uhr): {now_assigned} zugeordnet, "
            f"{signed_text(now_assigned - week_assigned)} seit dem Ende der Berichtswoche."
        )
    if f["waitlist_count"] > WAITLIST_LIST_LIMIT:
        notes.append(
            f"Die Warteliste zeigt die {WAITLIST_LIST_LIMIT} längsten Wartezeiten von "
            f"{f['waitlist_count']} wartenden Schülerinnen und Schülern (auch in der Excel-Datei); "
            "die Zahl derer, die länger als 14 Tage warten, zählt alle."
        )
    registry: RegistryTotals = f["registry"]
    if registry.companions > COMPANION_LIST_LIMIT:
        notes.append(
            f"Die Fallzahlen zeigen die {COMPANION_LIST_LIMIT} am stärksten ausgelasteten von "
            f"{registry.companions} Begleiter/innen (Diagramm: {CHART_BARS}; auch in der Excel-Datei); "
            "die Summenzeile zählt alle."
        )
    if not registry.with_fte:
        notes.append("Vollzeitäquivalente der Begleiter/innen liegen noch nicht vor.")
    ctx = dict(
        f,
        generated_at=local(generated_at),
        report_id=report_id,
        notes=notes,
        companions=_most_loaded(f["companions"], COMPANION_LIST_LIMIT),
        companions_count=registry.companions,
        companions_total={
            "assigned": now_assigned,
            "capacity": registry.capacity,
            "fte": float(registry.fte),
        },
        issuer="Bildungsbüro Landkreis Ludwigsburg",
    )
    ctx["charts"] = weekly_charts(f) if with_charts else {"caseload": None, "waitlist_trend": None}
    return ctx


def weekly_charts(f: Mapping[str, Any]) -> dict[str, str | None]:
    caseload = [
        {"label": c["name"], "assigned": c["assigned"], "capacity": c["capacity"]}
        for c in _most_loaded(f["companions"], CHART_BARS)
    ]
    return {
        "caseload": charts.png_data_uri(charts.caseload_chart(caseload, target=f["target_per_fte"]))
        if caseload
        else None,
        "waitlist_trend": charts.png_data_uri(charts.waitlist_trend_chart(f["trend"]))
        if f["trend"]
        else None,
    }


# ------------------------------------------------------------------------------------------ school year
def _people_tables(counts: Counts) -> tuple[dict[str, SuppressedTable] | None, list[str]]:
    dims = {
        "gender": (list(GENDER_LABELS), list(GENDER_LABELS.values())),
        "age": (list(AGE_BAND_LABELS), list(AGE_BAND_LABELS.values())),
        "german": (list(GERMAN_SUPPORT), list(GERMAN_SUPPORT.values())),
    }
    tables = {}
    for name, (codes, cols) in dims.items():
        per_school = counts.people[name]
        matrix = [[per_school[sid].get(c, 0) for c in codes] for sid in SCHOOLS]
        tables[name] = (cols, matrix)
    if all(sum(r) == 0 for r in tables["gender"][1]):
        return None, []
    return suppress_school_tables(tables, share_="rows")


def _leaver_tables(counts: Counts) -> tuple[dict[str, SuppressedTable] | None, list[str]]:
    _, exits = _school_rows(lambda sid: [counts.exits[sid].get(r, 0) for r in EXIT_REASONS])
    if all(sum(r) == 0 for r in exits):
        return None, []
    dest = [[counts.dest.get((d, 1), 0), counts.dest.get((d, 0), 0)] for d in DESTINATIONS]
    return suppress_school_tables(
        {"exits": (list(EXIT_REASONS.values()), exits)},
        {"destinations": (list(DESTINATIONS.values()), WITH_COMPANY_COLUMNS, dest)},
        share_="grand",
    )


def school_year_figures(inputs: Inputs) -> dict[str, Any]:
    counts = inputs.counts()
    people, merged_people = _people_tables(counts)
    leavers, merged_exits = _leaver_tables(counts)
    gender = people["gender"] if people else None
    exits = leavers["exits"] if leavers else None
    destinations = leavers["destinations"] if leavers else None
    participants: Display = (
        gender.grand_total
        if gender is not None and gender.grand_total is not None
        else suppress_value(counts.participants())
    )
    n_exits: Display = exits.grand_total if exits is not None and exits.grand_total is not None else 0
    transitions: list[dict[str, Any]] = []
    training: Display = 0
    training_share: Derived = None
    if destinations is not None:
        training_rows = [DESTINATIONS[d] for d in TRAINING_DESTINATIONS]
        training = sum_display([destinations.row_total(r) for r in training_rows])
        with_company = sum_display([destinations.cell(r, WITH_COMPANY_COLUMNS[0]) for r in training_rows])
        training_share = ratio(training, destinations.grand_total)
        transitions = [
            {
                "label": "Übergang in Ausbildung (dual und schulisch)",
                "count": training,
                "share": training_share,
            },
            {
                "label": "davon im ehemaligen Praktikumsbetrieb",
                "count": with_company,
                "share": ratio(with_company, destinations.grand_total),
            },
        ]
    waited = suppress_column(
        [WAIT_BUCKET_LABELS[k] for k, _, _ in WAIT_BUCKETS],
        [counts.wait.get(k, 0) for k, _, _ in WAIT_BUCKETS],
        header="Zuordnungen",
    )
    careers = suppress_column(
        [CAREER_FIELDS[f] for f in CAREER_FIELDS],
        [counts.career.get(f, 0) for f in CAREER_FIELDS],
        header="Nennungen",
        total=False,
    )
    summary = [
        {"label": "Teilnehmende", "value": participants},
        {"label": "Austritte", "value": n_exits},
        {"label": "Übergang in Ausbildung", "value": training},
        {
            "label": "Anteil Übergang in Ausbildung an allen Austritten",
            "value": training_share,
            "unit": "percent",
        },
    ]
    cohort = None
    if inputs.previous_counters:
        prev = Counts.parse(inputs.previous_counters)
        prev_participants = suppress_value(prev.participants())
        prev_exits = suppress_value(sum(sum(v.values()) for v in prev.exits.values()))
        prev_training = suppress_value(
            sum(n for (d, _), n in prev.dest.items() if d in TRAINING_DESTINATIONS)
        )
        prev_share = ratio(prev_training, prev_exits)
        cohort = [
            {
                "label": "Teilnehmende",
                "previous": prev_participants,
                "current": participants,
                "delta": change(participants, prev_participants),
            },
            {
                "label": "Austritte",
                "previous": prev_exits,
                "current": n_exits,
                "delta": change(n_exits, prev_exits),
            },
            {
                "label": "Übergang in Ausbildung",
                "previous": prev_training,
                "current": training,
                "delta": change(training, prev_training),
            },
            {
                "label": "Anteil Übergang in Ausbildung",
                "previous": prev_share,
                "current": training_share,
                "delta": points(training_share, prev_share),
                "unit": "percent",
            },
        ]
    notes = []
    merged = sorted(set(merged_people) | set(merged_exits))
    if merged:
        notes.append(
            f"Schulen mit sehr kleinen Fallzahlen ({', '.join(merged)}) sind in den Tabellen unter "
            f"„{OTHER_SCHOOLS}“ zusammengefasst, damit keine Einzelfälle erkennbar werden."
        )
    if people is None and counts.participants():
        notes.append(
            "Die Tabellen der Teilnehmenden entfallen: die Fallzahlen sind zu klein für eine "
            "Veröffentlichung."
        )
    return {
        "school_year": inputs.school_year,
        "previous_school_year": inputs.previous_school_year if cohort else None,
        "summary": summary,
        "by_gender": gender,
        "by_age": people["age"] if people else None,
        "by_german_support": people["german"] if people else None,
        "exits": exits,
        "destinations": destinations,
        "transitions": transitions,
        "waiting_time": waited,
        "career_fields": careers,
        "cohort": cohort,
        "notes": notes,
    }


def school_year_context(
    inputs: Inputs, *, report_id: str, generated_at: datetime, with_charts: bool = True
) -> dict[str, Any]:
    """The context of ``school_year.html.j2`` (see its header)."""
    f = school_year_figures(inputs)
    ctx = dict(
        f, generated_at=local(generated_at), report_id=report_id, issuer="Bildungsbüro Landkreis Ludwigsburg"
    )
    chart_uris: dict[str, str | None] = {"destinations": None, "caseload": None}
    if with_charts:
        d = f["destinations"]
        if d is not None:
            items = list(zip(d.row_labels, d.row_totals or (), strict=True))
            items = [(label, v) for label, v in items if v != 0]
            chart_uris["destinations"] = charts.png_data_uri(charts.destination_chart(items, d.grand_total))
        comp = _most_loaded(_companion_rows(inputs), CHART_BARS)
        if comp:
            chart_uris["caseload"] = charts.png_data_uri(
                charts.caseload_chart(
                    [
                        {"label": c["name"], "assigned": c["assigned"], "capacity": c["capacity"]}
                        for c in comp
                    ],
                    target=TARGET_PER_FTE,
                )
            )
    ctx["charts"] = chart_uris
    return ctx


# ------------------------------------------------------------------------------------------ dashboard
def _json_table(t: SuppressedTable | None) -> dict[str, Any] | None:
    return None if t is None else t.as_dict()


def dashboard_summary(inputs: Inputs, week: ReportWeek, *, with_charts: bool = True) -> dict[str, Any]:
    """What ``GET /dashboard/summary`` returns: the office's exact figures of the running week and charts."""
    f = weekly_figures(inputs, week)
    waiting = f["waitlist"]
    return {
        "school_year": inputs.school_year,
        "as_of": week.as_of.isoformat(),
        "week": {"label": week.label, "start": week.start.isoformat(), "end": week.end.isoformat()},
        "kpis": f["kpis"],
        "movement_notes": f["movement_notes"],
        "status_by_school": _json_table(f["status_by_school"]),
        "new_this_week": _json_table(f["new_this_week"]),
        "waitlist": {
            "waiting": f["waitlist_count"],
            "longer_than_14_days": f["long_wait_count"],
            "longest_days": waiting[0]["days"] if waiting else None,
            "entries": [
                {k: (v.isoformat() if isinstance(v, date) else v) for k, v in w.items()} for w in waiting
            ],
        },
        "companions": [
            {
                k: c[k]
                for k in (
                    "companion_id",
                    "name",
                    "label",
                    "schools",
                    "school_codes",
                    "assigned",
                    "capacity",
                    "fte",
                    "active",
                )
            }
            for c in f["companions"]
        ],
        "schools_caseload": [{**s, "assigned": s["assigned"]} for s in f["schools_caseload"]],
        "target_per_fte": TARGET_PER_FTE,
        "charts": weekly_charts(f) if with_charts else {},
    }
