"""Daily checks of the reporting service, invoked by EventBridge Scheduler: students waiting longer than
14 days → one email to the office listing those not reported before."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser import event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from common.observability import logger, tracer
from services.reporting.dal.aggregates import AggregateStore, Mailer
from services.reporting.logic import alerts
from services.reporting.logic.periods import parse_instant

log = logger("reporting")
trace = tracer("reporting")


class CheckRequest(BaseModel):
    check: Literal["long_waits"] = "long_waits"
    scheduled_time: str | None = None


@log.inject_lambda_context
@trace.capture_lambda_handler
@event_parser(model=CheckRequest)
def handler(event: CheckRequest, context: LambdaContext) -> dict[str, Any]:
    as_of = parse_instant(event.scheduled_time) or datetime.now(UTC)
    alerted = alerts.long_waits(as_of, store=AggregateStore(), mailer=Mailer())
    return {"check": event.check, "alerted": len(alerted)}
