"""EventBridge Scheduler of the local runtime: moto's Scheduler never fires, so the runtime
fires the topology's schedules itself as the simulated clock moves on (:meth:`Scheduler.advance`),
as asynchronous invocations with retries and a DLQ, as the Lambda service runs them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

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

    def _run_schedule_async(self, function: str, schedule: str, at: datetime) -> bool:
        """As the Lambda service runs a scheduled (asynchronous) invocation: up to :data:`ASYNC_ATTEMPTS`
        attempts, then the payload goes to the function's async DLQ with the error type (never its message,
        which may quote data). True if it ran."""
        payload = self.schedule_payload(function, schedule, at)
        error: Exception | None = None
        for _ in range(ASYNC_ATTEMPTS):
            try:
                self.invoke(function, payload)
                return True
            except Exception as e:  # any handler failure is retried, then dead-lettered
                error = e
        boto3.client("sqs").send_message(
            QueueUrl=self._dlqs[("async", function)],
            MessageBody=json.dumps(payload),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": f"local-{schedule}-{at:%Y%m%dT%H%M%S}"},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": type(error).__name__},
            },
        )
        return False

    def advance(self, delta: timedelta = timedelta(0), *, drain: bool = True) -> list[tuple[datetime, str]]:
        """Move the simulated clock forward by ``delta`` and fire every schedule that fell due since the last
        call, in time order (delivering the events each one causes); ``advance()`` alone catches up with
        real time (``make serve`` calls it in its delivery loop). Returns ``(instant, schedule name)``."""
        with self.lock:
            end = self.clock.now() + delta
            due = sorted(
                (t, f.name, sch.name)
                for f in FUNCTIONS.values()
                for sch in f.schedules
                for t in schedule_times(sch, self._ticked, end)
            )
            fired = []
            for t, function, name in due:
                self.clock.offset += max(t - self.clock.now(), timedelta(0))  # the clock never goes back
                self._ticked = t
                self._run_schedule_async(function, name, t)
                if drain:
                    self.drain()
                fired.append((t, name))
            self.clock.offset += max(end - self.clock.now(), timedelta(0))
            self._ticked = end
            return fired
