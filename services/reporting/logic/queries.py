"""Read use cases of the reporting API: report index, download links, dashboard figures."""

from __future__ import annotations

from datetime import datetime, timedelta

from common.errors import NotFoundError
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic.figures import dashboard_summary
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.publish import load_inputs
from services.reporting.models.api import DashboardSummary, ReportListItem, ReportOut


def list_reports(school_year: str | None, *, store: AggregateStore) -> list[ReportListItem]:
    return [
        ReportListItem(**r.model_dump(include=set(ReportListItem.model_fields)))
        for r in store.reports()
        if school_year is None or r.school_year == school_year
    ]


def report_with_links(
    report_id: str, *, now: datetime, validity: timedelta, store: AggregateStore, reports: ReportStore
) -> ReportOut:
    r = store.get_report(report_id)
    if r is None or r.state == "rendering":
        raise NotFoundError(report_id)
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


def dashboard(school_year: str, *, now: datetime, store: AggregateStore) -> DashboardSummary:
    inputs = load_inputs(store, "weekly", school_year)
    return DashboardSummary.model_validate(dashboard_summary(inputs, ReportWeek.of(now, "this_week")))
