"""Shared REST API answers: JSON responses, German per-field validation errors (:mod:`common.field_errors`,
with the labels of the route's fields), every API's error answers.

Error body schema (stable, documented in the OpenAPI spec as ``ErrorResponse``; built by
:func:`common.errors.error_body` only)::

    {"message": "<German summary>", "errors": [{"field": "student.date_of_birth", "message": "<German>"}]}

No error body echoes input values, stack traces or module names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Header
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from common import clock
from common.auth import ForbiddenError, UnauthenticatedError
from common.errors import (
    FORBIDDEN,
    NOT_FOUND,
    UNAUTHENTICATED,
    ConflictError,
    DomainValidationError,
    ErrorResponse,
    FieldError,
    NotFoundError,
    error_body,
)
from common.field_errors import FieldLookup, field_in, german_errors, inner_model
from common.guards import UNSUPPORTED_MEDIA_TYPE
from common.observability import logger
from contracts.topology import Route


def api_path(route: Route) -> str:
    """Topology path ``/intakes/{intake_id}`` → Powertools path ``/intakes/<intake_id>``."""
    return re.sub(r"\{(\w+)\}", r"<\1>", route.path)


def request_time(event: Mapping[str, Any]) -> datetime:
    """The time API Gateway received the request (``requestContext.requestTimeEpoch``, milliseconds; the local
    runtime sets it from its simulated clock): the "now" of everything the request does (:mod:`common.clock`).
    """
    return clock.from_epoch_ms((event.get("requestContext") or {}).get("requestTimeEpoch"))


def route_fields(app: APIGatewayRestResolver) -> FieldLookup | None:
    """Lookup of the declarations (labels, pattern rules) of the route being resolved, for the locations
    of its validation errors: ``("body", …)`` in the body model or a form field, ``("query"|"header"|"path",
    name)`` a parameter."""
    dependant = getattr(app.context.get("_route"), "dependant", None)
    if dependant is None:
        return None
    groups = {
        "query": dependant.query_params,
        "header": dependant.header_params,
        "path": dependant.path_params,
        "body": dependant.body_params,
    }

    def lookup(loc: Sequence[str | int]) -> FieldInfo | None:
        if not loc or loc[0] not in groups:
            return None
        params, rest = groups[str(loc[0])], list(loc[1:])
        if loc[0] == "body" and len(params) == 1 and not getattr(params[0].field_info, "embed", False):
            param = params[0]  # the body is this one model: the location is inside it
        else:
            name = str(rest.pop(0)).lower() if rest else ""
            param = next((p for p in params if str(p.alias).lower() == name), None)
            if param is None:
                return None
        if not rest:
            return cast(FieldInfo, param.field_info)
        return field_in(inner_model(param.field_info.annotation or param.type_), rest)

    return lookup


#: The summary of every 422 answer.
INVALID_INPUT = "Die Eingabe ist ungültig. Bitte die markierten Felder prüfen."


def request_errors(app: APIGatewayRestResolver, ex: RequestValidationError) -> list[FieldError]:
    """The German per-field errors of a request Powertools refused, labelled by the route's fields."""
    return german_errors(ex.errors(), route_fields(app))


def error_response(status: int, message: str, errors: list[FieldError] | None = None) -> Response:
    """A Powertools response with the platform's error body."""
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=error_body(message, errors)
    )


