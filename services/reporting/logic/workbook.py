"""The report workbooks (XLSX, openpyxl) as people expect them from a spreadsheet: one sheet per table with a
frozen header row (and first column), columns as wide as their content, every number stored as a number
with a number format (counts, changes "+3 / −2", shares "38,5 %", dates), and a native Excel chart beside
the tables worth plotting (``openpyxl.chart``: Excel and LibreOffice draw it from the cells, so the chart
and the table never disagree).

Withheld values of the school-year report stay the texts "<3" / "x" (the same display values as in HTML
and PDF) with the legend under the table; a chart leaves them out. Every cell is written through
``common.spreadsheet`` (text never becomes a formula).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from openpyxl import Workbook
from openpyxl.chart import BarChart, LineChart, Reference
from openpyxl.chart.series import SeriesLabel
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from common import spreadsheet
from services.reporting.logic.suppression import SECONDARY, SMALL, SuppressedTable

LEGEND = (
    "<3 = Fallzahl 1 oder 2 (aus Datenschutzgründen nicht ausgewiesen); x = Wert geheimgehalten, weil sich "
    "sonst eine Fallzahl von 1 oder 2 berechnen ließe. Summen enthalten die nicht ausgewiesenen Werte."
)
#: Number formats (Excel shows them in the reader's locale: 1.234 / 38,5 % in German).
COUNT = "#,##0"
CHANGE = '+#,##0;"−"#,##0;"±"0'
PERCENT = "0.0%"
POINTS = '+0.0" Pp";"−"0.0" Pp";"±"0.0" Pp"'
DATE = "DD.MM.YYYY"
DECIMAL1 = "0.0"
DECIMAL2 = "0.00"
MIN_WIDTH, MAX_WIDTH = 6, 60

_HEADER_FILL = PatternFill("solid", fgColor="DDE7F1")
_BOLD = Font(bold=True)
_CHART_WIDTH_CM, _CHART_HEIGHT_CM = 17.0, 8.5  # line charts; bar charts grow with their bars


@dataclass(frozen=True)
class Fmt:
    """A value with its own number format (a row whose unit differs from its column's, e.g. a share)."""

    value: Any
    number_format: str


@dataclass(frozen=True)
class Chart:
    """A native chart of a sheet's table: the columns ``series`` (1-based, header = series name) over the
    data rows ``rows`` (1-based, inclusive; default: every data row), categories from column 1."""

    kind: Literal["bar", "stacked", "line"]
    """bar / stacked: horizontal bars (long category names such as school names stay readable)"""
    title: str
    series: Sequence[int]
    y_title: str = "Anzahl"
    rows: tuple[int, int] | None = None
    percent: bool = False


# ------------------------------------------------------------------------------------------ cells
def _cell_value(v: Any) -> Any:
    """Numbers stay numbers; display markers and texts stay text; booleans in German."""
    if isinstance(v, Fmt):
        return v.value
    if isinstance(v, bool):
        return "ja" if v else "nein"
    return v


def _shown(v: Any, fmt: str | None) -> str:
    """What a cell shows (for the column width)."""
    if v is None:
        return ""
    if isinstance(v, datetime):
        return "00.00.0000 00:00"
    if isinstance(v, date):
        return "00.00.0000"
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "nein"
    if fmt == PERCENT:
        return f"{100 * v:.1f} %"
    if fmt == POINTS:
        return f"+{abs(v):.1f} Pp"
    if fmt == CHANGE:
        return f"+{abs(v):,}"
    if isinstance(v, float):
        return f"{v:,.2f}"
    return f"{v:,}"


def _append(ws: Worksheet, values: Sequence[Any], formats: Mapping[int, str] | None = None) -> None:
    spreadsheet.append(ws, [_cell_value(v) for v in values])
    row = ws.max_row
    for col, v in enumerate(values, start=1):
        fmt = v.number_format if isinstance(v, Fmt) else (formats or {}).get(col)
        value = _cell_value(v)
        if fmt and isinstance(value, int | float | date) and not isinstance(value, bool):
            ws.cell(row=row, column=col).number_format = fmt
        elif isinstance(value, int) and not isinstance(value, bool):
            ws.cell(row=row, column=col).number_format = COUNT


def _header(ws: Worksheet, row: Sequence[str]) -> None:
    spreadsheet.append(ws, list(row))
    for cell in ws[ws.max_row]:
        cell.font = _BOLD
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="bottom")


