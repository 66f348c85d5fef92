"""Spreadsheets people expect: every report's XLSX has native chart parts beside its tables, numbers stored
as numbers (also changes and shares), frozen header rows and columns as wide as their content – for the
crafted contexts and for contexts built from real aggregates; erasure keeps the charts."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from openpyxl.workbook.workbook import Workbook
from reporting_contexts import school_year_context, weekly_context
from test_reporting_figures import AS_OF, T0, base_population, inputs_for, many

from services.reporting.logic import figures
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.redact import redact_xlsx
from services.reporting.logic.report import XLSX_WAITLIST_SHEET, render_xlsx
from services.reporting.logic.suppression import SECONDARY, SMALL
from services.reporting.logic.workbook import CHANGE, PERCENT, POINTS

#: A text that a reader would take for a number ("12", "+3", "−2", "38,5 %", "1.234").
NUMBER_AS_TEXT = re.compile(r"^[+\-−±]?\d[\d.,]*( ?%)?$")
#: Charts each report draws (one per sheet that has one).
WEEKLY_CHARTS = {
    "Kennzahlen",
    "Neu in der Woche",
    "Stand nach Schule",
    "Begleiter",
    "Betreuungsschlüssel",
    "Verlauf Warteliste",
}
SCHOOL_YEAR_CHARTS = {
    "Geschlecht",
    "Alter",
    "Sprachförderbedarf",
    "Austritte",
    "Verbleib",
    "Wartezeit",
    "Berufsfelder",
    "Vorjahresvergleich",
}


def real_weekly() -> dict[str, object]:
    pop = base_population() + many("RFS", 4, status="waitlisted", at=T0 + timedelta(days=8))
    pop += many("MPS", 3, status="ended", at=T0 + timedelta(days=7))
    return figures.weekly_context(
        inputs_for(pop),
        ReportWeek.of(AS_OF, "last_week"),
        report_id="01W",
        generated_at=AS_OF,
        with_charts=False,
    )


def real_school_year() -> dict[str, object]:
    pop = base_population() + many("RFS", 5, status="ended", destination="dual_training")
    pop += many("OWS", 1, status="ended", destination="nothing")
    inputs = inputs_for(pop)
    prev = inputs_for(base_population()[:100] + many("MPS", 8, status="ended", destination="dual_training"))
    inputs.previous_school_year, inputs.previous_counters = "2025/26", prev.counters
    return figures.school_year_context(inputs, report_id="01Y", generated_at=AS_OF, with_charts=False)


def crafted_weekly() -> dict[str, object]:
    ctx = weekly_context()
    ctx.update(trend=[(date(2026, 11, 22), 5), (date(2026, 11, 29), 7)])
    return ctx


CASES = {
    "weekly, crafted": ("weekly", crafted_weekly, WEEKLY_CHARTS),
    "weekly, from aggregates": ("weekly", real_weekly, WEEKLY_CHARTS),
    "school year, crafted": (
        "school_year",
        school_year_context,
        SCHOOL_YEAR_CHARTS - {"Wartezeit", "Berufsfelder"},
    ),
    "school year, from aggregates": ("school_year", real_school_year, SCHOOL_YEAR_CHARTS),
}


def opened(data: bytes) -> tuple[Workbook, list[str]]:
    parts = zipfile.ZipFile(io.BytesIO(data)).namelist()
    return load_workbook(io.BytesIO(data)), parts


@pytest.mark.parametrize("case", CASES)
def test_each_report_xlsx_has_native_charts_beside_its_tables(case: str) -> None:
    report_type, build, with_chart = CASES[case]
    wb, parts = opened(render_xlsx(report_type, build()))
    charts = [p for p in parts if re.fullmatch(r"xl/charts/chart\d+\.xml", p)]
    assert len(charts) == len(with_chart)
    assert {ws.title for ws in wb.worksheets if ws._charts} == with_chart
    book = zipfile.ZipFile(io.BytesIO(render_xlsx(report_type, build())))
    for part in charts:  # the value axis starts at zero (a truncated axis exaggerates differences)
        xml = book.read(part).decode()
        value_axes = re.findall(r"<(?:c:)?valAx>.*?</(?:c:)?valAx>", xml, re.S)
        assert value_axes and all(re.search(r'<(?:c:)?min val="0"', a) for a in value_axes), part
    for ws in wb.worksheets:
        for chart in ws._charts:
            anchor_col = chart.anchor._from.col + 1  # 0-based in the drawing
            assert anchor_col > ws.max_column or all(  # beside the table, never over a filled cell
                ws.cell(row=r, column=anchor_col).value is None for r in range(1, ws.max_row + 1)
            )


@pytest.mark.parametrize("case", CASES)
def test_numbers_are_numbers_headers_frozen_columns_fit(case: str) -> None:
    report_type, build, _ = CASES[case]
    wb, _ = opened(render_xlsx(report_type, build()))
    for ws in wb.worksheets:
        if ws.title != "Bericht" and ws.max_row > 1:
            assert ws.freeze_panes == "B2", ws.title  # header row and first column stay in view
        texts_like_numbers = [
            f"{ws.title}!{c.coordinate}={c.value!r}"
            for row in ws.iter_rows(min_row=2)  # below the header (labels such as the age "16" are text)
            for c in row
            if isinstance(c.value, str) and NUMBER_AS_TEXT.match(c.value)
        ]
        assert not texts_like_numbers
        for col in ws.iter_cols(min_row=2, max_row=max(2, ws.max_row)):
            letter = col[0].column_letter
            width = ws.column_dimensions[letter].width
            longest = max(
                (
                    len(str(c.value))
                    for c in col
                    if isinstance(c.value, str) and c.coordinate not in ws.merged_cells
                ),
                default=0,
            )
            assert width >= min(longest, 60), f"{ws.title}!{letter}: width {width} < {longest}"


def test_changes_and_shares_are_numbers_with_formats() -> None:
    wb, _ = opened(render_xlsx("weekly", real_weekly()))
    kpis = wb["Kennzahlen"]
    header = [c.value for c in kpis[1]]
    change = header.index("Veränderung") + 1
    cells = [kpis.cell(row=r, column=change) for r in range(2, 2 + len(real_weekly()["kpis"]))]  # type: ignore[arg-type]
    assert all(isinstance(c.value, int) for c in cells) and all(c.number_format == CHANGE for c in cells)
    sy = real_school_year()
    wb, _ = opened(render_xlsx("school_year", sy))
    rows = list(wb["Übergänge"].iter_rows(min_row=2, max_row=1 + len(sy["transitions"])))  # type: ignore[arg-type]
    assert all(isinstance(r[2].value, int | float) or r[2].value == SECONDARY for r in rows)
    assert all(r[2].number_format == PERCENT for r in rows if r[2].value != SECONDARY)
    wb, _ = opened(render_xlsx("school_year", school_year_context()))
    cohort = {r[0].value: r for r in wb["Vorjahresvergleich"].iter_rows(min_row=2)}
    share_row = cohort["Anteil Übergang in Ausbildung"]
    assert isinstance(share_row[1].value, float) and share_row[1].number_format == PERCENT
    assert isinstance(share_row[3].value, float) and share_row[3].number_format == POINTS
    assert isinstance(cohort["Austritte"][3].value, int) and cohort["Austritte"][3].number_format == CHANGE


def test_weekly_figures_are_exact_and_school_year_figures_suppressed() -> None:
    wb, _ = opened(render_xlsx("weekly", real_weekly()))
    weekly = [c.value for row in wb["Stand nach Schule"].iter_rows(min_row=2) for c in row[1:]]
    assert 3 in weekly and SMALL not in weekly and SECONDARY not in weekly  # the MPS exits: 3, exact
    wb, _ = opened(render_xlsx("school_year", real_school_year()))
    exits = [c.value for row in wb["Austritte"].iter_rows(min_row=2) for c in row[1:]]
    assert SMALL in exits  # one exit at OWS leaves the office as "<3"


def test_erasure_keeps_the_charts() -> None:
    ctx = crafted_weekly()
    for w, iid in zip(ctx["waitlist"], ("01K" + "A" * 23, "01K" + "B" * 23), strict=False):  # type: ignore[call-overload]
        w["intake_id"], w["ref"] = iid, "…" + iid[-8:]
    data = render_xlsx("weekly", ctx)
    redacted, n = redact_xlsx(data, "01K" + "A" * 23)
    assert n == 1
    wb, parts = opened(redacted)
    assert len([p for p in parts if p.startswith("xl/charts/chart")]) == len(WEEKLY_CHARTS)
    assert "…" + "A" * 8 not in [c.value for c in wb[XLSX_WAITLIST_SHEET]["A"]]
    assert isinstance(wb[XLSX_WAITLIST_SHEET]["E2"].value, datetime)
