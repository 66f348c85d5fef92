"""Build report figures from aggregates and render them (HTML via Jinja2, XLSX via openpyxl)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

from contracts.reference import SCHOOLS
from services.reporting.models.aggregates import STATUSES, CompanionRow, SchoolRow, StatusReport

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
SCHOOL_COLUMNS = [("Schule", "school_name"), ("Anmeldungen", "intakes"), ("zugeordnet", "assigned"),
                  ("Warteliste", "waitlisted"), ("in Bearbeitung", "submitted"), ("beendet", "ended"),
                  ("zurückgezogen", "withdrawn")]


def build_report(*, report_id: str, report_type: str, school_year: str, generated_at: datetime,
                 counters: dict[str, int], companions: dict[str, dict[str, Any]]) -> StatusReport:
    """Counters (``school#<id>#<status>``, ``companion#<id>#assigned``) → report tables."""
    schools = {sid: SchoolRow(school_id=sid, school_name=name) for sid, name in SCHOOLS.items()}
    comp_rows = {cid: CompanionRow(companion_id=cid, school_ids=c["school_ids"], capacity=c["capacity"])
                 for cid, c in companions.items()}
    for key, n in counters.items():
        kind, ident, metric = key.split("#", 2)
        if kind == "school" and ident in schools and (metric in STATUSES or metric == "intakes"):
            setattr(schools[ident], metric, n)
        elif kind == "companion":
            comp_rows.setdefault(ident, CompanionRow(companion_id=ident)).assigned = n
    return StatusReport(report_id=report_id, report_type=report_type,  # type: ignore[arg-type]
                        school_year=school_year, generated_at=generated_at,
                        schools=list(schools.values()), companions=sorted(comp_rows.values(),
                                                                          key=lambda r: r.companion_id))


def render_html(report: StatusReport) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    return env.get_template("status.html.j2").render(r=report, columns=SCHOOL_COLUMNS, totals=report.totals())


def render_xlsx(report: StatusReport) -> bytes:
    """One sheet per table, numbers stored as numbers."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Schulen"
    ws.append([c for c, _ in SCHOOL_COLUMNS])
    for row in [*report.schools, report.totals()]:
        ws.append([getattr(row, f) for _, f in SCHOOL_COLUMNS])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws2 = wb.create_sheet("Begleiter")
    ws2.append(["Begleiter/in", "Schulen", "Schüler/innen", "Kapazität", "Auslastung"])
    for c in report.companions:
        ws2.append([c.companion_id, ", ".join(c.school_ids), c.assigned, c.capacity, c.utilisation])
        ws2.cell(row=ws2.max_row, column=5).number_format = "0%"
    for cell in ws2[1]:
        cell.font = Font(bold=True)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
