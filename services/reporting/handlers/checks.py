"""Daily checks of the reporting service, invoked by EventBridge Scheduler with exactly the payload of its
topology schedule (``waiting-check``; ``common.scheduled`` refuses anything else): students waiting longer
than 14 days → one email to the office listing those not reported before. Each occurrence runs once."""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, BaseModel, ConfigDict

from common import scheduled
from common.observability import logger, tracer
from contracts.topology import REPORTING_CHECKS
from services.reporting.dal.aggregates import AggregateStore, Mailer
from services.reporting.logic import alerts

log = logger("reporting")
trace = tracer("reporting")


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    check: Literal["long_waits"]
    scheduled_time: AwareDatetime


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    occ = scheduled.occurrence(REPORTING_CHECKS, event)
    request = CheckRequest.model_validate(occ.payload)

    def check() -> dict[str, Any]:
        alerted = alerts.long_waits(request.scheduled_time, store=AggregateStore(), mailer=Mailer())
        return {"check": request.check, "alerted": len(alerted)}

    return scheduled.run_once(occ, context, check)
