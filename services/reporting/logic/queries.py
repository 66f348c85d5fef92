"""Read use cases of the reporting API: report index, report files (download route), dashboard figures.

The dashboard's waitlist and a report's files list students pseudonymously (Kennung, school, class,
waiting since): handing them out is audited like every access to students' data (:mod:`common.audit_log`).
Report files leave only through the authenticated download route (no presigned S3 URLs: a presigned URL
expires with the temporary credentials of the function that signed it, and anyone holding it could
download without logging in).
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from common import audit_log
from common.audit_log import ActorRole, AuditAction
from common.auth import Principal
from common.errors import NotFoundError
from contracts.topology import route
from services.reporting.dal.aggregates import AggregateStore, ReportStore, StoredFile
from services.reporting.dal.audit_journal import AuditLog
from services.reporting.logic.figures import dashboard_summary
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.publish import casework_context, load_inputs
from services.reporting.logic.suppression import SuppressedTable
from services.reporting.models.aggregates import ReportRecord
from services.reporting.models.api import DashboardSummary, ReportListItem, ReportOut

#: Why reporting hands out pseudonymous student rows (docs/datenschutz.md).
PURPOSES: dict[tuple[AuditAction, ActorRole], str] = {
    ("read", "office"): "Bericht mit der internen Warteliste herunterladen (Koordination)",
    ("list", "office"): "Warteliste im Dashboard einsehen (Koordination)",
}


def list_reports(school_year: str | None, *, store: AggregateStore) -> list[ReportListItem]:
    return [
        ReportListItem(**r.model_dump(include=set(ReportListItem.model_fields)))
        for r in store.reports()
        if school_year is None or r.school_year == school_year
    ]


def file_path(report_id: str, file_format: str) -> str:
    """Path (below the API's base URL) of the download route of one file of a report."""
    template = route("GET", "/reports/{report_id}/files/{file_format}").path
    return template.format(report_id=quote(report_id, safe=""), file_format=file_format)


def report_out(r: ReportRecord, *, emailed: bool | None = None) -> ReportOut:
    """A report as the API shows it: its files as paths of the authenticated download route."""
    return ReportOut(
        report_id=r.report_id,
        report_type=r.report_type,
        school_year=r.school_year,
        generated_at=r.generated_at,
        period_label=r.period_label,
        formats=r.formats,
        links={fmt: file_path(r.report_id, fmt) for fmt in r.formats},
        emailed=r.state == "mailed" if emailed is None else emailed,
        unavailable=r.unavailable,
    )


def report_with_links(report_id: str, *, store: AggregateStore) -> ReportOut:
    r = store.get_report(report_id)
    if r is None or r.state == "rendering":
        raise NotFoundError(report_id)
    return report_out(r)


def report_file(
    report_id: str,
    file_format: str,
    *,
    now: datetime,
    store: AggregateStore,
    reports: ReportStore,
    principal: Principal,
) -> StoredFile:
    """One file of a report; audited when the report lists students (``subject_ids``), as the file hands
    their pseudonymous rows out."""
    r = store.get_report(report_id)
    if r is None or r.state == "rendering" or file_format not in r.formats:
        raise NotFoundError(f"{report_id}/{file_format}")
    if r.subject_ids:
        audit_log.record("reporting", "read", principal, r.subject_ids, now, PURPOSES, journal=AuditLog())
    return reports.file(r.object_keys[r.formats.index(file_format)])


def dashboard(
    school_year: str, *, now: datetime, store: AggregateStore, principal: Principal
) -> DashboardSummary:
    """The dashboard figures; the students its waitlist shows are audited."""
    week = ReportWeek.of(now, "this_week")
    inputs = load_inputs(store, "weekly", school_year, week, every_companion=True)
    figures = dashboard_summary(inputs, week)
    cw = casework_context(inputs, week.as_of, suppressed=False)
    figures["casework"] = {k: v.as_dict() if isinstance(v, SuppressedTable) else v for k, v in cw.items()}
    summary = DashboardSummary.model_validate(figures)
    listed = [w["intake_id"] for w in figures["waitlist"]["entries"]]
    if listed:
        audit_log.record("reporting", "list", principal, listed, now, PURPOSES, journal=AuditLog())
    return summary
