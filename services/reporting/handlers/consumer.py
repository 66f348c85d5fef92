"""Reporting consumer: SQS batch of EventBridge events → anonymous aggregates and office alerts (collected
into alert windows whose digest is scheduled)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.consumer import process_events
from common.observability import logger, tracer
from contracts import events as ev
from services.reporting.dal.aggregates import AggregateStore, ReportStore
from services.reporting.logic.reactions import Consumer

log = logger("reporting")
trace = tracer("reporting")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    c = Consumer(store=AggregateStore(), reports=ReportStore())
    return process_events(
        event,
        context,
        {
            ev.INTAKE_SUBMITTED: c.on_fact,
            ev.INTAKE_UPDATED: c.on_fact,
            ev.INTAKE_WITHDRAWN: c.on_withdrawn,
            ev.COMPANION_ASSIGNED: c.on_fact,
            ev.COMPANION_REASSIGNED: c.on_fact,
            ev.ASSIGNMENT_ENDED: c.on_fact,
            ev.STUDENT_WAITLISTED: c.on_waitlisted,
            ev.COMPANION_UPDATED: c.on_companion_updated,
            ev.DESTINATION_COMPANY_RECORDED: c.on_fact,
            ev.INTERNSHIP_STARTED: c.on_fact,
            ev.INTERNSHIP_ENDED: c.on_fact,
            ev.MEETING_RECORDED: c.on_fact,
        },
    )
