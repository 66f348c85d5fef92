"""Reporting REST API for the office: reports on demand, report index and downloads, dashboard.

Thin: authorise (roles per route from the topology, ``common.auth``), parse, one call, respond. "Now"
is the request time API Gateway reports (``requestContext.requestTimeEpoch``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from common.api import ErrorResponse, api_path, install_error_handlers, request_time
from common.auth import Principal, authorize
from common.events import EventBridgePublisher
from common.observability import logger, tracer
from contracts.calendar import local_date
from contracts.reference import school_year_of
from contracts.topology import route
from services.reporting.dal.aggregates import AggregateStore, Mailer, ReportStore
from services.reporting.handlers import page
from services.reporting.logic import queries
from services.reporting.logic.publish import LINK_VALIDITY, publish_report
from services.reporting.models.api import DashboardSummary, ReportListItem, ReportOut, ReportRequest

SERVICE = "reporting"
log = logger(SERVICE)
trace = tracer(SERVICE)
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(
    security_schemes={
        "cognito": HTTPBearer(  # the platform's one scheme (same text in every API module)
            bearerFormat="JWT",
            description="ID token of the Cognito user pool. Groups: office, companion, "
            "school-<school_id>; companions carry custom:companion_id.",
        )
    }
)
install_error_handlers(app, SERVICE)

SECURITY: list[dict[str, list[str]]] = [{"cognito": []}]
TAGS = ["Berichte"]
SchoolYear = Annotated[
    str | None, Query(pattern=r"^\d{4}/\d{2}$", description="e.g. 2026/27; default: today's")
]
DOWNLOAD_VALIDITY = timedelta(minutes=15)
_ERROR_TEXT = {
    401: "Nicht angemeldet",
    403: "Keine Berechtigung",
    404: "Nicht gefunden",
    422: "Ungültige Eingabe (Feld + deutsche Meldung)",
}


def _doc(method: str, path: str, model: Any, ok_text: str, *errors: int, status: int = 200) -> dict[str, Any]:
    responses: dict[int, Any] = {
        status: {"description": ok_text, "content": {"application/json": {"model": model}}}
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
        "tags": TAGS,
    }


def _principal(method: str, path: str) -> Principal:
    context = app.current_event.get("requestContext") or {}
    return authorize((context.get("authorizer") or {}).get("claims"), route(method, path).roles)


def _now() -> datetime:
    return request_time(app.current_event)


def _correlation_id() -> str:
    return str((app.current_event.get("requestContext") or {}).get("requestId") or "local")


def _json(body: BaseModel | Sequence[BaseModel], status: int = 200) -> Response:
    data = (
        body.model_dump(mode="json")
        if isinstance(body, BaseModel)
        else [b.model_dump(mode="json") for b in body]
    )
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=data,
        headers={"Cache-Control": "no-store"},
    )


@app.post(
    api_path(route("POST", "/reports")),
    **_doc("POST", "/reports", ReportOut, "Bericht erstellt", 422, status=201),
)
def post_report(body: ReportRequest) -> Response[ReportOut]:
    _principal("POST", "/reports")
    now = _now()
    school_year = body.school_year or school_year_of(local_date(now))
    done = publish_report(
        report_type=body.report_type,
        school_year=school_year,
        as_of=now,
        period=body.period,
        store=AggregateStore(),
        reports=ReportStore(),
        publisher=EventBridgePublisher(),
        mailer=Mailer(),
        correlation_id=_correlation_id(),
        email=body.email,
        now=now,
    )
    r = done.record
    log.info("report published", extra={"report_id": r.report_id, "report_type": r.report_type})
    return _json(
        ReportOut(
            report_id=r.report_id,
            report_type=r.report_type,
            school_year=r.school_year,
            generated_at=r.generated_at,
            period_label=r.period_label,
            formats=r.formats,
            links=done.links,
            links_valid_until=now + LINK_VALIDITY,
            emailed=done.mailed,
        ),
        201,
    )


@app.get(api_path(route("GET", "/reports")), **_doc("GET", "/reports", list[ReportListItem], "Berichte"))
def list_reports(school_year: SchoolYear = None) -> Response[list[ReportListItem]]:
    _principal("GET", "/reports")
    return _json(queries.list_reports(school_year, store=AggregateStore()))


@app.get(
    api_path(route("GET", "/reports/{report_id}")),
    **_doc("GET", "/reports/{report_id}", ReportOut, "Bericht mit Download-Links", 404),
)
def get_report(report_id: str) -> Response[ReportOut]:
    p = _principal("GET", "/reports/{report_id}")
    return _json(
        queries.report_with_links(
            report_id,
            now=_now(),
            validity=DOWNLOAD_VALIDITY,
            store=AggregateStore(),
            reports=ReportStore(),
            principal=p,
        )
    )


@app.get(
    api_path(route("GET", "/dashboard/summary")),
    **_doc("GET", "/dashboard/summary", DashboardSummary, "Aktuelle Zahlen"),
)
def dashboard_summary(school_year: SchoolYear = None) -> Response[DashboardSummary]:
    p = _principal("GET", "/dashboard/summary")
    now = _now()
    year = school_year or school_year_of(local_date(now))
    return _json(queries.dashboard(year, now=now, store=AggregateStore(), principal=p))


@app.get(api_path(route("GET", "/dashboard")), include_in_schema=False)
def dashboard_page():  # type: ignore[no-untyped-def]  # HTML, not validated
    html, headers = page.render(app.current_event.get("stageVariables"))
    return Response(status_code=200, content_type="text/html; charset=utf-8", body=html, headers=headers)


@log.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
