"""Report renderer, invoked by EventBridge Scheduler (payload ``{"report_type": ...}``) or on demand."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts.reference import school_year_of
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic.publish import publish_report

log = logger("reporting")
trace = tracer("reporting")


class RenderRequest(BaseModel):
    report_type: Literal["weekly", "school_year", "status"] = "weekly"
    school_year: str = Field(default_factory=lambda: school_year_of(datetime.now(UTC).date()),
                             pattern=r"^\d{4}/\d{2}$")


@log.inject_lambda_context
@trace.capture_lambda_handler
@event_parser(model=RenderRequest)
def handler(event: RenderRequest, context: LambdaContext) -> dict[str, Any]:
    report, keys = publish_report(report_type=event.report_type, school_year=event.school_year,
                                  aggregates=AggregateStore(), reports=ReportStore(),
                                  publisher=EventBridgePublisher(), correlation_id=context.aws_request_id)
    return {"report_id": report.report_id, "object_keys": keys}
