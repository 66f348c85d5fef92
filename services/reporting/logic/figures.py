"""Report figures from aggregates (pure): the contexts of the weekly and the school-year report and
the dashboard summary.

Inputs are the counters of a school year (``logic.projection.counters``), the companions and the
waitlist periods, never student data. Every statistical table goes through ``logic.suppression``; every
figure printed outside a table is derived from *displayed* values (``share``, ``sum_display``, ``delta``)
or is a stand-alone count passed through ``suppress_value``. Office-internal working lists (waitlist,
caseload per companion) are not statistics and are not suppressed, but hold no names.

Small schools: the three tables of participants (by gender, age band, German support) share their rows,
so a school with 1–2 participants would be broken down three ways and could not be protected
(``SuppressionError``). Such schools are merged into a row "übrige Schulen" before suppression (if that
row still has 1–2 participants, the next smallest school joins it), and the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from contracts.calendar import whole_days
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
    WAITLIST_REASONS,
    WITH_COMPANY_COLUMNS,
)
from services.reporting.logic.periods import LONG_WAIT_DAYS, ReportWeek, local, monday
from services.reporting.logic.projection import TRAINING_DESTINATIONS, WAIT_BUCKETS
from services.reporting.logic.suppression import (
    Display,
    SuppressedTable,
    SuppressionError,
    delta,
    share,
    sum_display,
    suppress_column,
    suppress_linked,
    suppress_table,
    suppress_value,
)
from services.reporting.models.aggregates import CompanionInfo, WaitlistItem

TARGET_PER_FTE = 40
STATUS_ORDER = ("submitted", "assigned", "waitlisted", "ended", "withdrawn")
STATUS_COLUMNS = [STATUS_LABELS[s] for s in STATUS_ORDER]
NEW_COLUMNS = ["Anmeldungen", "Zuordnungen", "auf Warteliste"]
NEW_KINDS = ("intakes", "assigned", "waitlisted")
WAITLIST_LIST_LIMIT = 60
"""At most this many waiting students are listed in HTML/PDF (all of them in the XLSX)."""
COMPANION_LIST_LIMIT = 60
"""At most this many companions are listed in HTML/PDF (the most loaded; all of them in the XLSX)."""
CHART_BARS = 30
"""At most this many companions in the caseload chart (the most loaded)."""


def _most_loaded(companions: Sequence[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    if len(companions) <= limit:
        return list(companions)
    ranked = sorted(
        companions,
        key=lambda c: (
            -(c["assigned"] / c["capacity"] if c["capacity"] else 0),
            -c["assigned"],
            c["companion_id"],
        ),
    )[:limit]
    return sorted(ranked, key=lambda c: c["companion_id"])


# ------------------------------------------------------------------------------------------ counters
@dataclass
class Counts:
    """The counters of one school year, parsed by kind."""

    status: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    new: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    )
    lvl: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    people: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    )
    career: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    exits: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    dest: dict[tuple[str, int], int] = field(default_factory=lambda: defaultdict(int))
    wait: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    companion: dict[str, int] = field(default_factory=lambda: defaultdict(int))

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
                c.lvl[parts[1]][parts[3]] += n
            elif kind in ("gender", "age", "german", "class") and len(parts) == 3:
                c.people[kind][parts[1]][parts[2]] += n
            elif kind == "career" and len(parts) == 2:
                c.career[parts[1]] += n
            elif kind == "exit" and len(parts) == 3:
                c.exits[parts[1]][parts[2]] += n
            elif kind == "dest" and len(parts) == 3:
                c.dest[(parts[1], int(parts[2]))] += n
            elif kind == "wait" and len(parts) == 2:
                c.wait[parts[1]] += n
            elif kind == "companion" and len(parts) == 3:
                c.companion[parts[1]] += n
        return c

    def level(self, status: str, before_week: str) -> int:
        """How many students had ``status`` at the start of the week ``before_week`` (a Monday, ISO)."""
        return sum(v.get(status, 0) for w, v in self.lvl.items() if w < before_week)

    def new_in(self, week: str, kind: str, school: str | None = None) -> int:
        per_school = self.new.get(week, {})
        return sum(v.get(kind, 0) for s, v in per_school.items() if school is None or s == school)

    def new_before(self, week: str, kind: str) -> int:
        return sum(self.new_in(w, kind) for w in self.new if w < week)

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

    def counts(self) -> Counts:
        return Counts.parse(self.counters)


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


def ref_of(intake_id: str) -> str:
    """Pseudonymous reference shown in the internal list (the tail of the intake ULID)."""
    return "…" + intake_id[-8:]


# ------------------------------------------------------------------------------------------ weekly
def _companion_rows(inputs: Inputs, counts: Counts) -> list[dict[str, Any]]:
    rows = []
    known = dict(inputs.companions)
    for cid in counts.companion:
        known.setdefault(cid, CompanionInfo(companion_id=cid))
    for cid, c in sorted(known.items()):
        label = cid if c.active else f"{cid} (inaktiv)"
        rows.append(
            {
                "label": label,
                "companion_id": cid,
                "schools": ", ".join(c.school_ids),
                "school_ids": list(c.school_ids),
                "assigned": counts.companion.get(cid, 0),
                "capacity": c.capacity or None,
                "fte": c.fte,
                "active": c.active,
            }
        )
    return rows


def _fte_per_school(companions: Sequence[dict[str, Any]]) -> dict[str, float | None]:
    """Companion FTE serving each school (a companion's FTE split evenly between their schools)."""
    out: dict[str, float | None] = {sid: 0.0 for sid in SCHOOLS}
    unknown: set[str] = set()
    for c in companions:
        if not c["active"] or not c["school_ids"]:
            continue
        for sid in c["school_ids"]:
            if sid not in out:
                continue
            if c["fte"] is None:
                unknown.add(sid)
            else:
                out[sid] = (out[sid] or 0.0) + c["fte"] / len(c["school_ids"])
    return {sid: (None if sid in unknown or not v else round(v, 2)) for sid, v in out.items()}


def waitlist_rows(items: Sequence[WaitlistItem], as_of: datetime) -> list[dict[str, Any]]:
    """The internal waitlist: students waiting at ``as_of``, longest waiting first."""
    rows = []
    for w in items:
        since = w.waiting_at(as_of)
        if since is None:
            continue
        rows.append(
            {
                "ref": ref_of(w.intake_id),
                "intake_id": w.intake_id,
                "school": w.school_id,
                "school_name": SCHOOLS.get(w.school_id, w.school_id),
                "class_name": w.class_name or "–",
                "since": local(since).date(),
                "days": whole_days(since, as_of),
                "reason": WAITLIST_REASONS.get(w.reason or "", "–"),
            }
        )
    return sorted(rows, key=lambda r: (-r["days"], r["intake_id"]))


def long_waits(items: Sequence[WaitlistItem], at: datetime) -> int:
    return sum(1 for r in waitlist_rows(items, at) if r["days"] > LONG_WAIT_DAYS)


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


def weekly_figures(inputs: Inputs, week: ReportWeek) -> dict[str, Any]:
    """Everything the Wochenbericht and the dashboard show (without charts and ids)."""
    counts = inputs.counts()
    names, matrix = _school_rows(lambda sid: [counts.status[sid].get(s, 0) for s in STATUS_ORDER])
    status = suppress_table(names, STATUS_COLUMNS, matrix)
    _, new_matrix = _school_rows(lambda sid: [counts.new_in(week.key, k, sid) for k in NEW_KINDS])
    new = suppress_table(names, NEW_COLUMNS, new_matrix, row_totals=False)
    waiting_now = long_waits(inputs.waitlist, week.as_of)
    waiting_before = long_waits(inputs.waitlist, week.start_instant)
    before = week.key
    kpi_rows: list[tuple[str, Display | None, Display | None]] = [
        ("Anmeldungen insgesamt", status.grand_total, suppress_value(counts.new_before(before, "intakes"))),
        (
            "zugeordnet",
            status.col_total(STATUS_LABELS["assigned"]),
            suppress_value(counts.level("assigned", before)),
        ),
        (
            "auf der Warteliste",
            status.col_total(STATUS_LABELS["waitlisted"]),
            suppress_value(counts.level("waitlisted", before)),
        ),
        (
            f"neu angemeldet ({week.label})",
            new.col_total("Anmeldungen"),
            suppress_value(counts.new_in(week.previous_key, "intakes")),
        ),
        (
            f"neu zugeordnet ({week.label})",
            new.col_total("Zuordnungen"),
            suppress_value(counts.new_in(week.previous_key, "assigned")),
        ),
        (
            f"länger als {LONG_WAIT_DAYS} Tage wartend",
            suppress_value(waiting_now),
            suppress_value(waiting_before),
        ),
    ]
    kpis = [
        {"label": label, "current": cur, "previous": prev, "delta": delta(cur, prev)}  # type: ignore[arg-type]
        for label, cur, prev in kpi_rows
    ]
    companions = _companion_rows(inputs, counts)
    ftes = _fte_per_school(companions)
    assigned = dict(zip(status.row_labels, status.column(STATUS_LABELS["assigned"]), strict=True))
    schools_caseload = [
        {"school": name, "school_id": sid, "assigned": assigned[name], "fte": ftes[sid]}
        for sid, name in SCHOOLS.items()
    ]
    return {
        "school_year": inputs.school_year,
        "week": week.as_context(),
        "kpis": kpis,
        "new_this_week": new,
        "status_by_school": status,
        "waitlist": waitlist_rows(inputs.waitlist, week.as_of),
        "companions": companions,
        "schools_caseload": schools_caseload,
        "target_per_fte": TARGET_PER_FTE,
        "trend": waitlist_trend(counts, week),
    }


def weekly_context(
    inputs: Inputs, week: ReportWeek, *, report_id: str, generated_at: datetime, with_charts: bool = True
) -> dict[str, Any]:
    """The context of ``weekly.html.j2`` (see its header)."""
    f = weekly_figures(inputs, week)
    notes = [
        f"Berichtszeitraum {week.label}; Vorwoche = Stand zu Beginn des Berichtszeitraums "
        f"({week.start.strftime('%d.%m.%Y')}, 0 Uhr)."
    ]
    if len(f["waitlist"]) > WAITLIST_LIST_LIMIT:
        notes.append(
            f"Die Warteliste zeigt die {WAITLIST_LIST_LIMIT} längsten Wartezeiten von "
            f"{len(f['waitlist'])}; die vollständige Liste steht in der Excel-Datei."
        )
    if len(f["companions"]) > COMPANION_LIST_LIMIT:
        notes.append(
            f"Die Fallzahlen zeigen die {COMPANION_LIST_LIMIT} am stärksten ausgelasteten von "
            f"{len(f['companions'])} Begleiter/innen (Diagramm: {CHART_BARS}); alle stehen in der "
            "Excel-Datei."
        )
    if not any(c["fte"] for c in f["companions"]):
        notes.append("Vollzeitäquivalente der Begleiter/innen liegen noch nicht vor.")
    ctx = dict(
        f,
        generated_at=local(generated_at),
        report_id=report_id,
        notes=notes,
        waitlist=f["waitlist"][:WAITLIST_LIST_LIMIT],
        waitlist_all=f["waitlist"],
        companions=_most_loaded(f["companions"], COMPANION_LIST_LIMIT),
        companions_all=f["companions"],
        issuer="Bildungsbüro Landkreis Ludwigsburg",
    )
    ctx["charts"] = weekly_charts(f) if with_charts else {"caseload": None, "waitlist_trend": None}
    return ctx


def weekly_charts(f: Mapping[str, Any]) -> dict[str, str | None]:
    caseload = [
        {"label": c["companion_id"], "assigned": c["assigned"], "capacity": c["capacity"]}
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
    training_share = "–"
    if destinations is not None:
        training_rows = [DESTINATIONS[d] for d in TRAINING_DESTINATIONS]
        training = sum_display([destinations.row_total(r) for r in training_rows])
        with_company = sum_display([destinations.cell(r, WITH_COMPANY_COLUMNS[0]) for r in training_rows])
        training_share = share(training, destinations.grand_total)
        transitions = [
            {
                "label": "Übergang in Ausbildung (dual und schulisch)",
                "count": training,
                "share": training_share,
            },
            {
                "label": "davon im ehemaligen Praktikumsbetrieb",
                "count": with_company,
                "share": share(with_company, destinations.grand_total),
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
        {"label": "Anteil Übergang in Ausbildung an allen Austritten", "value": training_share},
    ]
    cohort = None
    if inputs.previous_counters:
        prev = Counts.parse(inputs.previous_counters)
        prev_participants = suppress_value(prev.participants())
        prev_exits = suppress_value(sum(sum(v.values()) for v in prev.exits.values()))
        prev_training = suppress_value(
            sum(n for (d, _), n in prev.dest.items() if d in TRAINING_DESTINATIONS)
        )
        prev_share = share(prev_training, prev_exits)
        cohort = [
            {
                "label": "Teilnehmende",
                "previous": prev_participants,
                "current": participants,
                "delta": delta(participants, prev_participants),
            },
            {
                "label": "Austritte",
                "previous": prev_exits,
                "current": n_exits,
                "delta": delta(n_exits, prev_exits),
            },
            {
                "label": "Übergang in Ausbildung",
                "previous": prev_training,
                "current": training,
                "delta": delta(training, prev_training),
            },
            {
                "label": "Anteil Übergang in Ausbildung",
                "previous": prev_share,
                "current": training_share,
                "delta": _points(training_share, prev_share),
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


def _points(current: str, previous: str) -> str:
    """Change of two shares ("38,5 %") in percentage points; "x"/"–" when a side is not shown."""
    if "x" in (current, previous):
        return "x"
    try:
        a, b = (float(v.replace(" %", "").replace(",", ".")) for v in (current, previous))
    except ValueError:
        return "–"
    d = round(a - b, 1)
    text = f"{abs(d):.1f}".replace(".", ",")
    return "±0,0 Prozentpunkte" if d == 0 else f"{'+' if d > 0 else '−'}{text} Prozentpunkte"


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
        counts = inputs.counts()
        comp = _most_loaded(_companion_rows(inputs, counts), CHART_BARS)
        if comp:
            chart_uris["caseload"] = charts.png_data_uri(
                charts.caseload_chart(
                    [
                        {"label": c["companion_id"], "assigned": c["assigned"], "capacity": c["capacity"]}
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
    """What ``GET /dashboard/summary`` returns: current figures (statistics suppressed) and chart images."""
    f = weekly_figures(inputs, week)
    waiting = f["waitlist"]
    by_school: dict[str, int] = defaultdict(int)
    for w in waiting:
        by_school[w["school"]] += 1
    return {
        "school_year": inputs.school_year,
        "as_of": week.as_of.isoformat(),
        "week": {"label": week.label, "start": week.start.isoformat(), "end": week.end.isoformat()},
        "kpis": f["kpis"],
        "status_by_school": _json_table(f["status_by_school"]),
        "new_this_week": _json_table(f["new_this_week"]),
        "waitlist": {
            "waiting": len(waiting),
            "longer_than_14_days": sum(1 for w in waiting if w["days"] > LONG_WAIT_DAYS),
            "longest_days": waiting[0]["days"] if waiting else None,
            "entries": [
                {k: (v.isoformat() if isinstance(v, date) else v) for k, v in w.items() if k != "intake_id"}
                for w in waiting[:WAITLIST_LIST_LIMIT]
            ],
        },
        "companions": [
            {k: c[k] for k in ("companion_id", "label", "schools", "assigned", "capacity", "fte", "active")}
            for c in f["companions"]
        ],
        "schools_caseload": [{**s, "assigned": s["assigned"]} for s in f["schools_caseload"]],
        "target_per_fte": TARGET_PER_FTE,
        "charts": weekly_charts(f) if with_charts else {},
    }