def json_response(
    body: BaseModel | Sequence[BaseModel] | Mapping[str, Any],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A JSON answer that no cache keeps (``Cache-Control: no-store``): a model, a list of models, or JSON."""
    if isinstance(body, BaseModel):
        data: Any = body.model_dump(mode="json")
    elif isinstance(body, Mapping):
        data = dict(body)
    else:
        data = [b.model_dump(mode="json") for b in body]
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=data,
        headers={"Cache-Control": "no-store", **(headers or {})},
    )


def html_response(page: tuple[str, Mapping[str, str]]) -> Response:
    """A static page (``common.web.render_page``: the HTML and its security headers)."""
    html, headers = page
    return Response(
        status_code=200, content_type="text/html; charset=utf-8", body=html, headers=dict(headers)
    )


def _answer(status: int, message: str) -> Callable[[Exception], Response]:
    return lambda ex: error_response(status, message)


#: Exceptions answered with a fixed German text.
_FIXED_ANSWERS: tuple[tuple[type[Exception], int, str], ...] = (
    (NotFoundError, 404, NOT_FOUND),
    (RouteNotFoundError, 404, NOT_FOUND),
    (UnauthenticatedError, 401, UNAUTHENTICATED),
    (ForbiddenError, 403, FORBIDDEN),
    (RequestUnsupportedContentType, 415, UNSUPPORTED_MEDIA_TYPE),
    (
        IdempotencyValidationError,
        409,
        "Dieser Idempotency-Key wurde bereits für eine andere Anfrage verwendet.",
    ),
    (
        IdempotencyAlreadyInProgressError,
        409,
        "Eine Anfrage mit diesem Idempotency-Key wird gerade bearbeitet. Bitte kurz warten.",
    ),
    (ValueError, 400, "Ungültige Anfrage."),
)


def install_error_handlers(app: APIGatewayRestResolver, service: str) -> None:
    """The error answers every API shares, German and without echoing input: 422 with per-field errors
    (instead of Powertools' default body), 409 (a :class:`ConflictError`'s own text when it is written for
    people), the fixed answers of :data:`_FIXED_ANSWERS` (404, 401, 403, 415, 409 for an ``Idempotency-Key``
    reused or in progress, 400 for other ``ValueError``s), 500 for anything else (logged with its type only:
    messages of library exceptions may quote personal data). Register service-specific handlers after this
    call (a later registration for the same type wins)."""
    for exc, status, message in _FIXED_ANSWERS:
        app.exception_handler(exc)(_answer(status, message))

    @app.exception_handler(RequestValidationError)
    def _validation(ex: RequestValidationError) -> Response:
        return error_response(422, INVALID_INPUT, request_errors(app, ex))

    @app.exception_handler(DomainValidationError)
    def _domain(ex: DomainValidationError) -> Response:
        return error_response(422, INVALID_INPUT, ex.errors)

    @app.exception_handler(ConflictError)
    def _conflict(ex: ConflictError) -> Response:
        text = str(ex) if ex.for_people else ""
        return error_response(409, text or "Konflikt mit dem aktuellen Stand.")

    @app.exception_handler(Exception)
    def _unexpected(ex: Exception) -> Response:
        logger(service).error("unhandled error", extra={"error_type": type(ex).__name__})
        return error_response(500, "Interner Fehler. Bitte später erneut versuchen.")


__all__ = [
    "FORBIDDEN",
    "NOT_FOUND",
    "UNAUTHENTICATED",
    "ErrorResponse",
    "api_path",
    "error_response",
    "german_errors",
    "html_response",
    "install_error_handlers",
    "json_response",
    "request_time",
]


# ------------------------------------------------------------------ versioned resources (ETag / If-Match)
#: ``If-Match`` as the APIs take it: the ``ETag`` of an earlier answer (``"3"``, weak ``W/"3"``) or ``*``.
IF_MATCH_PATTERN = r'^(\*|(W/)?"[0-9]{1,9}")$'
IfMatch = Annotated[
    str | None,
    Header(
        alias="If-Match",
        pattern=IF_MATCH_PATTERN,
        title="Gelesene Fassung (If-Match)",
        json_schema_extra={
            "x-rule": 'erwartet das ETag der gelesenen Fassung in Anführungszeichen, z. B. "3"'
        },
        description='ETag der gelesenen Fassung (z. B. "3"): die Änderung wird nur gespeichert, wenn niemand '
        "die Anmeldung inzwischen geändert hat (sonst 409).",
    ),
]


def etag(version: int) -> dict[str, str]:
    """The ``ETag`` header of a resource at ``version``."""
    return {"ETag": f'"{version}"'}


def expected_version(if_match: str | None) -> int | None:
    """The version an ``If-Match`` header asks for (``None``: no header, or ``*`` = any)."""
    if if_match is None or if_match == "*":
        return None
    return int(if_match.removeprefix("W/").strip('"'))
