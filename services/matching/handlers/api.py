"""Matching REST API: companion registry, assignments (read, exit, rebalance), waitlist.

Thin: authorise (roles per route from the topology, ``common.auth``), parse, one call, respond.
Who sees what: the office everything; a companion only their own students (others are 404);
school staff only their own school's waitlist.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from common.api import ErrorResponse, api_path, install_error_handlers, request_time
from common.auth import ForbiddenError, Principal, authorize
from common.observability import logger, tracer
from contracts.reference import SCHOOLS
from contracts.topology import route
from services.matching.dal.store import MatchingStore
from services.matching.logic import access, registry
from services.matching.logic.rebalance import run_rebalance
from services.matching.models.matching import (
    Assignment,
    Companion,
    CompanionIn,
    CompanionPatch,
    ExitIn,
    RebalanceResult,
    WaitlistEntry,
)

SERVICE = "matching"
log = logger(SERVICE)
trace = tracer(SERVICE)
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    security_schemes={
        "cognito": HTTPBearer(
            bearerFormat="JWT",
            description="ID token of the Cognito user pool. Groups: office, companion, "
            "school-<school_id>; companions carry custom:companion_id.",
        )
    }
)
install_error_handlers(app, SERVICE)

SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]
SchoolCode = Literal[tuple(SCHOOLS)]  # type: ignore[valid-type]
_ERROR_TEXT = {
    401: "Nicht angemeldet",
    403: "Keine Berechtigung",
    404: "Nicht gefunden (oder nicht sichtbar)",
    409: "Konflikt mit dem aktuellen Stand",
    422: "Ungültige Eingabe (Feld + deutsche Meldung)",
}


def _doc(method: str, path: str, model: Any, ok_text: str, *errors: int) -> dict[str, Any]:
    """Route decorator arguments: summary from the topology, responses, security, tag."""
    responses: dict[int, Any] = {
        200: {"description": ok_text, "content": {"application/json": {"model": model}}}
    }
    for code in (401, 403, *errors):
        responses[code] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return {
        "summary": route(method, path).summary,
        "responses": responses,
        "security": SECURITY,
        "tags": ["Zuordnung"],
    }


def _principal(method: str, path: str) -> Principal:
    context = app.current_event.get("requestContext") or {}
    return authorize((context.get("authorizer") or {}).get("claims"), route(method, path).roles)


def _companion_scope(p: Principal) -> str | None:
    """``None`` for the office (sees all), else the caller's companion id (sees own students only)."""
    return None if p.is_office else p.companion_id


def _correlation_id() -> str:
    return str((app.current_event.get("requestContext") or {}).get("requestId") or "local")


def _json(body: BaseModel | list[Any]) -> Response:
    data = (
        body.model_dump(mode="json")
        if isinstance(body, BaseModel)
        else [b.model_dump(mode="json") if isinstance(b, BaseModel) else b for b in body]
    )
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=data,
        headers={"Cache-Control": "no-store"},
    )


# --------------------------------------------------------------------------- companions
@app.post(
    api_path(route("POST", "/companions")), **_doc("POST", "/companions", Companion, "Gespeichert", 422)
)
def post_companion(body: CompanionIn) -> Response[Companion]:
    _principal("POST", "/companions")
    return _json(
        registry.save_companion(body, store=MatchingStore(), correlation_id=_correlation_id(), at=_now())
    )


@app.get(
    api_path(route("GET", "/companions")), **_doc("GET", "/companions", list[Companion], "Alle Begleitungen")
)
def list_companions() -> Response[list[Companion]]:
    _principal("GET", "/companions")
    return _json(MatchingStore().list_companions())


@app.get(
    api_path(route("GET", "/companions/{companion_id}")),
    **_doc("GET", "/companions/{companion_id}", Companion, "Die Begleitung", 404),
)
def get_companion(companion_id: str) -> Response[Companion]:
    _principal("GET", "/companions/{companion_id}")
    return _json(registry.get_companion(companion_id, store=MatchingStore()))


@app.patch(
    api_path(route("PATCH", "/companions/{companion_id}")),
    **_doc("PATCH", "/companions/{companion_id}", Companion, "Geändert", 404, 422),
)
def patch_companion(companion_id: str, body: CompanionPatch) -> Response[Companion]:
    _principal("PATCH", "/companions/{companion_id}")
    return _json(
        registry.patch_companion(
            companion_id, body, store=MatchingStore(), correlation_id=_correlation_id(), at=_now()
        )
    )


# --------------------------------------------------------------------------- assignments
@app.post(
    api_path(route("POST", "/assignments/rebalance")),
    **_doc("POST", "/assignments/rebalance", RebalanceResult, "Vorschlag bzw. Ergebnis"),
)
def rebalance(
    dry_run: Annotated[bool, Query(description="true: only list the moves (default)")] = True,
) -> Response[RebalanceResult]:
    _principal("POST", "/assignments/rebalance")
    return _json(
        run_rebalance(dry_run=dry_run, store=MatchingStore(), correlation_id=_correlation_id(), at=_now())
    )


@app.get(
    api_path(route("GET", "/assignments/{intake_id}")),
    **_doc("GET", "/assignments/{intake_id}", Assignment, "Zuordnung mit Erklärung", 404),
)
def get_assignment(intake_id: str) -> Response[Assignment]:
    p = _principal("GET", "/assignments/{intake_id}")
    scope = _companion_scope(p)
    return _json(
        access.read_assignment(
            intake_id, principal=p, companion_scope=scope, store=MatchingStore(), now=_now()
        )
    )


@app.post(
    api_path(route("POST", "/assignments/{intake_id}/exit")),
    **_doc("POST", "/assignments/{intake_id}/exit", Assignment, "Austritt erfasst", 404, 409, 422),
)
def post_exit(intake_id: str, body: ExitIn) -> Response[Assignment]:
    p = _principal("POST", "/assignments/{intake_id}/exit")
    return _json(
        access.record_exit(
            intake_id,
            body,
            principal=p,
            companion_scope=_companion_scope(p),
            store=MatchingStore(),
            correlation_id=_correlation_id(),
            now=_now(),
        )
    )


# --------------------------------------------------------------------------- waitlist
@app.get(api_path(route("GET", "/waitlist")), **_doc("GET", "/waitlist", list[WaitlistEntry], "Warteliste"))
def get_waitlist(
    school_id: Annotated[SchoolCode | None, Query(description="Only this school")] = None,  # type: ignore[valid-type]
) -> Response[list[WaitlistEntry]]:
    p = _principal("GET", "/waitlist")
    schools = [school_id] if school_id else (sorted(SCHOOLS) if p.is_office else sorted(p.school_ids))
    if not all(p.may_access_school(s) for s in schools):
        raise ForbiddenError("school")
    return _json(access.read_waitlist(schools, principal=p, store=MatchingStore(), at=_now()))


def _now() -> datetime:
    """The request time: the "now" of everything this request does (:mod:`common.clock`)."""
    return request_time(app.current_event)


@log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
