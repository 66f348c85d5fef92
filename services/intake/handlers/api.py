"""Intake REST API (API Gateway REST proxy → Powertools resolver). Thin: parse, authorise, one call, respond.

Roles come from the verified Cognito claims (``common.auth``) checked against the roles each route
declares in the topology. ``Idempotency-Key`` on POST: Powertools Idempotency on the topology's
``idempotency`` table, keyed on (operation, caller, key) and validated on the *parsed* request, so
the same key with another body is a 409, while whitespace or key order do not matter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, File, Form, Header, Query, UploadFile
from aws_lambda_powertools.event_handler.openapi.params import Path as PathParam
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from common.api import ErrorResponse, api_path, error_response, install_error_handlers, request_time
from common.auth import Principal, authorize
from common.idempotency import persistence_store
from common.observability import logger, tracer
from contracts.reference import SCHOOLS
from contracts.topology import route
from services.intake.dal.intakes import IntakeRepository
from services.intake.handlers import guards, page
from services.intake.logic import audit_query, read, submit, update
from services.intake.models.audit_page import AuditAction, AuditPage
from services.intake.models.intake import (
    BatchResult,
    IntakeCreated,
    IntakeForm,
    IntakePage,
    IntakePatch,
    IntakeStatus,
    IntakeView,
    WithdrawRequest,
)

SERVICE = "intake"
log = logger(SERVICE)
trace = tracer(SERVICE)
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    security_schemes={
        "cognito": HTTPBearer(
            bearerFormat="JWT",
            description="ID token of the Cognito user pool (local: `avdual token --role school "
            "--school RFS`). Groups: office, companion, school-<school_id>.",
        )
    }
)
install_error_handlers(app, SERVICE)

SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]
TAGS = ["Anmeldungen"]
IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[operation, caller, key]",
    payload_validation_jmespath="payload",
    expires_after_seconds=24 * 3600,
)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,128}$",
        description="Client-generated key (e.g. a UUID): the same key with the same request returns "
        "the first "
        "response again; with another request 409.",
    ),
]
SchoolCode = Literal[tuple(SCHOOLS)]  # type: ignore[valid-type]
IntakeId = Annotated[str, PathParam(max_length=64, description="ULID of the intake")]
SchoolYearQuery = Annotated[
    str | None, Query(pattern=r"^\d{4}/\d{2}$", description="Default: current school year")
]

_ERROR_TEXT = {
    400: "Ungültige Anfrage",
    401: "Nicht angemeldet",
    403: "Keine Berechtigung",
    404: "Nicht gefunden (oder nicht sichtbar)",
    409: "Konflikt (Idempotency-Key, Stand)",
    413: "Anfrage zu groß",
    415: "Falscher Content-Type",
    422: "Ungültige Eingabe (Feld + deutsche Meldung)",
}


def _responses(ok: int, model: type[BaseModel], ok_text: str, *errors: int) -> dict[int, Any]:
    out: dict[int, Any] = {ok: {"description": ok_text, "content": {"application/json": {"model": model}}}}
    for code in (401, 403, 422, *errors):
        out[code] = {
            "description": _ERROR_TEXT[code],
            "content": {"application/json": {"model": ErrorResponse}},
        }
    return out


def _principal(method: str, path: str) -> Principal:
    context = app.current_event.get("requestContext") or {}
    claims = (context.get("authorizer") or {}).get("claims")
    return authorize(claims, route(method, path).roles)


def _correlation_id() -> str:
    return str((app.current_event.get("requestContext") or {}).get("requestId") or "local")


def _json(status: int, body: BaseModel | dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    data = body.model_dump(mode="json") if isinstance(body, BaseModel) else body
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=data,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def _idempotent(
    operation: str,
    principal: Principal,
    key: str | None,
    payload: dict[str, Any],
    run: Callable[[], tuple[int, BaseModel]],
) -> Response:
    """Run ``run`` once per (operation, caller, key); replays return the stored response."""
    if key is None:
        status, body = run()
        return _json(status, body)
    executed: list[bool] = []

    def execute(request: dict[str, Any]) -> dict[str, Any]:
        executed.append(True)
        status, body = run()
        return {"status": status, "body": body.model_dump(mode="json")}

    once = idempotent_function(
        data_keyword_argument="request", persistence_store=persistence_store("intake-api"), config=IDEMPOTENCY
    )(execute)
    result = once(
        request={"operation": operation, "caller": principal.subject, "key": key, "payload": payload}
    )
    return _json(int(result["status"]), result["body"], None if executed else {"Idempotent-Replayed": "true"})


# --------------------------------------------------------------------------- web form
@app.get(api_path(route("GET", "/")), include_in_schema=False)
def web_form():  # type: ignore[no-untyped-def]  # no return annotation: HTML, not validated
    html, headers = page.render(app.current_event.get("stageVariables"))
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=html, headers=headers)


# --------------------------------------------------------------------------- routes
@app.post(
    api_path(route("POST", "/intakes")),
    summary=route("POST", "/intakes").summary,
    tags=TAGS,
    security=SECURITY,
    responses=_responses(201, IntakeCreated, "Angelegt", 400, 409, 413, 415),
)
def create_intake(form: IntakeForm, idempotency_key: IdempotencyKey = None) -> Response[IntakeCreated]:
    principal = _principal("POST", "/intakes")
    return _idempotent(
        "POST /intakes",
        principal,
        idempotency_key,
        form.model_dump(mode="json"),
        lambda: (
            201,
            submit.submit_intake(
                form,
                principal=principal,
                correlation_id=_correlation_id(),
                repo=IntakeRepository(),
                now=_now(),
            ),
        ),
    )


@app.get(
    api_path(route("GET", "/intakes")),
    summary=route("GET", "/intakes").summary,
    tags=TAGS,
    security=SECURITY,
    responses=_responses(200, IntakePage, "Eine Seite Anmeldungen (neueste zuerst)"),
)
def list_intakes(
    school_year: SchoolYearQuery = None,
    status: Annotated[IntakeStatus | None, Query()] = None,
    school_id: Annotated[SchoolCode | None, Query(description="Office: any school")] = None,  # type: ignore[valid-type]
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[IntakePage]:
    principal = _principal("GET", "/intakes")
    return _json(
        200,
        read.list_intakes(
            principal=principal,
            school_year=school_year,
            status=status,
            school_id=school_id,
            limit=limit,
            cursor=cursor,
            repo=IntakeRepository(),
            now=_now(),
        ),
    )


@app.post(
    api_path(route("POST", "/intakes/batch")),
    summary=route("POST", "/intakes/batch").summary,
    tags=TAGS,
    security=SECURITY,
    responses=_responses(
        200, BatchResult, "Ergebnis je Zeile; gültige Zeilen sind gespeichert", 400, 409, 413, 415
    ),
)
def upload_class_list(
    file: Annotated[
        UploadFile,
        File(
            description="Klassenliste als .csv/.txt (UTF-8, Windows-1252 oder UTF-16 wie Excels "
            "„Unicode-Text“; ; , oder Tabulator) oder .xlsx (ein Tabellenblatt); erste Zeile = Spaltennamen; "
            "höchstens 500 Schülerzeilen (leere Zeilen zählen nicht)"
        ),
    ],
    school_year: Annotated[str, Form(pattern=r"^\d{4}/\d{2}$")],
    school_id: Annotated[SchoolCode | None, Form(description="Default: the caller's school")] = None,  # type: ignore[valid-type]
    class_name: Annotated[str | None, Form(max_length=32, description="For rows without 'Klasse'")] = None,
    consent_text_version: Annotated[
        str | None, Form(max_length=20, description="For rows without 'Version Einwilligungstext'")
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[BatchResult]:
    principal = _principal("POST", "/intakes/batch")
    content = file.content if isinstance(file, UploadFile) else bytes(file)
    payload = {
        "school_id": school_id,
        "school_year": school_year,
        "class_name": class_name,
        "consent_text_version": consent_text_version,
        "file_sha256": _sha256(content),
    }
    return _idempotent(
        "POST /intakes/batch",
        principal,
        idempotency_key,
        payload,
        lambda: (
            200,
            submit.submit_class_list(
                content,
                school_id=school_id,
                school_year=school_year,
                class_name=class_name,
                consent_text_version=consent_text_version,
                principal=principal,
                correlation_id=_correlation_id(),
                repo=IntakeRepository(),
                now=_now(),
            ),
        ),
    )


@app.get(
    api_path(route("GET", "/intakes/{intake_id}")),
    summary=route("GET", "/intakes/{intake_id}").summary,
    tags=TAGS,
    security=SECURITY,
    responses=_responses(200, IntakeView, "Die Anmeldung", 404),
)
def get_intake(intake_id: IntakeId) -> Response[IntakeView]:
    principal = _principal("GET", "/intakes/{intake_id}")
    return _json(200, read.get_intake(intake_id, principal=principal, repo=IntakeRepository(), now=_now()))


@app.patch(
    api_path(route("PATCH", "/intakes/{intake_id}")),
    summary=route("PATCH", "/intakes/{intake_id}").summary,
    tags=TAGS,
    security=SECURITY,
    description="JSON Merge Patch (RFC 7396): send only the fields to change; `null` removes an optional "
    "field. The result is validated like a new intake.",
    responses=_responses(200, IntakeView, "Geändert", 400, 404, 409, 413, 415),
)
def patch_intake(intake_id: IntakeId, patch: IntakePatch) -> Response[IntakeView]:  # type: ignore[valid-type]
    principal = _principal("PATCH", "/intakes/{intake_id}")
    return _json(
        200,
        update.patch_intake(
            intake_id,
            patch.model_dump(mode="json", exclude_unset=True),  # type: ignore[attr-defined]
            principal=principal,
            correlation_id=_correlation_id(),
            repo=IntakeRepository(),
            now=_now(),
        ),
    )


@app.post(
    api_path(route("POST", "/intakes/{intake_id}/withdraw")),
    summary=route("POST", "/intakes/{intake_id}/withdraw").summary,
    tags=TAGS,
    security=SECURITY,
    description="Consent withdrawn or the student will not start: the intake is marked withdrawn and "
    "`IntakeWithdrawn` is published (erasure follows in every service).",
    responses=_responses(200, IntakeView, "Zurückgezogen", 400, 404, 409, 413, 415),
)
def withdraw_intake(
    intake_id: IntakeId,
    body: Annotated[WithdrawRequest | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> Response[IntakeView]:
    principal = _principal("POST", "/intakes/{intake_id}/withdraw")
    reason = (body or WithdrawRequest()).reason
    return _idempotent(
        "POST /intakes/{intake_id}/withdraw",
        principal,
        idempotency_key,
        {"intake_id": intake_id, "reason": reason},
        lambda: (
            200,
            update.withdraw_intake(
                intake_id,
                reason,
                principal=principal,
                correlation_id=_correlation_id(),
                repo=IntakeRepository(),
                now=_now(),
            ),
        ),
    )


@app.get(
    api_path(route("GET", "/audit")),
    summary=route("GET", "/audit").summary,
    tags=["Protokoll"],
    security=SECURITY,
    description="Who accessed which intake's personal data, when and why (newest first). Entries hold "
    "intake ids and staff accounts, never student data; they are kept until the end of the following year.",
    responses=_responses(200, AuditPage, "Protokolleinträge"),
)
def list_audit_entries(
    day_from: Annotated[
        date | None, Query(alias="from", description="First day (UTC), default: today")
    ] = None,
    day_to: Annotated[date | None, Query(alias="to", description="Last day (UTC), default: today")] = None,
    actor: Annotated[str | None, Query(max_length=128, description="Cognito subject of the caller")] = None,
    action: Annotated[AuditAction | None, Query()] = None,
    intake_id: Annotated[str | None, Query(max_length=64, description="Only entries of this intake")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
) -> Response[AuditPage]:
    _principal("GET", "/audit")
    return _json(
        200,
        audit_query.list_entries(
            day_from=day_from,
            day_to=day_to,
            actor=actor,
            action=action,
            intake_id=intake_id,
            limit=limit,
            cursor=cursor,
            now=_now(),
        ),
    )


# --------------------------------------------------------------------------- errors (German, no leaks)
@app.exception_handler(RequestUnsupportedContentType)
def _content_type(ex: RequestUnsupportedContentType) -> Response:
    return error_response(
        415, "Nicht unterstützter Content-Type (erwartet application/json bzw. multipart/form-data)."
    )


@app.exception_handler(IdempotencyValidationError)
def _key_reused(ex: IdempotencyValidationError) -> Response:
    return error_response(409, "Dieser Idempotency-Key wurde bereits für eine andere Anfrage verwendet.")


@app.exception_handler(IdempotencyAlreadyInProgressError)
def _key_in_progress(ex: IdempotencyAlreadyInProgressError) -> Response:
    return error_response(
        409, "Eine Anfrage mit diesem Idempotency-Key wird gerade bearbeitet. Bitte kurz warten."
    )


def _now() -> datetime:
    return request_time(app.current_event)


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    IDEMPOTENCY.register_lambda_context(context)
    return guards.reject(event) or app.resolve(event, context)
