"""Matching consumer: SQS batch of EventBridge events → reactions (partial batch responses);
also the daily waitlist sweep (exactly the payload of the topology schedule ``waitlist-sweep``, once per
occurrence: ``common.scheduled``), which re-solves every school as of its scheduled time."""

from __future__ import annotations

from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from common import scheduled
from common.consumer import process_events
from common.observability import logger, tracer
from contracts import events as ev
from contracts.topology import MATCHING_CONSUMER
from services.matching.dal.store import MatchingStore
from services.matching.logic import assign, reactions

log = logger("matching")
trace = tracer("matching")


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    store = MatchingStore()
    if "Records" not in event:
        occ = scheduled.occurrence(MATCHING_CONSUMER, event)

        def sweep() -> dict[str, Any]:
            done = assign.sweep(store=store, correlation_id=context.aws_request_id, at=occ.scheduled_time)
            placed = sum(1 for m in done.applied if m.from_companion_id is None)
            return {"assigned": placed, "moved": len(done.applied) - placed}

        return scheduled.run_once(occ, context, sweep)
    return process_events(
        event,
        context,
        {
            ev.INTAKE_SUBMITTED: partial(reactions.on_intake_submitted, store=store),
            ev.INTAKE_UPDATED: partial(reactions.on_intake_updated, store=store),
            ev.INTAKE_WITHDRAWN: partial(reactions.on_intake_withdrawn, store=store),
            ev.ASSIGNMENT_ENDED: partial(reactions.on_assignment_ended, store=store),
            ev.COMPANION_UPDATED: partial(reactions.on_companion_updated, store=store),
        },
    )