def fit_columns(ws: Worksheet, *, skip_rows: Sequence[int] = (), header_row: int | None = 1) -> None:
    """Column widths that fit the content: the longest shown value of a column (header: its longest word,
    it wraps), between :data:`MIN_WIDTH` and :data:`MAX_WIDTH` characters. ``skip_rows``: note rows that
    run across the sheet."""
    widths: dict[int, int] = {}
    for row in ws.iter_rows():
        for cell in row:
            if cell.row in skip_rows or cell.value is None:
                continue
            text = _shown(cell.value, cell.number_format)
            if cell.row == header_row:
                n = max((len(w) for w in text.split()), default=0)
                n = max(n, min(len(text), 16))
            else:
                n = len(text)
            widths[cell.column] = max(widths.get(cell.column, 0), n)
    for col, n in widths.items():
        ws.column_dimensions[get_column_letter(col)].width = max(MIN_WIDTH, min(MAX_WIDTH, n + 2))


def _print_setup(ws: Worksheet) -> None:
    """Printed: landscape, one page wide (table and chart side by side), the header row on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.print_title_rows = "1:1"


def _notes(ws: Worksheet, notes: Sequence[str]) -> list[int]:
    """Note rows under the table (an empty row first); :func:`_wrap_notes` lays them out."""
    rows = []
    if notes:
        spreadsheet.append(ws, [])
    for n in notes:
        spreadsheet.append(ws, [n])
        rows.append(ws.max_row)
    return rows


def _wrap_notes(ws: Worksheet, rows: Sequence[int], ncols: int) -> None:
    """Each note across the table's width, wrapped (not running under the chart beside the table)."""
    width = sum(ws.column_dimensions[get_column_letter(c)].width or 10 for c in range(1, ncols + 1))
    for r in rows:
        text = str(ws.cell(row=r, column=1).value or "")
        if ncols > 1:
            ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=ncols)
        ws.cell(row=r, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        ws.row_dimensions[r].height = 15 * max(1, -(-int(len(text) * 1.1) // int(width)))


def _align_markers(ws: Worksheet) -> None:
    """Withheld values ("<3", "x") right-aligned like the numbers they stand for."""
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if cell.value in (SMALL, SECONDARY):
                cell.alignment = Alignment(horizontal="right")


def _chart(ws: Worksheet, spec: Chart, *, data_rows: tuple[int, int], anchor_col: int) -> None:
    first, last = spec.rows or data_rows
    if last < first:
        return
    chart: BarChart | LineChart
    if spec.kind == "line":
        chart = LineChart()
    else:
        chart = BarChart()
        chart.type = "bar"
        chart.x_axis.scaling.orientation = "maxMin"  # first row on top, as in the table
        if spec.kind == "stacked":
            chart.grouping, chart.overlap = "stacked", 100
    for col in spec.series:
        chart.add_data(Reference(ws, min_col=col, min_row=first, max_row=last), titles_from_data=False)
        chart.series[-1].tx = SeriesLabel(v=str(ws.cell(row=1, column=col).value))
    chart.set_categories(Reference(ws, min_col=1, min_row=first, max_row=last))
    chart.title = spec.title
    chart.y_axis.title = spec.y_title
    chart.y_axis.numFmt = "0%" if spec.percent else "#,##0"
    chart.y_axis.scaling.min = 0  # every chart shows counts or shares: the value axis starts at zero
    chart.x_axis.delete = False  # openpyxl ≥ 3.1 hides both axes unless told otherwise
    chart.y_axis.delete = False
    chart.legend.position = "b"
    if len(spec.series) == 1:
        chart.legend = None
    chart.width = _CHART_WIDTH_CM
    per_row = 0.7 * (1 if spec.kind != "bar" else max(1, len(spec.series)))
    chart.height = _CHART_HEIGHT_CM if spec.kind == "line" else max(7.0, 4.0 + per_row * (last - first + 1))
    ws.add_chart(chart, f"{get_column_letter(anchor_col)}2")


# ------------------------------------------------------------------------------------------ sheets
def info_sheet(wb: Workbook, title_row: Sequence[str], rows: Sequence[Sequence[Any]]) -> Worksheet:
    """The first sheet: what the report is (title, period, issuer, report id)."""
    ws = wb.active
    ws.title = "Bericht"
    for r in (title_row, *rows):
        _append(ws, r)
    ws["A1"].font = Font(bold=True, size=13)
    fit_columns(ws, header_row=None)
    ws.column_dimensions["A"].width = max(ws.column_dimensions["A"].width, 1.3 * len(title_row[0]) + 2)
    for row in ws.iter_rows(min_col=2, max_col=2):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    _print_setup(ws)
    return ws


def table_sheet(
    wb: Workbook,
    title: str,
    t: SuppressedTable | None,
    row_header: str,
    *,
    total_label: str = "Insgesamt",
    chart: Chart | None = None,
    notes: Sequence[str] = (),
) -> Worksheet:
    """A statistical table (``SuppressedTable``, exact or suppressed) with its totals, legend and chart."""
    ws = wb.create_sheet(title)
    if t is None:
        spreadsheet.append(ws, ["Keine Daten vorhanden."])
        fit_columns(ws, header_row=None)
        return ws
    cols = [row_header, *t.col_labels] + ([total_label] if t.row_totals is not None else [])
    _header(ws, cols)
    for label, cells, total in t.rows():
        _append(ws, [label, *cells] + ([total] if t.row_totals is not None else []))
    last_data = ws.max_row
    if t.col_totals is not None:
        _append(
            ws,
            [total_label, *t.col_totals] + ([t.grand_total] if t.row_totals is not None else []),
        )
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
    legend = [LEGEND] if any(v in (SMALL, SECONDARY) for v in t.values()) else []
    skip = _notes(ws, [*notes, *legend])
    ws.freeze_panes = "B2"
    fit_columns(ws, skip_rows=skip)
    _wrap_notes(ws, skip, len(cols))
    _align_markers(ws)
    _print_setup(ws)
    if chart is not None:
        _chart(ws, chart, data_rows=(2, last_data), anchor_col=len(cols) + 2)
    return ws


def rows_sheet(
    wb: Workbook,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    empty: str = "Keine Einträge.",
    formats: Mapping[int, str] | None = None,
    chart: Chart | None = None,
    notes: Sequence[str] = (),
    total: Sequence[Any] | None = None,
) -> Worksheet:
    """A list (one row per item) with optional total row, notes and chart."""
    ws = wb.create_sheet(title)
    _header(ws, header)
    if not rows:
        spreadsheet.append(ws, [empty])
    for r in rows:
        _append(ws, r, formats)
    last_data = ws.max_row
    if total is not None and rows:
        _append(ws, total, formats)
        for cell in ws[ws.max_row]:
            cell.font = _BOLD
    legend = [LEGEND] if any(v in (SMALL, SECONDARY) for r in rows for v in r) else []
    skip = _notes(ws, [*notes, *legend])
    ws.freeze_panes = "B2"
    fit_columns(ws, skip_rows=[*skip, *([] if rows else [2])])
    _wrap_notes(ws, skip, len(header))
    _align_markers(ws)
    _print_setup(ws)
    if chart is not None and rows:
        _chart(ws, chart, data_rows=(2, last_data), anchor_col=len(header) + 2)
    return ws


def save(wb: Workbook) -> bytes:
    wb.properties.creator = "AV dual-Plattform"
    return spreadsheet.save(wb)
