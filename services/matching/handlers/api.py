"""Matching REST API for the office: companion registry and assignment read."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.api import api_path, install_error_handlers
from common.errors import NotFoundError
from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts.topology import route
from services.matching.dal.store import MatchingStore
from services.matching.logic.assign import save_companion
from services.matching.models.matching import Assignment, Companion, CompanionIn

log = logger("matching")
trace = tracer("matching")
app = APIGatewayRestResolver(enable_validation=True)
install_error_handlers(app)


@app.post(api_path(route("POST", "/companions")), summary=route("POST", "/companions").summary)
def post_companion(body: CompanionIn) -> Response[Companion]:
    saved = save_companion(body, store=MatchingStore(), publisher=EventBridgePublisher(),
                           correlation_id=app.current_event.request_context.request_id)
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=saved)


@app.get(api_path(route("GET", "/companions")), summary=route("GET", "/companions").summary)
def list_companions() -> list[Companion]:
    return MatchingStore().list_companions()


@app.get(api_path(route("GET", "/assignments/{intake_id}")), summary=route("GET", "/assignments/{intake_id}").summary)
def get_assignment(intake_id: str) -> Assignment:
    a = MatchingStore().get_assignment(intake_id)
    if a is None:
        raise NotFoundError(intake_id)
    return a


@log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
