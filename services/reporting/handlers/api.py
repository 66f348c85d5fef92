"""Reporting REST API for the office: reports on demand, report index and downloads, dashboard. Routes plus
one call each (set-up, authorisation before validation, error answers: :mod:`common.routes`). "Now" is the
request time API Gateway reports (``requestContext.requestTimeEpoch``).
"""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response

from common import settings
from common.api import api_path, html_response, json_response
from common.errors import ErrorResponse
from common.routes import ERROR_TEXT, SECURITY, Caller, ReportId, RestApi, SchoolYearQuery, path_parameter
from contracts.calendar import local_date
from contracts.reference import school_year_of
from contracts.topology import FILE_FORMAT, REPORTING_API, route
from services.reporting.dal.aggregates import AggregateStore, Mailer, ReportStore
from services.reporting.handlers import page
from services.reporting.logic import queries
from services.reporting.logic.publish import publish_report
from services.reporting.logic.report import CONTENT_TYPES
from services.reporting.models.api import DashboardSummary, ReportListItem, ReportOut, ReportRequest

api = RestApi(REPORTING_API, tags=["Berichte"])
app, handler, log = api.app, api.handler, api.log
FileFormat = Annotated[str, path_parameter(FILE_FORMAT)]


@api.route("POST", "/reports", ReportOut, "Bericht erstellt", status=201)
def post_report(body: ReportRequest) -> Response[ReportOut]:
    now = api.now()
    school_year = body.school_year or school_year_of(local_date(now))
    done = publish_report(
        report_type=body.report_type,
        school_year=school_year,
        as_of=now,
        period=body.period,
        store=AggregateStore(),
        reports=ReportStore(),
        mailer=Mailer(),
        correlation_id=api.correlation_id(),
        email=body.email,
        now=now,
        api_base_url=settings.api_base_url() if body.email else None,
    )
    r = done.record
    log.info("report published", extra={"report_id": r.report_id, "report_type": r.report_type})
    if done.rendered and done.rendered.errors:
        log.error("report formats failed", extra={"report_id": r.report_id, **done.rendered.errors})
    return json_response(queries.report_out(r, emailed=done.mailed), 201)


@api.route("GET", "/reports", list[ReportListItem], "Berichte")
def list_reports(school_year: SchoolYearQuery = None) -> Response[list[ReportListItem]]:
    return json_response(queries.list_reports(school_year, store=AggregateStore()))


@api.route("GET", "/reports/{report_id}", ReportOut, "Bericht mit den Pfaden seiner Dateien")
def get_report(report_id: ReportId) -> Response[ReportOut]:
    return json_response(queries.report_with_links(report_id, store=AggregateStore()))


_DOWNLOAD = route("GET", "/reports/{report_id}/files/{file_format}")


@app.route(
    api_path(_DOWNLOAD),
    "GET",
    summary=_DOWNLOAD.summary,
    tags=api.tags,
    security=SECURITY,
    responses={
        200: {
            "description": "Die Datei (Content-Disposition: attachment). PDF und XLSX kommen nur als "
            "Binärdaten, wenn Accept den Medientyp der Datei nennt (API Gateway).",
            "content": {t: {} for t in CONTENT_TYPES.values()},
        },
        **{
            code: {"description": ERROR_TEXT[code], "content": {"application/json": {"model": ErrorResponse}}}
            for code in (401, 403, 404)
        },
    },
)
def download_report_file(report_id: ReportId, file_format: FileFormat, p: Caller):  # type: ignore[no-untyped-def]  # bytes: no response model to validate
    f = queries.report_file(
        report_id, file_format, now=api.now(), store=AggregateStore(), reports=ReportStore(), principal=p
    )
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if f.content_disposition:
        headers["Content-Disposition"] = f.content_disposition
    # bytes: Powertools returns them base64-encoded with isBase64Encoded (binary media types of the API);
    # HTML is text and goes out as text
    body: Any = f.body.decode("utf-8") if file_format == "html" else f.body
    return Response(status_code=200, content_type=f.content_type, body=body, headers=headers)


@api.route("GET", "/dashboard/summary", DashboardSummary, "Aktuelle Zahlen")
def dashboard_summary(p: Caller, school_year: SchoolYearQuery = None) -> Response[DashboardSummary]:
    now = api.now()
    year = school_year or school_year_of(local_date(now))
    return json_response(queries.dashboard(year, now=now, store=AggregateStore(), principal=p))


@api.route("GET", "/dashboard")
def dashboard_page():  # type: ignore[no-untyped-def]  # no return annotation: HTML, not validated
    return html_response(page.render(app.current_event.get("stageVariables")))
