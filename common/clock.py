"""The one clock of the platform: where "now" comes from (docs/adr/0003-one-clock.md).

Every entry point takes its time from its input and hands it down; logic never reads a clock:

* API: the time API Gateway received the request (``requestContext.requestTimeEpoch``,
  :func:`common.api.request_time` → :func:`from_epoch_ms`);
* event consumers: the event's ``metadata.occurred_at`` (``Metadata`` reaches every reaction);
* scheduled runs: the schedule's instant (``<aws.scheduler.scheduled-time>`` in the payload,
  ``common.scheduled.occurrence``).

The local runtime sets all three from its simulated clock, so a simulated day reaches every write exactly as a
real day does on AWS. This module is the only place that reads the system time (ruff ``TID251`` bans
``datetime.now``/``utcnow``/``today``, ``date.today`` and ``time.time`` elsewhere in ``services``, ``common``
and ``contracts``); :func:`system_now` is the fallback for an input without a time (an API event without
``requestTimeEpoch``).
"""

from __future__ import annotations

from datetime import UTC, datetime


def system_now() -> datetime:
    """The system time (UTC). Only for an entry point whose input carries no time."""
    return datetime.now(UTC)  # noqa: TID251 - the one place that reads the system clock


def from_epoch_ms(epoch_ms: int | str | None) -> datetime:
    """An epoch in milliseconds (API Gateway's ``requestTimeEpoch``) as a UTC instant; the system time
    without one."""
    return datetime.fromtimestamp(int(epoch_ms) / 1000, UTC) if epoch_ms else system_now()
