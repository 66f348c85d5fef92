"""Casework consumer: matching's and intake's events → the caseload
(:mod:`services.casework.logic.caseload`)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.consumer import process_events
from common.observability import logger, tracer
from contracts import events as ev
from services.casework.dal.store import CaseworkStore
from services.casework.logic import caseload

log = logger("casework")
trace = tracer("casework")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = CaseworkStore()
    return process_events(
        event,
        context,
        {
            ev.COMPANION_ASSIGNED: partial(caseload.on_companion_assigned, store=store),
            ev.STUDENT_WAITLISTED: partial(caseload.on_student_waitlisted, store=store),
            ev.COMPANION_REASSIGNED: partial(caseload.on_companion_reassigned, store=store),
            ev.ASSIGNMENT_ENDED: partial(caseload.on_assignment_ended, store=store),
            ev.COMPANION_UPDATED: partial(caseload.on_companion_updated, store=store),
            ev.INTAKE_UPDATED: partial(caseload.on_intake_updated, store=store),
            ev.INTAKE_WITHDRAWN: partial(caseload.on_intake_withdrawn, store=store),
        },
    )
