"""Use case: render a report from aggregates, store it in S3, emit ``ReportPublished``."""

from __future__ import annotations

from datetime import UTC, datetime

from ulid import ULID

from common.events import EventPublisher, OutgoingEvent
from contracts.events import REPORT_PUBLISHED, ReportPublishedData
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic.report import build_report, render_html, render_xlsx
from services.reporting.models.aggregates import StatusReport

CONTENT_TYPES = {"html": "text/html; charset=utf-8",
                 "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def publish_report(*, report_type: str, school_year: str, aggregates: AggregateStore, reports: ReportStore,
                   publisher: EventPublisher, correlation_id: str,
                   now: datetime | None = None) -> tuple[StatusReport, list[str]]:
    """Returns the report figures and the S3 keys written (``reports/<year>/<type>/<date>-<id>.<ext>``)."""
    now = now or datetime.now(UTC)
    report_id = str(ULID.from_datetime(now))
    report = build_report(report_id=report_id, report_type=report_type, school_year=school_year,
                          generated_at=now, counters=aggregates.counters(school_year),
                          companions=aggregates.companions())
    stem = f"reports/{school_year.replace('/', '-')}/{report_type}/{now:%Y-%m-%d}-{report_id}"
    files = {"html": render_html(report).encode("utf-8"), "xlsx": render_xlsx(report)}
    keys = []
    for ext, body in files.items():
        key = f"{stem}.{ext}"
        reports.put(key, body, CONTENT_TYPES[ext])
        keys.append(key)
    data = ReportPublishedData(report_id=report_id, report_type=report_type,  # type: ignore[arg-type]
                               school_year=school_year, formats=list(files), object_keys=keys, published_at=now)
    publisher.publish([OutgoingEvent(REPORT_PUBLISHED, data, idempotency_key=f"{REPORT_PUBLISHED.detail_type}:{report_id}",
                                     correlation_id=correlation_id, occurred_at=now)])
    return report, keys
