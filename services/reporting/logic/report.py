"""Render report contexts (``logic.figures``) as HTML (Jinja2), PDF (fpdf2, from the HTML), XLSX (openpyxl).

XLSX: one sheet per table with native charts (``logic.workbook``). openpyxl (and numpy behind it) is imported
when a workbook is made, Jinja2 when the first template is rendered, not with every reporting handler that
imports this module (docs/performance.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from services.reporting.logic.pdf import html_to_pdf
from services.reporting.logic.suppression import SECONDARY
from services.reporting.logic.templates import environment
from services.reporting.logic.waitlist import XLSX_WAITLIST_SHEET

if TYPE_CHECKING:
    from openpyxl import Workbook

TEMPLATE = {"weekly": "weekly.html.j2", "school_year": "school_year.html.j2"}
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def render_html(report_type: str, ctx: Mapping[str, Any]) -> str:
    return environment().get_template(TEMPLATE[report_type]).render(**ctx)


def render_pdf(html: str) -> bytes:
    return html_to_pdf(html)


# ---------------------------------------------------------------------------------------------- XLSX
def weekly_xlsx(ctx: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook

    from services.reporting.logic import workbook as xl

    wb = Workbook()
    week = ctx["week"]
    xl.info_sheet(
        wb,
        ["Wochenbericht AV dual", week["label"]],
        [
            ["Schuljahr", ctx["school_year"]],
            ["Berichtszeitraum", f"{_d(week['start'])} bis {_d(week['end'])}"],
            ["Stand", _dt(ctx["generated_at"])],
            ["Bericht-Nr.", ctx["report_id"]],
            ["Herausgeber", ctx.get("issuer", "")],
            [
                "Hinweis",
                "Intern – nur für den Dienstgebrauch. Exakte Zahlen, keine Namen von Schülerinnen und "
                "Schülern.",
            ],
        ],
    )
    kpis = ctx.get("kpis", [])
    xl.rows_sheet(
        wb,
        "Kennzahlen",
        ["Kennzahl", "Wochenbeginn", "Zugänge", "Abgänge", "Stand", "Veränderung"],
        [[k["label"], k["start"], k["inflow"], k["outflow"], k["end"], k["change"]] for k in kpis],
        formats={6: xl.CHANGE},
        notes=["Wochenbeginn + Zugänge − Abgänge = Stand.", *ctx.get("movement_notes", [])],
        chart=xl.Chart("bar", "Wochenbeginn und Stand", series=(2, 5)),
    )
    new = ctx.get("new_this_week")
    xl.table_sheet(
        wb,
        "Neu in der Woche",
        new,
        "Schule",
        chart=xl.Chart("bar", f"Ereignisse in {week['label']}", series=(2, 3, 5)) if new else None,
        notes=[
            "Ereignisse der Woche: wer in derselben Woche angemeldet und zugeordnet wurde, zählt in beiden "
            "Spalten (keine Zeilensummen)."
        ],
    )
    status = ctx.get("status_by_school")
    xl.table_sheet(
        wb,
        "Stand nach Schule",
        status,
        "Schule",
        chart=xl.Chart(
            "stacked", "Anmeldungen nach Schule und Stand", series=range(2, 2 + len(status.col_labels))
        )
        if status
        else None,
    )
    wait = [
        [
            w["ref"],
            w.get("school_name", w["school"]),
            w["school"],
            w["class_name"],
            w["since"],
            w["days"],
            w["reason"],
        ]
        for w in ctx.get("waitlist", [])
    ]
    xl.rows_sheet(
        wb,
        XLSX_WAITLIST_SHEET,
        ["Kennung", "Schule", "Kürzel", "Klasse", "auf der Warteliste seit", "Wartetage", "Grund"],
        wait,
        empty="Zurzeit wartet niemand.",
        formats={5: xl.DATE},
    )
    companions = ctx.get("companions", [])
    n = ctx.get("companions_count", len(companions))
    total = ctx.get("companions_total") or {
        "assigned": sum(c["assigned"] for c in companions),
        "capacity": sum(c["capacity"] or 0 for c in companions),
        "fte": sum(c["fte"] or 0 for c in companions),
    }
    comp = [
        [
            c["label"],
            c.get("companion_id", ""),
            c["schools"],
            c["assigned"],
            c["capacity"],
            (c["assigned"] / c["capacity"]) if c["capacity"] else None,
            c["fte"],
            (c["assigned"] / c["fte"]) if c["fte"] else None,
        ]
        for c in companions
    ]
    xl.rows_sheet(
        wb,
        "Begleiter",
        ["Begleiter/in", "Kürzel", "Schulen", "zugeordnet", "Kapazität", "Auslastung", "VZÄ", "je VZÄ"],
        comp,
        formats={6: xl.PERCENT, 7: xl.DECIMAL2, 8: xl.DECIMAL1},
        chart=xl.Chart("bar", "Fallzahl und Kapazität je Begleiter/in", series=(4, 5)),
        total=[
            f"Insgesamt (alle {n})" if n > len(companions) else "Insgesamt",
            None,
            None,
            total["assigned"],
            total["capacity"],
            None,
            total["fte"] or None,
            None,
        ],
    )
    sc = [
        [
            s["school"],
            s["assigned"],
            s["fte"],
            (s["assigned"] / s["fte"])
            if s["fte"] and isinstance(s["assigned"], int)
            else (SECONDARY if s["fte"] else None),
        ]
        for s in ctx.get("schools_caseload", [])
    ]
    xl.rows_sheet(
        wb,
        "Betreuungsschlüssel",
        ["Schule", "zugeordnet", "VZÄ Begleitung", "je VZÄ"],
        sc,
        formats={3: xl.DECIMAL2, 4: xl.DECIMAL1},
        chart=xl.Chart(
            "bar",
            f"Schüler/innen je Vollzeitstelle (Ziel {ctx.get('target_per_fte', 40)})",
            series=(4,),
            y_title="je VZÄ",
        ),
    )
    trend = [[d, n] for d, n in ctx.get("trend", [])]
    xl.rows_sheet(
        wb,
        "Verlauf Warteliste",
        ["Woche bis", "auf der Warteliste"],
        trend,
        formats={1: xl.DATE},
        chart=xl.Chart("line", "Warteliste am Ende jeder Woche", series=(2,)),
    )
    casework_sheets(wb, ctx.get("casework"))
    return xl.save(wb)


def school_year_xlsx(ctx: Mapping[str, Any]) -> bytes:
    from openpyxl import Workbook

    from services.reporting.logic import workbook as xl

    wb = Workbook()
    info = [
        ["Empfänger", "Regionale Steuergruppe Übergang Schule – Beruf"],
        ["Stand", _dt(ctx["generated_at"])],
        ["Bericht-Nr.", ctx["report_id"]],
        ["Herausgeber", ctx.get("issuer", "")],
    ]
    info += [["Hinweis", n] for n in ctx.get("notes", [])]
    xl.info_sheet(wb, ["Schuljahresbericht AV dual", ctx["school_year"]], info)
    xl.rows_sheet(
        wb,
        "Kennzahlen",
        ["Kennzahl", "Wert"],
        [[k["label"], _unit(k["value"], k.get("unit"))] for k in ctx.get("summary", [])],
    )
    stacked = "Anteile nicht ausgewiesener Werte (<3, x) fehlen im Diagramm"
    for title, key, row_header, chart_title in (
        ("Geschlecht", "by_gender", "Schule", "Teilnehmende nach Schule und Geschlecht"),
        ("Alter", "by_age", "Schule", "Teilnehmende nach Schule und Alter"),
        ("Sprachförderbedarf", "by_german_support", "Schule", "Teilnehmende nach Sprachförderbedarf"),
        ("Austritte", "exits", "Schule", "Austritte nach Schule und Grund"),
    ):
        t = ctx.get(key)
        xl.table_sheet(
            wb,
            title,
            t,
            row_header,
            chart=xl.Chart("stacked", chart_title, series=range(2, 2 + len(t.col_labels))) if t else None,
            notes=[stacked] if t is not None and t.has_suppression else [],
        )
    dest = ctx.get("destinations")
    xl.table_sheet(
        wb,
        "Verbleib",
        dest,
        "Verbleib",
        total_label="Austritte",
        chart=xl.Chart("bar", "Verbleib nach dem Austritt", series=(2 + len(dest.col_labels),))
        if dest
        else None,
    )
    xl.rows_sheet(
        wb,
        "Übergänge",
        ["Übergang", "Anzahl", "Anteil an allen Austritten"],
        [[t["label"], t["count"], t["share"]] for t in ctx.get("transitions", [])],
        formats={3: xl.PERCENT},
    )
    xl.table_sheet(
        wb,
        "Wartezeit",
        ctx.get("waiting_time"),
        "Wartezeit bis zur Zuordnung",
        chart=xl.Chart("bar", "Zuordnungen nach Wartezeit", series=(2,)) if ctx.get("waiting_time") else None,
    )
    xl.table_sheet(
        wb,
        "Berufsfelder",
        ctx.get("career_fields"),
        "Berufsfeld (Mehrfachnennungen)",
        chart=xl.Chart("bar", "Gewünschte Berufsfelder", series=(2,)) if ctx.get("career_fields") else None,
    )
    cohort = ctx.get("cohort") or []
    prev = ctx.get("previous_school_year") or "Vorjahr"
    counts = [c for c in cohort if c.get("unit") != "percent"]
    xl.rows_sheet(
        wb,
        "Vorjahresvergleich",
        ["Kennzahl", prev, ctx["school_year"], "Veränderung"],
        [
            [
                c["label"],
                _unit(c["previous"], c.get("unit")),
                _unit(c["current"], c.get("unit")),
                xl.Fmt(c["delta"], xl.POINTS)
                if c.get("unit") == "percent"
                else xl.Fmt(c["delta"], xl.CHANGE),
            ]
            for c in cohort
        ],
        empty="Für das Vorjahr liegen keine vergleichbaren Daten vor.",
        chart=xl.Chart("bar", f"{prev} und {ctx['school_year']}", series=(2, 3), rows=(2, 1 + len(counts)))
        if counts
        else None,
    )
    casework_sheets(wb, ctx.get("casework"))
    return xl.save(wb)


def _unit(v: Any, unit: str | None) -> Any:
    from services.reporting.logic import workbook as xl

    return xl.Fmt(v, xl.PERCENT) if unit == "percent" else v


def casework_sheets(wb: Workbook, cw: Mapping[str, Any] | None) -> None:
    """The casework sheets of both reports (``logic.casework_figures``, suppressed)."""
    if not cw:
        return
    from services.reporting.logic import workbook as xl

    k = cw["klebeeffekt"]
    total = cw["goal_meetings_total"]
    xl.rows_sheet(
        wb,
        "Klebeeffekt",
        ["Kennzahl", "Wert"],
        [
            ["Ausbildungsbeginne (duale Ausbildung)", k["training_starts"]],
            ["davon im früheren Praktikumsbetrieb", k["in_former_internship_company"]],
            ["Anteil Klebeeffekt", k["share"]],
            ["Zielvereinbarungsgespräche geführt", total["done"]],
            ["Zielvereinbarungsgespräche bis heute fällig", total["due"]],
        ],
    )
    xl.table_sheet(wb, "Praktika je Schüler", cw["internships_per_student"], "Schule")
    xl.table_sheet(wb, "Ohne Praktikum je Monat", cw["without_internship_by_month"], "Monat")
    xl.table_sheet(wb, "Zielvereinbarungen je Schule", cw.get("goal_meetings_by_school"), "Schule")
    goals = cw["goal_meetings"]
    if goals:  # office-internal: the companions most behind, the totals over everyone
        xl.rows_sheet(
            wb,
            "Zielvereinbarungen",
            ["Begleiter/in", "Kürzel", "Schüler/innen", "geführt", "fällig", "Rückstand", "Anteil"],
            [
                [g["name"], g["companion_id"], g["students"], g["done"], g["due"], g["behind"], g["share"]]
                for g in goals
            ],
            total=[
                "Insgesamt (alle Begleitungen)",
                None,
                total["students"],
                total["done"],
                total["due"],
                total["due"] - total["done"],
                cw["goal_meetings_share"],
            ],
            notes=[
                f"Die Begleitungen mit dem größten Rückstand (fällig − geführt; bei gleichem Rückstand nach "
                f"Kürzel), höchstens {cw['goal_meetings_limit']}; die Summenzeile zählt alle Begleitungen. "
                "Ein negativer Rückstand heißt: mehr Gespräche geführt als bis heute fällig."
            ],
        )


def render_xlsx(report_type: str, ctx: Mapping[str, Any]) -> bytes:
    return weekly_xlsx(ctx) if report_type == "weekly" else school_year_xlsx(ctx)


def _d(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _dt(t: datetime) -> str:
    return t.strftime("%d.%m.%Y, %H:%M Uhr")
