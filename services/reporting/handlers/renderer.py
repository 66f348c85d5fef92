"""Report renderer, invoked by EventBridge Scheduler with exactly the payloads of its topology schedules
(``weekly-report``, ``school-year-report``; ``common.scheduled`` refuses anything else).

The report is "as of" the scheduled instant. Each occurrence runs once (``common.scheduled.run_once``); a
retried invocation of an occurrence that failed half-way finishes the same report (``run_key``) and sends
no second email.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, ConfigDict

from common import scheduled, settings
from common.model import Model
from common.observability import logger, tracer
from contracts.calendar import local_date
from contracts.reference import school_year_of
from contracts.topology import REPORTING_RENDERER
from services.reporting.dal.aggregates import AggregateStore, Mailer, ReportStore
from services.reporting.logic.publish import publish_report

log = logger("reporting")
trace = tracer("reporting")


class RenderRequest(Model):
    """The fields of the renderer's schedule payloads (which payloads are valid: ``common.scheduled``)."""

    model_config = ConfigDict(extra="forbid")
    report_type: Literal["weekly", "school_year"]
    period: Literal["last_week"] = "last_week"
    scheduled_time: AwareDatetime


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    occ = scheduled.occurrence(REPORTING_RENDERER, event)
    request = RenderRequest.model_validate(occ.payload)
    return scheduled.run_once(occ, context, lambda: _render(request, context.aws_request_id))


def _render(request: RenderRequest, correlation_id: str) -> dict[str, Any]:
    as_of = request.scheduled_time.astimezone(UTC)  # one instant, one run key, whatever the offset
    school_year = school_year_of(local_date(as_of))
    done = publish_report(
        report_type=request.report_type,
        school_year=school_year,
        as_of=as_of,
        period=request.period,
        store=AggregateStore(),
        reports=ReportStore(),
        mailer=Mailer(),
        correlation_id=correlation_id,
        run_key=f"{request.report_type}#{school_year}#{as_of.isoformat()}",
        now=as_of,
        api_base_url=settings.api_base_url(),
    )
    log.info(
        "report published", extra={"report_id": done.record.report_id, "report_type": request.report_type}
    )
    if done.rendered and done.rendered.errors:
        log.error("report formats failed", extra={"report_id": done.record.report_id, **done.rendered.errors})
    return {"report_id": done.record.report_id, "object_keys": done.record.object_keys}
