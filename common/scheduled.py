"""Scheduled invocations (EventBridge Scheduler → Lambda): exactly the payloads the topology's schedules
send, and one run per schedule occurrence (docs/adr/0013-scheduled-runs.md).

A scheduled handler accepts an event only if it *is* the payload of one of its function's schedules
(``contracts.topology.Schedule.payload``, also of the one-time schedules that invoke it): the same keys,
the same fixed values, and every ``<aws.scheduler.scheduled-time>`` replaced by an ISO 8601 instant with its
offset, as EventBridge Scheduler sends it (``2022-03-22T18:59:43Z``). Anything else – ``{}``, an
EventBridge "Scheduled Event" envelope, a missing or extra key, a placeholder left in, a time without offset
– raises
:class:`ScheduledPayloadError` before any work is done (the invocation fails; after the retries the
payload lands in the function's dead-letter queue for the operator).

:func:`run_once` runs the work once per occurrence – schedule name + scheduled time – with Powertools
Idempotency on the platform's idempotency table: a retried or redriven invocation of a completed
occurrence returns the stored result and renders or mails nothing again; a failed run leaves no record,
so its retry runs again; a run in progress makes a concurrent duplicate fail (and be retried later).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.typing import LambdaContext

from common.idempotency import persistence_store
from contracts.topology import SCHEDULED_TIME, Function, OneTimeSchedule, Schedule

#: An instant as EventBridge Scheduler writes it (seconds, optional fraction, ``Z`` or an offset).
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
#: How long a completed occurrence is remembered: longer than any retry (Scheduler: 24 h, Lambda async:
#: 6 h) and than a dead letter can wait for a redrive (SQS keeps messages at most 14 days).
REMEMBER_SECONDS = 15 * 24 * 3600
CONFIG = IdempotencyConfig(
    event_key_jmespath="[schedule, scheduled_time]",
    expires_after_seconds=REMEMBER_SECONDS,
)


class ScheduledPayloadError(ValueError):
    """The event is not the payload of any of the function's schedules."""


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a schedule: its name, its scheduled instant and the payload as sent."""

    schedule: str
    scheduled_time: datetime
    payload: Mapping[str, Any]


def parse_instant(value: object) -> datetime | None:
    """``value`` as an aware datetime if it is an ISO 8601 instant as Scheduler sends it, else None."""
    if not isinstance(value, str) or not _INSTANT.fullmatch(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _match(
    schedule: Schedule | OneTimeSchedule, event: Mapping[str, Any]
) -> tuple[datetime | None, str | None]:
    """(scheduled time, None) if ``event`` is this schedule's payload, else (None, why not)."""
    if set(event) != set(schedule.payload):
        return None, "other keys"
    instant: datetime | None = None
    for key, expected in schedule.payload.items():
        if expected == SCHEDULED_TIME:
            instant = parse_instant(event[key])
            if instant is None:
                return None, f"{key} is not an ISO 8601 instant with offset"
        elif event[key] != expected:
            return None, f"{key} differs"
    return instant, None


def occurrence(function: Function, event: object) -> Occurrence:
    """The schedule occurrence ``event`` is, for ``function``; raises :class:`ScheduledPayloadError`."""
    if not isinstance(event, Mapping):
        raise ScheduledPayloadError(f"{function.name}: the payload is not a JSON object")
    reasons = []
    candidates: list[Schedule | OneTimeSchedule] = [*function.schedules, *function.one_time]
    for schedule in candidates:
        instant, why = _match(schedule, event)
        if instant is not None:
            return Occurrence(schedule.name, instant, dict(event))
        reasons.append(f"{schedule.name}: {why or 'no scheduled time'}")
    raise ScheduledPayloadError(
        f"{function.name}: not the payload of a schedule (keys {sorted(map(str, event))}; "
        + "; ".join(reasons)
        + ")"
    )


def run_once(occ: Occurrence, context: LambdaContext, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``work()`` once per occurrence; a repeated occurrence returns the first run's (JSON) result."""
    CONFIG.register_lambda_context(context)

    def run(occurrence: dict[str, str]) -> dict[str, Any]:
        return work()

    once = idempotent_function(
        data_keyword_argument="occurrence",
        persistence_store=persistence_store("scheduled-runs"),
        config=CONFIG,
        key_prefix="scheduled-run",
    )(run)
    instant = occ.scheduled_time.astimezone(UTC).isoformat()
    return once(occurrence={"schedule": occ.schedule, "scheduled_time": instant})
