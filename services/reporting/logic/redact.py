"""Erasure in stored reports (docs/datenschutz.md: ``IntakeWithdrawn`` erases report-index references).

A Wochenbericht lists the waiting students pseudonymously (Kennung = tail of the intake id, school, class,
waiting since). The report index keeps which intakes a report lists (``ReportRecord.subject_ids``). When an
intake is withdrawn, its row is removed from every stored file of those reports – HTML (the row marked
``data-ref``), PDF (rendered again from the redacted HTML; if that fails the PDF is deleted, never kept
with the row, and the index says so), XLSX (the row of the sheet "Warteliste") – and the reference is
removed from the index. The counts stay: reporting keeps anonymous counts (docs/datenschutz.md).
Idempotent: a file without the row is left as it is.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic.pdf import PdfRenderError, html_to_pdf
from services.reporting.logic.waitlist import XLSX_WAITLIST_SHEET, ref_of

#: Why a report lost its PDF during an erasure (report index and API, for the office).
PDF_REMOVED = (
    "Die PDF-Fassung wurde nach einer Löschung entfernt, weil sie nicht neu erstellt werden konnte; "
    "HTML- und Excel-Fassung sind aktuell."
)
#: The XLSX sheet and column that list students (``report.render_xlsx``).
XLSX_SHEET, XLSX_REF_COLUMN = XLSX_WAITLIST_SHEET, 1


def subject_ids(context: Mapping[str, Any]) -> list[str]:
    """Intake ids a report's context lists (its waitlist rows), sorted."""
    rows = context.get("waitlist", []) or []
    return sorted({r["intake_id"] for r in rows if r.get("intake_id")})


def redact_html(html: str, intake_id: str) -> tuple[str, int]:
    """``html`` without the table rows of ``intake_id``; returns the text and the number of rows removed."""
    pattern = re.compile(rf'\n?<tr data-ref="{re.escape(ref_of(intake_id))}"[^>]*>.*?</tr>', re.DOTALL)
    return pattern.subn("", html)


def redact_xlsx(data: bytes, intake_id: str) -> tuple[bytes, int]:
    """The workbook without the rows of ``intake_id`` in the sheet :data:`XLSX_SHEET`; returns the bytes and
    the number of rows removed (the original bytes when nothing matched)."""
    from openpyxl import load_workbook  # only a redaction re-saves a workbook (docs/performance.md)

    from common import spreadsheet

    wb = load_workbook(io.BytesIO(data))
    if XLSX_SHEET not in wb.sheetnames:
        return data, 0
    ws = wb[XLSX_SHEET]
    ref = spreadsheet.cell_text(ref_of(intake_id))  # as the writer stored it
    rows = [c.row for c in ws[ws.cell(row=1, column=XLSX_REF_COLUMN).column_letter] if c.value == ref]
    for row in reversed(rows):
        ws.delete_rows(row)
    if not rows:
        return data, 0
    return spreadsheet.save(wb), len(rows)


def redact_files(
    object_keys: list[str],
    intake_id: str,
    *,
    read: Callable[[str], bytes],
    write: Callable[[str, bytes], None],
    delete: Callable[[str], None],
) -> tuple[int, list[str]]:
    """Remove ``intake_id`` from the report files at ``object_keys`` (HTML, PDF, XLSX); returns the rows
    removed and the object keys deleted. The PDF is rendered again from the redacted HTML; a PDF that cannot
    be rendered is deleted rather than kept with the row."""
    by_ext = {k.rsplit(".", 1)[-1]: k for k in object_keys}
    removed, deleted = 0, []
    if "html" in by_ext:
        html, n = redact_html(read(by_ext["html"]).decode("utf-8"), intake_id)
        if n:
            write(by_ext["html"], html.encode("utf-8"))
            if "pdf" in by_ext:
                try:
                    write(by_ext["pdf"], html_to_pdf(html))
                except PdfRenderError:
                    delete(by_ext["pdf"])
                    deleted.append(by_ext["pdf"])
            removed += n
    if "xlsx" in by_ext:
        data, n = redact_xlsx(read(by_ext["xlsx"]), intake_id)
        if n:
            write(by_ext["xlsx"], data)
            removed += n
    return removed, deleted


class ReportBusyError(RuntimeError):
    """Another consumer is redacting the same report; the message is retried later (SQS)."""


#: How long one consumer may hold a report while it rewrites the files (seconds).
LEASE_SECONDS = 120


def erase_from_reports(intake_id: str, *, store: AggregateStore, reports: ReportStore, now: datetime) -> int:
    """Remove ``intake_id`` from every stored report that lists it and from the report index; returns the
    rows removed. Each report is rewritten under a lease (two withdrawals must not overwrite each other's
    redaction); raises :class:`ReportBusyError` if a report is busy (the SQS message is retried)."""
    removed = 0
    for listed in store.reports_listing(intake_id):
        lease = f"report#{listed.report_id}"
        if not store.acquire(lease, seconds=LEASE_SECONDS, now=now):
            raise ReportBusyError(listed.report_id)
        try:
            record = store.get_report(listed.report_id)
            if record is None or intake_id not in record.subject_ids:
                continue
            n, deleted = redact_files(
                record.object_keys, intake_id, read=reports.get, write=reports.replace, delete=reports.delete
            )
            for key in deleted:
                fmt = record.formats[record.object_keys.index(key)]
                record.formats.remove(fmt)
                record.object_keys.remove(key)
                record.unavailable[fmt] = PDF_REMOVED
            record.subject_ids = [i for i in record.subject_ids if i != intake_id]
            record.redacted_rows += n
            store.put_report(record)
            removed += n
        finally:
            store.release(lease)
    return removed
