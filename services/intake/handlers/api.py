"""Intake REST API (API Gateway REST proxy → Powertools resolver). Thin: parse, one call, respond."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.api import ErrorResponse, api_path, install_error_handlers
from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts.topology import route
from services.intake.dal.intakes import IntakeRepository
from services.intake.logic.submit import submit_intake
from services.intake.models.intake import IntakeCreated, IntakeForm

SERVICE = "intake"
log = logger(SERVICE)
trace = tracer(SERVICE)
app = APIGatewayRestResolver(enable_validation=True)
install_error_handlers(app)

_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"description": "Ungültige Eingabe", "content": {"application/json": {"model": ErrorResponse}}},
}


def _caller() -> str:
    claims = app.current_event.request_context.authorizer.claims or {}
    return str(claims.get("sub") or claims.get("cognito:username") or "anonymous")


@app.post(api_path(route("POST", "/intakes")), summary=route("POST", "/intakes").summary,
          responses={201: {"description": "Angelegt", "content": {"application/json": {"model": IntakeCreated}}},
                     **_ERRORS})
def create_intake(form: IntakeForm) -> Response[IntakeCreated]:
    created = submit_intake(form, submitted_by=_caller(), correlation_id=app.current_event.request_context.request_id,
                            repo=IntakeRepository(), publisher=EventBridgePublisher())
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=created)


@log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
