"""Reporting REST API for the office: reports on demand, report index and downloads, dashboard. Routes plus
one call each (set-up, authorisation before validation, error answers: :mod:`common.routes`). "Now" is the
request time API Gateway reports (``requestContext.requestTimeEpoch``).
"""

from __future__ import annotations

from datetime import timedelta

from aws_lambda_powertools.event_handler import Response

from common.api import html_response, json_response
from common.routes import Caller, ReportId, RestApi, SchoolYearQuery
from contracts.calendar import local_date
from contracts.reference import school_year_of
from contracts.topology import REPORTING_API
from services.reporting.dal.aggregates import AggregateStore, Mailer, ReportStore
from services.reporting.handlers import page
from services.reporting.logic import queries
from services.reporting.logic.publish import LINK_VALIDITY, publish_report
from services.reporting.models.api import DashboardSummary, ReportListItem, ReportOut, ReportRequest

api = RestApi(REPORTING_API, tags=["Berichte"])
app, handler, log = api.app, api.handler, api.log
DOWNLOAD_VALIDITY = timedelta(minutes=15)


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
    )
    r = done.record
    log.info("report published", extra={"report_id": r.report_id, "report_type": r.report_type})
    return json_response(
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


@api.route("GET", "/reports", list[ReportListItem], "Berichte")
def list_reports(school_year: SchoolYearQuery = None) -> Response[list[ReportListItem]]:
    return json_response(queries.list_reports(school_year, store=AggregateStore()))


@api.route("GET", "/reports/{report_id}", ReportOut, "Bericht mit Download-Links")
def get_report(report_id: ReportId, p: Caller) -> Response[ReportOut]:
    return json_response(
        queries.report_with_links(
            report_id,
            now=api.now(),
            validity=DOWNLOAD_VALIDITY,
            store=AggregateStore(),
            reports=ReportStore(),
            principal=p,
        )
    )


@api.route("GET", "/dashboard/summary", DashboardSummary, "Aktuelle Zahlen")
def dashboard_summary(p: Caller, school_year: SchoolYearQuery = None) -> Response[DashboardSummary]:
    now = api.now()
    year = school_year or school_year_of(local_date(now))
    return json_response(queries.dashboard(year, now=now, store=AggregateStore(), principal=p))


@api.route("GET", "/dashboard")
def dashboard_page():  # type: ignore[no-untyped-def]  # no return annotation: HTML, not validated
    return html_response(page.render(app.current_event.get("stageVariables")))
