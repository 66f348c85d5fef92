"""Matching consumer: SQS batch of EventBridge events → use cases (partial batch responses)."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common.consumer import process_events
from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts import events as ev
from services.matching.dal.store import MatchingStore
from services.matching.logic import assign

log = logger("matching")
trace = tracer("matching")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = {"store": MatchingStore(), "publisher": EventBridgePublisher()}
    return process_events(event, context, {
        ev.INTAKE_SUBMITTED: partial(assign.on_intake_submitted, **deps),
        ev.INTAKE_WITHDRAWN: partial(assign.on_intake_withdrawn, **deps),
        ev.INTAKE_UPDATED: lambda meta, data: None,  # matching inputs changed: re-evaluation comes with issue 4
        ev.ASSIGNMENT_ENDED: partial(assign.on_assignment_ended, **deps),
        ev.COMPANION_UPDATED: partial(assign.on_companion_updated, **deps),
    })
