"""Shared REST API answers: JSON responses, German per-field validation errors, every API's error answers.

Error body schema (stable, documented in the OpenAPI spec as ``ErrorResponse``; built by
:func:`common.errors.error_body` only)::

    {"message": "<German summary>", "errors": [{"field": "student.date_of_birth", "message": "<German>"}]}

No error body echoes input values, stack traces or module names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from pydantic import BaseModel

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
from common.guards import UNSUPPORTED_MEDIA_TYPE
from common.observability import logger
from contracts.topology import Route

_MESSAGES: dict[str, str] = {
    "missing": "Pflichtfeld fehlt.",
    "extra_forbidden": "Unbekanntes Feld.",
    "string_too_short": "Eingabe ist zu kurz.",
    "string_too_long": "Eingabe ist zu lang.",
    "string_pattern_mismatch": "Eingabe hat nicht das erwartete Format.",
    "string_type": "Text erwartet.",
    "bool_type": "Ja/Nein-Wert erwartet.",
    "bool_parsing": "Ja/Nein-Wert erwartet.",
    "int_type": "Ganze Zahl erwartet.",
    "int_parsing": "Ganze Zahl erwartet.",
    "float_parsing": "Zahl erwartet.",
    "list_type": "Liste erwartet.",
    "dict_type": "Objekt erwartet.",
    "model_type": "Objekt erwartet.",
    "model_attributes_type": "Objekt erwartet.",
    "too_long": "Zu viele Einträge.",
    "too_short": "Zu wenige Einträge.",
    "date_parsing": "Ungültiges Datum (erwartet JJJJ-MM-TT).",
    "date_from_datetime_parsing": "Ungültiges Datum (erwartet JJJJ-MM-TT).",
    "date_from_datetime_inexact": "Ungültiges Datum (erwartet JJJJ-MM-TT).",
    "date_type": "Ungültiges Datum (erwartet JJJJ-MM-TT).",
    "datetime_parsing": "Ungültiger Zeitpunkt.",
    "datetime_from_date_parsing": "Ungültiger Zeitpunkt.",
    "literal_error": "Ungültiger Wert.",
    "enum": "Ungültiger Wert.",
    "json_invalid": "Ungültiges JSON.",
    "json_type": "Ungültiges JSON.",
    "greater_than_equal": "Wert ist zu klein.",
    "less_than_equal": "Wert ist zu groß.",
    "greater_than": "Wert ist zu klein.",
    "less_than": "Wert ist zu groß.",
    "uuid_parsing": "Ungültige Kennung.",
    "value_error": "Ungültiger Wert.",
    "assertion_error": "Ungültiger Wert.",
}


def api_path(route: Route) -> str:
    """Topology path ``/intakes/{intake_id}`` → Powertools path ``/intakes/<intake_id>``."""
    return re.sub(r"\{(\w+)\}", r"<\1>", route.path)


def request_time(event: Mapping[str, Any]) -> datetime:
    """The time API Gateway received the request (``requestContext.requestTimeEpoch``, milliseconds; the local
    runtime sets it from its simulated clock): the "now" of everything the request does (:mod:`common.clock`).
    """
    return clock.from_epoch_ms((event.get("requestContext") or {}).get("requestTimeEpoch"))


def german_errors(errors: Iterable[Mapping[str, Any]]) -> list[FieldError]:
    """Map pydantic/Powertools validation errors to German per-field messages.

    ``loc`` prefixes ``body``/``query``/``path`` are dropped; list indices stay (``career_fields.3``).
    Custom validators raise ``ValueError("<German text>")``; that text is shown as is.
    """
    out: list[FieldError] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in ("body", "query", "path", "header"):
            where = loc[0]
            loc = loc[1:]
        else:
            where = "body"
        etype = str(err.get("type", "value_error"))
        field = where if etype in ("json_invalid", "json_type") else (".".join(loc) or where)
        message = _MESSAGES.get(etype, "Ungültiger Wert.")
        ctx = err.get("ctx") or {}
        if etype == "value_error" and "error" in ctx:
            message = str(ctx["error"])
        elif etype == "literal_error" and "expected" in ctx:
            message = f"Ungültiger Wert; erlaubt: {ctx['expected']}."
        elif etype in ("too_long",) and "max_length" in ctx:
            message = f"Höchstens {ctx['max_length']} Einträge."
        elif etype == "string_too_long" and "max_length" in ctx:
            message = f"Höchstens {ctx['max_length']} Zeichen."
        elif etype == "string_too_short" and ctx.get("min_length") == 1:
            message = "Darf nicht leer sein."
        out.append(FieldError(field=field, message=message))
    return out


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
        # An unknown field is reported at its parent: the key itself is the client's text, never echoed.
        errors = [
            {**e, "loc": tuple(e.get("loc", ()))[:-1]} if e.get("type") == "extra_forbidden" else e
            for e in ex.errors()
        ]
        return error_response(
            422, "Die Eingabe ist ungültig. Bitte die markierten Felder prüfen.", german_errors(errors)
        )

    @app.exception_handler(DomainValidationError)
    def _domain(ex: DomainValidationError) -> Response:
        return error_response(422, "Die Eingabe ist ungültig. Bitte die markierten Felder prüfen.", ex.errors)

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
