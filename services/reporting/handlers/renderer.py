"""Report renderer, invoked by EventBridge Scheduler (payloads in ``contracts.topology``) or directly.

The schedule passes its scheduled instant (``<aws.scheduler.scheduled-time>``): the report is "as of"
that instant, and a retried invocation of the same instant finishes the same report (no second email).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts.reference import school_year_of
from services.reporting.dal.aggregates import AggregateStore, Mailer, ReportStore
from services.reporting.logic.periods import local, parse_instant
from services.reporting.logic.publish import publish_report

log = logger("reporting")
trace = tracer("reporting")


class RenderRequest(BaseModel):
    report_type: Literal["weekly", "school_year"] = "weekly"
    school_year: str | None = Field(default=None, pattern=r"^\d{4}/\d{2}$")
    period: Literal["last_week", "this_week"] = "last_week"
    scheduled_time: str | None = None
    email: bool = True


@log.inject_lambda_context
@trace.capture_lambda_handler
@event_parser(model=RenderRequest)
def handler(event: RenderRequest, context: LambdaContext) -> dict[str, Any]:
    scheduled = parse_instant(event.scheduled_time)
    as_of = scheduled or datetime.now(UTC)
    school_year = event.school_year or school_year_of(local(as_of).date())
    run_key = f"{event.report_type}#{school_year}#{scheduled.isoformat()}" if scheduled else None
    done = publish_report(
        report_type=event.report_type,
        school_year=school_year,
        as_of=as_of,
        period=event.period,
        store=AggregateStore(),
        reports=ReportStore(),
        publisher=EventBridgePublisher(),
        mailer=Mailer(),
        correlation_id=context.aws_request_id,
        run_key=run_key,
        email=event.email,
    )
    log.info("report published", extra={"report_id": done.record.report_id, "report_type": event.report_type})
    return {"report_id": done.record.report_id, "object_keys": done.record.object_keys}
