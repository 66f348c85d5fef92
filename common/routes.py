"""Declarative REST routes: the one set-up of every API function (resolver, OpenAPI security scheme, error
answers, JSON responses, idempotency) and the one entry that authorises before anything is parsed.

A handler module is its routes plus one call each; a route states its method and path once::

    api = RestApi(INTAKE_API, tags=["Anmeldungen"])
    app, handler = api.app, api.handler  # OpenAPI generation; the Lambda entry of the topology

    @api.route("GET", "/intakes/{intake_id}", IntakeView, "Die Anmeldung")
    def get_intake(intake_id: IntakeId, principal: Caller) -> Response[IntakeView]:
        return json_response(read.get_intake(intake_id, principal=principal, ...))

Summary, tags, security and the documented error answers come from the topology route and the function's
parameters. :meth:`RestApi.handle` decides, in this order and before Powertools parses or validates a body,
a query or a header (its validation middleware runs before any middleware of ours):

1. the topology route, from API Gateway's ``resource`` + ``httpMethod`` (none → 404);
2. the caller: verified claims of an ID token of the platform's app client (``aud``) → 401, a role the route
   allows → 403, both with the generic body that says nothing about the route;
3. path parameters from API Gateway's ``pathParameters``, each *exactly* its declared pattern (404 otherwise);
   Powertools then routes the canonical path built from them;
4. the body guards of :mod:`common.guards` (media type 415, size 413, depth 400);
5. Powertools: validation (422 with German per-field messages), the route, German error answers. A route
   whose body has rules across fields names them with ``cross_field=``: a request refused field by field
   then also gets the cross-field rules its valid fields break, so the client corrects everything in one
   round.

The caller reaches the route as the parameter annotated :data:`Caller` (a Powertools ``Depends``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Header, Path, Query
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from common import idempotency, settings
from common.api import (
    INVALID_INPUT,
    api_path,
    error_response,
    install_error_handlers,
    json_response,
    request_errors,
    request_time,
)
from common.auth import ForbiddenError, Principal, UnauthenticatedError, authorize
from common.errors import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, ErrorResponse, FieldError, error_body
from common.guards import RequestRefusedError, check_body
from common.observability import logger, tracer
from contracts.reference import SCHOOL_YEAR, SCHOOLS
from contracts.topology import COMPANION_ID, INTAKE_ID, REPORT_ID, ROUTES, Function, PathParameter, Route

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.openapi.models import SecurityScheme

#: The request header (``None`` when absent: the request then simply runs).
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,128}$",
        title="Idempotenzschlüssel (Idempotency-Key)",
        json_schema_extra={
            "x-rule": "erwartet 8 bis 128 Zeichen aus Buchstaben (ohne Umlaute), Ziffern und _ . : -"
        },
        description="Client-generated key (e.g. a UUID): the same key with the same request returns the "
        "first response again; with another request 409.",
    ),
]


F = TypeVar("F", bound=Callable[..., Any])

#: The OpenAPI security scheme every protected route names.
SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]


def security_schemes() -> dict[str, SecurityScheme]:
    """The schemes :data:`SECURITY` names, for the OpenAPI document (``avdual.openapi``). Powertools' OpenAPI
    models (a pydantic model per OpenAPI object) are imported only here: a function validates requests
    without them (docs/performance.md)."""
    from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

    return {
        "cognito": HTTPBearer(
            bearerFormat="JWT",
            description="ID-Token des Cognito-Benutzerpools (lokal: "
            "`avdual token --role school --school RFS`). "
            "Gruppen: office, companion, school-<school_id>; Begleitungen tragen custom:companion_id.",
        )
    }


#: Documented error answers (German descriptions in the OpenAPI document).
ERROR_TEXT = {
    400: "Ungültige Anfrage (Kodierung, Verschachtelung)",
    401: "Nicht angemeldet",
    403: "Keine Berechtigung",
    404: "Nicht gefunden (oder nicht sichtbar)",
    409: "Konflikt mit dem aktuellen Stand (oder Idempotency-Key)",
    413: "Anfrage zu groß",
    415: "Falscher Content-Type",
    422: "Ungültige Eingabe (Feld + deutsche Meldung)",
}
_BODY_METHODS = ("POST", "PATCH", "PUT")


def path_parameter(p: PathParameter) -> Any:
    """The OpenAPI declaration of a path parameter (the entry has already checked the value)."""
    return Path(pattern=p.regex, description=p.description)


IntakeId = Annotated[str, path_parameter(INTAKE_ID)]
CompanionId = Annotated[str, path_parameter(COMPANION_ID)]
ReportId = Annotated[str, path_parameter(REPORT_ID)]
#: Query/form types several APIs share.
SchoolCode = Literal[tuple(SCHOOLS)]  # type: ignore[valid-type]
SchoolYearQuery = Annotated[
    str | None,
    Query(**SCHOOL_YEAR, description="z. B. 2026/27; Standard: das laufende Schuljahr"),
]


def _caller(request: Request) -> Principal:
    principal = request.context.get("principal")
    if not isinstance(principal, Principal):  # a public route cannot ask for a caller
        raise UnauthenticatedError("no caller on this route")
    return principal


#: A route parameter annotated ``Caller`` receives the authorised caller.
Caller = Annotated[Principal, Depends(_caller)]


def companion_query(description: str) -> Any:
    """A query parameter naming a companion by code (the topology's rule), ``Annotated[str | None, …]``."""
    return Query(
        pattern=COMPANION_ID.regex,
        title="Begleitung",
        json_schema_extra={"x-rule": COMPANION_ID.rule},
        description=description,
    )


def page_size(largest: int) -> Any:
    """The page size of a list route, ``Annotated[int, page_size(100)] = 25``."""
    return Query(ge=1, le=largest, title="Anzahl je Seite")


#: The opaque position of the next page (``next_cursor`` of the previous answer).
PageCursor = Annotated[str | None, Query(max_length=1024, title="Seitenmarke")]


@dataclass(frozen=True)
class RefusedRequest:
    """What a route's cross-field rules see of a request Powertools refused field by field."""

    body: Any  # the JSON body; None when it is not JSON
    path_parameters: Mapping[str, str]
    principal: Principal
    now: datetime


#: A route's rules across fields: (field errors, the request) → the field errors with the broken rules.
CrossFieldRules = Callable[[list[FieldError], RefusedRequest], list[FieldError]]


def _refusal(status: int, message: str) -> dict[str, Any]:
    """An API Gateway proxy response with the platform's error body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": error_body(message),
        "isBase64Encoded": False,
    }


class RestApi:
    """One API function: its Powertools resolver (``app``), routes and Lambda entry (``handler``)."""

    def __init__(self, function: Function, *, tags: list[str]) -> None:
        self.function = function
        self.tags = tags
        self.log = logger(function.service)
        self.trace = tracer(function.service)
        self.app = APIGatewayRestResolver(enable_validation=True)  # its document: avdual.openapi
        install_error_handlers(self.app, function.service)
        self.app.exception_handler(RequestValidationError)(self._invalid)  # after the shared ones: it wins
        self.routes: dict[tuple[str, str], Route] = {
            (r.method, r.path): r for r in ROUTES if r.function == function.name
        }
        self.cross_field: dict[tuple[str, str], CrossFieldRules] = {}
        self.ok_status: dict[tuple[str, str], int] = {}

        @self.log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
        @self.trace.capture_lambda_handler
        def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
            return self.handle(event, context)

        self.handler = handler

    # ------------------------------------------------------------------ declaration
    def route(
        self,
        method: str,
        path: str,
        model: Any = None,
        ok_text: str = "",
        *,
        status: int = 200,
        errors: tuple[int, ...] = (),
        description: str | None = None,
        tags: list[str] | None = None,
        cross_field: CrossFieldRules | None = None,
    ) -> Callable[[F], F]:
        """Register the topology route ``method path``: ``model`` and ``ok_text`` document the answer
        ``status``; ``errors`` adds answers beyond the ones the route's shape implies; ``cross_field`` adds
        the rules across fields to a refused request's field errors."""
        r = self.routes[(method, path)]
        self.ok_status[(method, path)] = status
        if cross_field is not None:
            self.cross_field[(method, path)] = cross_field

        def decorate(fn: F) -> F:
            if r.public:
                return self.app.route(api_path(r), r.method, include_in_schema=False)(fn)
            codes = {401, 403, 422, *errors}  # 422: Powertools documents it on every route anyway
            if r.parameters:
                codes.add(404)
            if r.method in _BODY_METHODS:
                codes |= {400, 413, 415}
            ok = {"description": ok_text, "content": {"application/json": {"model": model}}}
            if links := self.links(r, model):
                ok["links"] = links
            bad = {"content": {"application/json": {"model": ErrorResponse}}}
            responses: dict[int, Any] = {status: ok}
            responses.update({c: {"description": ERROR_TEXT[c], **bad} for c in sorted(codes)})
            return self.app.route(
                api_path(r),
                r.method,
                summary=r.summary,
                description=description,
                tags=tags or self.tags,
                security=SECURITY,
                responses=responses,
            )(fn)

        return decorate

    def links(self, route: Route, model: Any) -> dict[str, Any]:
        """OpenAPI links from the answer of ``route`` to every other route of the API whose path ids the
        answer carries at its top level (create → read → correct → withdraw): clients and the stateful fuzz
        test follow them with the real id."""
        fields = getattr(model, "model_fields", None) if isinstance(model, type) else None
        if not fields:
            return {}
        out: dict[str, Any] = {}
        for other in self.routes.values():
            names = [p.name for p in other.parameters]
            if other is route or other.public or not names or not all(n in fields for n in names):
                continue
            pointer = other.path.replace("~", "~0").replace("/", "~1")
            out[f"{other.method}{re.sub(r'[^A-Za-z0-9]+', '_', other.path)}"] = {
                "operationRef": f"#/paths/{pointer}/{other.method.lower()}",
                "parameters": {n: f"$response.body#/{n}" for n in names},
                "description": other.summary,
            }
        return out

    # ------------------------------------------------------------------ the entry
    def handle(self, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Authorise, check the path ids and the body, then let Powertools resolve (see module docs)."""
        idempotency.CONFIG.register_lambda_context(context)
        try:
            route, principal = self._admit(event)
        except UnauthenticatedError:
            return self._refused(event, 401, UNAUTHENTICATED)
        except ForbiddenError:
            return self._refused(event, 403, FORBIDDEN)
        except RequestRefusedError as e:
            return self._refused(event, e.status, e.message)
        self.app.append_context(route=route, principal=principal)
        return self.app.resolve(event, context)

    def _admit(self, event: dict[str, Any]) -> tuple[Route, Principal | None]:
        route = self.routes.get((str(event.get("httpMethod")), str(event.get("resource"))))
        if route is None:
            raise RequestRefusedError(404, NOT_FOUND)
        principal = None
        if not route.public:
            claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("claims")
            principal = authorize(claims, route.roles, audience=settings.user_pool_client_id())
        event["path"] = canonical_path(route, event.get("pathParameters"))
        check_body(event)
        return route, principal

    def _invalid(self, ex: RequestValidationError) -> Response:
        """422 with the German field errors, plus the route's cross-field rules (:data:`CrossFieldRules`)."""
        errors = request_errors(self.app, ex)
        route, principal = self.app.context.get("route"), self.app.context.get("principal")
        rules = self.cross_field.get((route.method, route.path)) if route is not None else None
        if rules is not None and principal is not None:
            event = self.app.current_event
            try:
                body = event.json_body
            except ValueError:
                body = None
            request = RefusedRequest(body, event.get("pathParameters") or {}, principal, self.now())
            errors = rules(errors, request)
        return error_response(422, INVALID_INPUT, errors)

    def _refused(self, event: Mapping[str, Any], status: int, message: str) -> dict[str, Any]:
        self.log.info(
            "request refused",
            extra={"status": status, "resource": event.get("resource"), "method": event.get("httpMethod")},
        )
        return _refusal(status, message)

    # ------------------------------------------------------------------ inside a route
    def correlation_id(self) -> str:
        return str((self.app.current_event.get("requestContext") or {}).get("requestId") or "local")

    def now(self) -> datetime:
        """The request time (API Gateway's ``requestTimeEpoch``; the simulated clock locally)."""
        return request_time(self.app.current_event)

    def idempotent(
        self, principal: Principal, key: str | None, payload: dict[str, Any], run: Callable[[], BaseModel]
    ) -> Response:
        """``run`` once per (route, caller, ``Idempotency-Key``), answered with the route's declared status; a
        replay answers the stored response with ``Idempotent-Replayed: true``. Without a key the request
        simply runs."""
        route: Route = self.app.context["route"]
        status = self.ok_status[(route.method, route.path)]
        if key is None:
            return json_response(run(), status)
        status, data, replayed = idempotency.once(
            f"{route.method} {route.path}", principal.subject, key, payload, lambda: (status, run())
        )
        return json_response(data, status, {"Idempotent-Replayed": "true"} if replayed else None)


def canonical_path(route: Route, path_parameters: Mapping[str, Any] | None) -> str:
    """``route.path`` with API Gateway's ``pathParameters``, each exactly its declared pattern; raises
    :class:`RequestRefusedError` (404) otherwise. (Ids are never taken from the raw path.)"""
    given = dict(path_parameters or {})
    declared = {p.name: p for p in route.parameters}
    if set(given) != set(declared) or not all(
        isinstance(given[n], str) and p.matches(given[n]) for n, p in declared.items()
    ):
        raise RequestRefusedError(404, NOT_FOUND)
    return re.sub(r"\{(\w+)\}", lambda m: str(given[m.group(1)]), route.path)
