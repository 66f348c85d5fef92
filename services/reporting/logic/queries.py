"""Read use cases of the reporting API: report index, download links, dashboard figures.

The dashboard's waitlist and a report's files list students pseudonymously (Kennung, school, class,
waiting since): handing them out is audited like every access to students' data (:mod:`common.audit_log`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from common import audit_log
from common.audit_log import ActorRole, AuditAction
from common.auth import Principal
from common.errors import NotFoundError
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.dal.audit_journal import AuditLog
from services.reporting.logic.figures import WAITLIST_LIST_LIMIT, dashboard_summary, waitlist_rows
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.publish import load_inputs
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


def report_with_links(
    report_id: str,
    *,
    now: datetime,
    validity: timedelta,
    store: AggregateStore,
    reports: ReportStore,
    principal: Principal,
) -> ReportOut:
    """The report with download links; audited when its files list students (``subject_ids``)."""
    r = store.get_report(report_id)
    if r is None or r.state == "rendering":
        raise NotFoundError(report_id)
    if r.subject_ids:
        audit_log.record("reporting", "read", principal, r.subject_ids, now, PURPOSES, journal=AuditLog())
    links = {fmt: reports.link(key, validity) for fmt, key in zip(r.formats, r.object_keys, strict=True)}
    return ReportOut(
        report_id=r.report_id,
        report_type=r.report_type,
        school_year=r.school_year,
        generated_at=r.generated_at,
        period_label=r.period_label,
        formats=r.formats,
        links=links,
        links_valid_until=now + validity,
        emailed=r.state == "mailed",
    )


def dashboard(
    school_year: str, *, now: datetime, store: AggregateStore, principal: Principal
) -> DashboardSummary:
    """The dashboard figures; the students its waitlist shows are audited."""
    inputs = load_inputs(store, "weekly", school_year)
    week = ReportWeek.of(now, "this_week")
    summary = DashboardSummary.model_validate(dashboard_summary(inputs, week))
    listed = [w["intake_id"] for w in waitlist_rows(inputs.waitlist, week.as_of)[:WAITLIST_LIST_LIMIT]]
    if listed:
        audit_log.record("reporting", "list", principal, listed, now, PURPOSES, journal=AuditLog())
    return summary
