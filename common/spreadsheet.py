"""The one writer of spreadsheet cells: every XLSX export appends its rows and saves its workbook here.

User text never becomes a formula (OWASP "CSV Injection", ASVS 1.2.10;
docs/adr/0012-exports-write-text-as-text.md): spreadsheet programs read a cell whose text begins with
``= + - @``, a tab, CR or LF as a formula. Here

* every text is written as a text cell (``t="inlineStr"``) – never a formula (openpyxl would make one of
  any text beginning with ``=``) and never an error value (``#REF!`` as text stays text);
* a text that begins with one of :data:`FORMULA_TRIGGERS` also gets Excel's ``quotePrefix`` style – how
  Excel itself stores a typed leading apostrophe – so it stays text when someone edits the cell. The
  text itself is not changed (the exported value is exactly the stored one);
* characters XML cannot hold (control characters) become U+FFFD instead of breaking the export;
* :func:`save` refuses a workbook that holds a formula cell anyway (a writer that bypassed
  :func:`append`), so such a file is never stored or mailed.

Numbers, dates and ``None`` are written as they are. (There is no CSV export; one would belong here, with
OWASP's rule for CSV: a leading apostrophe before a trigger.)
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.worksheet.worksheet import Worksheet

#: First characters that make spreadsheet programs read a cell as a formula (OWASP "CSV Injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


class FormulaCellError(ValueError):
    """A workbook about to be saved holds a formula cell."""


def looks_like_formula(text: str) -> bool:
    """True if a spreadsheet program would read ``text`` as a formula (also after leading spaces)."""
    return text.lstrip(" ").startswith(FORMULA_TRIGGERS)


def cell_text(text: str) -> str:
    """``text`` as a cell holds it: characters XML cannot hold replaced by U+FFFD. Whoever looks a written
    text up again (the redaction) compares with this."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def write(cell: Cell, value: Any) -> None:
    """Set ``cell`` to ``value``; text as a text cell (see the module docstring)."""
    if not isinstance(value, str):
        cell.value = value
        return
    text = cell_text(value)
    cell.value = text
    cell.data_type = "s"  # openpyxl made "=…" a formula and "#REF!" an error value
    if looks_like_formula(text):
        cell.quotePrefix = True


def append(ws: Worksheet, values: Iterable[Any]) -> None:
    """Append one row to ``ws`` (as ``Worksheet.append``: an empty row advances too), every cell through
    :func:`write`."""
    cells = []
    for value in values:
        cell = Cell(ws)
        write(cell, value)
        cells.append(cell)
    ws.append(cells)  # cells handed over as they are: no look-up of the last row (``max_row`` is O(cells))


def formula_cells(wb: Workbook) -> list[str]:
    """Coordinates (``Sheet!A1``) of every formula cell of ``wb``."""
    return [
        f"{ws.title}!{cell.coordinate}"
        for ws in wb.worksheets
        for row in ws.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def save(wb: Workbook) -> bytes:
    """The workbook as XLSX bytes; raises :class:`FormulaCellError` if any cell is a formula."""
    found = formula_cells(wb)
    if found:
        raise FormulaCellError(f"formula cells in an export: {', '.join(found[:5])}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
