"""Alert checks of the reporting service, invoked by EventBridge Scheduler with exactly the payload of one of
its schedules (``common.scheduled`` refuses anything else); each occurrence runs once:

* ``alert_digest`` – a one-time schedule at the end of an alert window (created by the consumer): one e-mail
  per kind (waitlist, capacity) for every window that has ended, with the all-clear;
* ``long_waits`` – daily 06:00: students waiting longer than 14 days → one e-mail listing those not reported
  before; it also sends any digest whose one-time schedule did not run (a safety net, never a second one).
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AwareDatetime, ConfigDict

from common import scheduled
from common.model import Model
from common.observability import logger, tracer
from contracts.topology import REPORTING_CHECKS
from services.reporting.dal.aggregates import AggregateStore, Mailer
from services.reporting.logic import alerts, digest

log = logger("reporting")
trace = tracer("reporting")


class CheckRequest(Model):
    model_config = ConfigDict(extra="forbid")
    check: Literal["long_waits", "alert_digest"]
    scheduled_time: AwareDatetime


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    occ = scheduled.occurrence(REPORTING_CHECKS, event)
    request = CheckRequest.model_validate(occ.payload)

    def check() -> dict[str, Any]:
        store, mailer = AggregateStore(), Mailer()
        digests = digest.flush(request.scheduled_time, store=store, mailer=mailer)
        out: dict[str, Any] = {"check": request.check, "digests": sum(d.mailed for d in digests)}
        if request.check == "long_waits":
            out["alerted"] = len(alerts.long_waits(request.scheduled_time, store=store, mailer=mailer))
        return out

    return scheduled.run_once(occ, context, check)
