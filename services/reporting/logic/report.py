"""Render report contexts (``logic.figures``) as HTML (Jinja2), PDF (WeasyPrint) and XLSX (openpyxl).

XLSX: one sheet per table, counts as numbers, withheld values as the text "<3" / "x" (the same display
values as in HTML/PDF), a legend under every statistical sheet. Every cell is written through
``common.spreadsheet`` (text never becomes a formula).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common import spreadsheet
from services.reporting.logic.pdf import html_to_pdf
from services.reporting.logic.suppression import SECONDARY, SMALL, SuppressedTable

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = {"weekly": "weekly.html.j2", "school_year": "school_year.html.j2"}
LEGEND = (
    "<3 = Fallzahl 1 oder 2 (aus Datenschutzgründen nicht ausgewiesen); x = Wert geheimgehalten, weil sich "
    "sonst eine Fallzahl von 1 oder 2 berechnen ließe. Summen enthalten die nicht ausgewiesenen Werte."
)
CONTENT_TYPES = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F1")
_BOLD = Font(bold=True)


@cache
def environment() -> Environment:
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))


def render_html(report_type: str, ctx: Mapping[str, Any]) -> str:
    return environment().get_template(TEMPLATE[report_type]).render(**ctx)


def render_pdf(html: str) -> bytes:
    return html_to_pdf(html)


# ---------------------------------------------------------------------------------------------- XLSX
def _header(ws: Worksheet, row: Sequence[str]) -> None:
    spreadsheet.append(ws, list(row))
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")


def _value(v: Any) -> Any:
    """Numbers stay numbers; display markers and texts stay text; dates stay dates."""
    if isinstance(v, bool):
        return "ja" if v else "nein"
    return v


def _widths(ws: Worksheet, first: int = 34, rest: int = 14) -> None:
    for i in range(1, ws.max_column + 1):
        ws.column_dimensions[get_column_letter(i)].width = first if i == 1 else rest


def _legend(ws: Worksheet, values: Sequence[Any]) -> None:
    if any(v in (SMALL, SECONDARY) for v in values):
        spreadsheet.append(ws, [])
        spreadsheet.append(ws, [LEGEND])


def _table_sheet(
    wb: Workbook, title: str, t: SuppressedTable | None, row_header: str, total_label: str = "Insgesamt"
) -> None:
    ws = wb.create_sheet(title)
    if t is None:
        spreadsheet.append(ws, ["Keine Daten vorhanden."])
        return
    cols = [row_header, *t.col_labels] + ([total_label] if t.row_totals is not None else [])
    _header(ws, cols)
    for label, cells, total in t.rows():
        spreadsheet.append(
            ws, [label, *map(_value, cells)] + ([_value(total)] if t.row_totals is not None else [])
        )
    if t.col_totals is not None:
        spreadsheet.append(
            ws,
            [total_label, *map(_value, t.col_totals)]
            + ([_value(t.grand_total)] if t.row_totals is not None else []),
        )
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
    _widths(ws)
    ws.freeze_panes = "B2"
    _legend(ws, list(t.values()))


def _rows_sheet(
    wb: Workbook,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    empty: str = "Keine Einträge.",
    formats: Mapping[int, str] | None = None,
) -> Worksheet:
    ws = wb.create_sheet(title)
    _header(ws, header)
    if not rows:
        spreadsheet.append(ws, [empty])
    for i, r in enumerate(rows, start=2):
        spreadsheet.append(ws, [_value(v) for v in r])
        for col, fmt in (formats or {}).items():
            ws.cell(row=i, column=col).number_format = fmt
    _widths(ws, first=22)
    ws.freeze_panes = "A2"
    _legend(ws, [v for r in rows for v in r])
    return ws


def _kpi_sheet(wb: Workbook, ctx: Mapping[str, Any]) -> None:
    rows = [[k["label"], k["current"], k["previous"], k["delta"]] for k in ctx.get("kpis", [])]
    _rows_sheet(wb, "Kennzahlen", ["Kennzahl", "aktuell", "Vorwoche", "Veränderung"], rows)


def weekly_xlsx(ctx: Mapping[str, Any]) -> bytes:
    wb = Workbook()
    info = wb.active
    info.title = "Bericht"
    week = ctx["week"]
    for row in (
        ["Wochenbericht AV dual", week["label"]],
        ["Schuljahr", ctx["school_year"]],
        ["Berichtszeitraum", f"{_d(week['start'])} bis {_d(week['end'])}"],
        ["Stand", _dt(ctx["generated_at"])],
        ["Bericht-Nr.", ctx["report_id"]],
        ["Herausgeber", ctx.get("issuer", "")],
        ["Hinweis", "Intern – nur für den Dienstgebrauch. Keine Namen von Schülerinnen und Schülern."],
    ):
        spreadsheet.append(info, row)
    info["A1"].font = Font(bold=True, size=13)
    _widths(info, first=20, rest=90)
    _kpi_sheet(wb, ctx)
    _table_sheet(wb, "Neu in der Woche", ctx.get("new_this_week"), "Schule")
    _table_sheet(wb, "Stand nach Schule", ctx.get("status_by_school"), "Schule", "Insgesamt")
    wait = [
        [w["ref"], w["school"], w["class_name"], w["since"], w["days"], w["reason"]]
        for w in ctx.get("waitlist_all", ctx.get("waitlist", []))
    ]
    _rows_sheet(
        wb,
        "Warteliste",
        ["Kennung", "Schule", "Klasse", "auf der Warteliste seit", "Wartetage", "Grund"],
        wait,
        empty="Zurzeit wartet niemand.",
        formats={4: "DD.MM.YYYY"},
    )
    comp = [
        [
            c["label"],
            c["schools"],
            c["assigned"],
            c["capacity"],
            (c["assigned"] / c["capacity"]) if c["capacity"] else None,
            c["fte"],
            (c["assigned"] / c["fte"]) if c["fte"] else None,
        ]
        for c in ctx.get("companions_all", ctx.get("companions", []))
    ]
    _rows_sheet(
        wb,
        "Begleiter",
        ["Begleiter/in", "Schulen", "zugeordnet", "Kapazität", "Auslastung", "VZÄ", "je VZÄ"],
        comp,
        formats={5: "0%", 7: "0.0"},
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
    _rows_sheet(
        wb,
        "Betreuungsschlüssel",
        ["Schule", "zugeordnet", "VZÄ Begleitung", "je VZÄ"],
        sc,
        formats={4: "0.0"},
    )
    trend = [[d, n] for d, n in ctx.get("trend", [])]
    _rows_sheet(
        wb, "Verlauf Warteliste", ["Woche bis", "auf der Warteliste"], trend, formats={1: "DD.MM.YYYY"}
    )
    return _save(wb)


def school_year_xlsx(ctx: Mapping[str, Any]) -> bytes:
    wb = Workbook()
    info = wb.active
    info.title = "Bericht"
    for row in (
        ["Schuljahresbericht AV dual", ctx["school_year"]],
        ["Empfänger", "Regionale Steuergruppe Übergang Schule – Beruf"],
        ["Stand", _dt(ctx["generated_at"])],
        ["Bericht-Nr.", ctx["report_id"]],
        ["Herausgeber", ctx.get("issuer", "")],
    ):
        spreadsheet.append(info, row)
    for n in ctx.get("notes", []):
        spreadsheet.append(info, ["Hinweis", n])
    info["A1"].font = Font(bold=True, size=13)
    _widths(info, first=20, rest=90)
    _rows_sheet(
        wb, "Kennzahlen", ["Kennzahl", "Wert"], [[k["label"], k["value"]] for k in ctx.get("summary", [])]
    )
    _table_sheet(wb, "Geschlecht", ctx.get("by_gender"), "Schule")
    _table_sheet(wb, "Alter", ctx.get("by_age"), "Schule")
    _table_sheet(wb, "Sprachförderbedarf", ctx.get("by_german_support"), "Schule")
    _table_sheet(wb, "Austritte", ctx.get("exits"), "Schule")
    _table_sheet(wb, "Verbleib", ctx.get("destinations"), "Verbleib", "Austritte")
    _rows_sheet(
        wb,
        "Übergänge",
        ["Übergang", "Anzahl", "Anteil an allen Austritten"],
        [[t["label"], t["count"], t["share"]] for t in ctx.get("transitions", [])],
    )
    _table_sheet(wb, "Wartezeit", ctx.get("waiting_time"), "Wartezeit bis zur Zuordnung")
    _table_sheet(wb, "Berufsfelder", ctx.get("career_fields"), "Berufsfeld (Mehrfachnennungen)")
    cohort = ctx.get("cohort") or []
    prev = ctx.get("previous_school_year") or "Vorjahr"
    _rows_sheet(
        wb,
        "Vorjahresvergleich",
        ["Kennzahl", prev, ctx["school_year"], "Veränderung"],
        [[c["label"], c["previous"], c["current"], c["delta"]] for c in cohort],
        empty="Für das Vorjahr liegen keine vergleichbaren Daten vor.",
    )
    return _save(wb)


def render_xlsx(report_type: str, ctx: Mapping[str, Any]) -> bytes:
    return weekly_xlsx(ctx) if report_type == "weekly" else school_year_xlsx(ctx)


def _save(wb: Workbook) -> bytes:
    wb.properties.creator = "AV dual-Plattform"
    return spreadsheet.save(wb)


def _d(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def _dt(t: datetime) -> str:
    return t.strftime("%d.%m.%Y, %H:%M Uhr")
