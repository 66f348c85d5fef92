"""EventBridge Scheduler of the local runtime: moto's Scheduler never fires, so the runtime
fires the topology's schedules – and the one-time schedules functions create on moto – itself as the
simulated clock moves on (:meth:`Scheduler.advance`), as asynchronous invocations with retries and a DLQ, as
the Lambda service runs them; a one-time schedule is deleted after it ran (``ActionAfterCompletion``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from avdual.runtime.clock import schedule_times
from avdual.runtime.delivery import Delivery
from contracts.topology import FUNCTIONS, SCHEDULED_TIME

#: Attempts of an asynchronous invocation before its DLQ (Lambda: the first try and 2 retries).
ASYNC_ATTEMPTS = 3


class Scheduler(Delivery):
    """Fires the topology's schedules."""

    def schedule_payload(self, function: str, schedule: str, at: datetime | None = None) -> dict[str, Any]:
        """The payload EventBridge Scheduler sends for ``schedule`` as of ``at`` (default now)."""
        sched = next(s for s in FUNCTIONS[function].schedules if s.name == schedule)
        instant = (at or self.clock.now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {k: instant if v == SCHEDULED_TIME else v for k, v in sched.payload.items()}

    def run_schedule(self, function: str, schedule: str, at: datetime | None = None) -> Any:
        """Trigger a topology schedule now (or as of ``at``); moto's Scheduler never fires.
        Raises what the handler raises (tests see it); :meth:`advance` dead-letters instead."""
        return self.invoke(function, self.schedule_payload(function, schedule, at))

    def _run_schedule_async(self, function: str, schedule: str, at: datetime, payload: Any = None) -> bool:
        """As the Lambda service runs a scheduled (asynchronous) invocation: up to :data:`ASYNC_ATTEMPTS`
        attempts, then the payload goes to the function's async DLQ with the error type (never its message,
        which may quote data). True if it ran."""
        payload = self.schedule_payload(function, schedule, at) if payload is None else payload
        error: Exception | None = None
        for _ in range(ASYNC_ATTEMPTS):
            try:
                self.invoke(function, payload)
                return True
            except Exception as e:  # any handler failure is retried, then dead-lettered
                error = e
        self.poller_client("sqs").send_message(
            QueueUrl=self._dlqs[("async", function)],
            MessageBody=json.dumps(payload),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": f"local-{schedule}-{at:%Y%m%dT%H%M%S}"},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": type(error).__name__},
            },
        )
        return False

    def one_time_due(self, until: datetime) -> list[OneTimeOccurrence]:
        """The one-time schedules created on moto (``at(...)``, in the runtime's schedule groups) that are due
        by ``until``, earliest first – also those whose time has passed already (they fire at once)."""
        scheduler = self.poller_client("scheduler")
        due = []
        groups = [v for k, v in self.names.items() if k.startswith("schedule-group:")]
        for group in groups:
            for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
                for item in page.get("Schedules", []):
                    s = scheduler.get_schedule(GroupName=group, Name=item["Name"])
                    at = one_time_instant(s["ScheduleExpression"], s.get("ScheduleExpressionTimezone", "UTC"))
                    if at is None or at > until or s.get("State") == "DISABLED":
                        continue
                    function = self.one_time_targets.get(s["Target"]["Arn"])
                    if function is None:
                        continue
                    due.append(OneTimeOccurrence(at, group, item["Name"], function, s))
        return sorted(due, key=lambda o: (o.at, o.name))

    def _fire_one_time(self, o: OneTimeOccurrence) -> None:
        """Invoke the target with the schedule's input (the scheduled time filled in), then delete the
        schedule as ``ActionAfterCompletion: DELETE`` does (otherwise disable it: it fires once)."""
        instant = o.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        payload = json.loads(o.schedule["Target"].get("Input") or "{}")
        payload = {k: instant if v == SCHEDULED_TIME else v for k, v in payload.items()}
        self._run_schedule_async(o.function, o.name, o.at, payload)
        scheduler = self.poller_client("scheduler")
        if o.schedule.get("ActionAfterCompletion") == "DELETE":
            scheduler.delete_schedule(GroupName=o.group, Name=o.name)
        else:
            s = o.schedule
            scheduler.update_schedule(
                GroupName=o.group,
                Name=o.name,
                ScheduleExpression=s["ScheduleExpression"],
                FlexibleTimeWindow=s["FlexibleTimeWindow"],
                Target=s["Target"],
                State="DISABLED",
            )

    def advance(self, delta: timedelta = timedelta(0), *, drain: bool = True) -> list[tuple[datetime, str]]:
        """Move the simulated clock forward by ``delta`` and fire every schedule that fell due since the last
        call, in time order (delivering the events each one causes): the topology's cron schedules and the
        one-time schedules functions created meanwhile (also those created by what fired before them).
        ``advance()`` alone catches up with real time (``make serve`` calls it in its delivery loop). Returns
        ``(instant, schedule name)``."""
        with self.lock:
            end = self.clock.now() + delta
            due = sorted(
                (t, f.name, sch.name)
                for f in FUNCTIONS.values()
                for sch in f.schedules
                for t in schedule_times(sch, self._ticked, end)
            )
            fired: list[tuple[datetime, str]] = []
            while True:
                once = self.one_time_due(end)
                if once and (not due or once[0].at <= due[0][0]):
                    o = once[0]
                    self._tick(o.at)
                    self._fire_one_time(o)
                    fired.append((o.at, o.name))
                elif due:
                    t, function, name = due.pop(0)
                    self._tick(t)
                    self._run_schedule_async(function, name, t)
                    fired.append((t, name))
                else:
                    break
                if drain:
                    self.drain()
            self.clock.offset += max(end - self.clock.now(), timedelta(0))
            self._ticked = end
            return fired

    def _tick(self, t: datetime) -> None:
        self.clock.offset += max(t - self.clock.now(), timedelta(0))  # the clock never goes back
        self._ticked = max(self._ticked, t)


@dataclass(frozen=True)
class OneTimeOccurrence:
    at: datetime
    group: str
    name: str
    function: str
    schedule: dict[str, Any]


def one_time_instant(expression: str, timezone: str) -> datetime | None:
    """The instant of an ``at(yyyy-mm-ddThh:mm:ss)`` expression in ``timezone`` (None for cron/rate)."""
    m = re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", expression.strip())
    if not m:
        return None
    return datetime.fromisoformat(m.group(1)).replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
