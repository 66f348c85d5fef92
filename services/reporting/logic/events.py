"""The events reporting emits (ids and report metadata only, never personal data)."""

from __future__ import annotations

from datetime import datetime

from common.events import OutgoingEvent
from contracts.events import REPORT_PUBLISHED, ReportPublishedData
from services.reporting.models.aggregates import ReportRecord


def report_published(record: ReportRecord, correlation_id: str, *, at: datetime) -> OutgoingEvent:
    """``ReportPublished`` for a stored report; one fact per report (key: the report id)."""
    data = ReportPublishedData(
        report_id=record.report_id,
        report_type=record.report_type,
        school_year=record.school_year,
        formats=list(record.formats),  # type: ignore[arg-type]
        object_keys=list(record.object_keys),
        published_at=at,
    )
    return OutgoingEvent(
        REPORT_PUBLISHED,
        data,
        idempotency_key=f"{REPORT_PUBLISHED.detail_type}:{record.report_id}",
        correlation_id=correlation_id,
        occurred_at=at,
    )
