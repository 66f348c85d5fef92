"""Reporting consumer: SQS batch of EventBridge events → anonymous aggregates."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.consumer import process_events
from common.observability import logger, tracer
from contracts import events as ev
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.logic import consume

log = logger("reporting")
trace = tracer("reporting")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = AggregateStore()
    return process_events(event, context, {
        ev.INTAKE_SUBMITTED: partial(consume.on_intake_submitted, store=store),
        ev.STUDENT_WAITLISTED: partial(consume.on_waitlisted, store=store),
        ev.COMPANION_ASSIGNED: partial(consume.on_assigned, store=store),
        ev.COMPANION_REASSIGNED: partial(consume.on_reassigned, store=store),
        ev.ASSIGNMENT_ENDED: partial(consume.on_ended, store=store),
        ev.INTAKE_WITHDRAWN: partial(consume.on_withdrawn, store=store),
        ev.COMPANION_UPDATED: partial(consume.on_companion_updated, store=store),
    })
