"""Intake consumer: matching's assignment events → the status projection on each intake."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.consumer import process_events
from common.observability import logger, tracer
from contracts import events as ev
from services.intake.dal.intakes import IntakeRepository
from services.intake.logic import reactions

log = logger("intake")
trace = tracer("intake")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    repo = IntakeRepository()
    return process_events(
        event,
        context,
        {
            ev.COMPANION_ASSIGNED: partial(reactions.on_companion_assigned, repo=repo),
            ev.STUDENT_WAITLISTED: partial(reactions.on_student_waitlisted, repo=repo),
            ev.COMPANION_REASSIGNED: partial(reactions.on_companion_reassigned, repo=repo),
            ev.ASSIGNMENT_ENDED: partial(reactions.on_assignment_ended, repo=repo),
            ev.COMPANION_UPDATED: partial(reactions.on_companion_updated, repo=repo),
        },
    )
