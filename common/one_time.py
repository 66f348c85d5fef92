"""One-time schedules (EventBridge Scheduler ``at(...)``) that a function creates at run time, each invoking
its target function once and then deleted by the Scheduler (``ActionAfterCompletion: DELETE``). What to create
is declared in the topology (``contracts.topology.OneTimeSchedule``); the creator's environment variable holds
the deployed target (JSON: ``group``, ``target_arn``, ``role_arn``, ``dlq_arn``).

AWS: https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html (one-time schedules,
``at(yyyy-mm-ddThh:mm:ss)`` in ``ScheduleExpressionTimezone``; invoked with 60 s precision) and
https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-delete.html (deletion after
completion). A schedule's name is unique in its group: creating the same occurrence twice is a
``ConflictException`` and leaves the first – so a retried caller never causes a second invocation.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from common import aws, settings
from contracts.topology import OneTimeSchedule

#: Scheduler → Lambda retries of an occurrence (then the target's DLQ), as for the topology's schedules.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_SECONDS = 3600


def target(spec: OneTimeSchedule) -> dict[str, str]:
    """The deployed target of ``spec`` from the creator's environment (read per call, never at import)."""
    raw = os.environ.get(spec.env_var, "").strip()
    if not raw:
        raise settings.SettingMissingError(f"environment variable {spec.env_var} is not set")
    value: dict[str, str] = json.loads(raw)
    return value


def create(spec: OneTimeSchedule, at: datetime, *, client: Any | None = None) -> bool:
    """Create the occurrence of ``spec`` at ``at`` (an aware instant; seconds precision). True if created,
    False if it exists already (another delivery created it)."""
    t = target(spec)
    at_utc = at.astimezone(UTC)
    try:
        (client or aws.client("scheduler")).create_schedule(
            Name=spec.schedule_name(at_utc),
            GroupName=t["group"],
            ScheduleExpression=f"at({at_utc:%Y-%m-%dT%H:%M:%S})",
            ScheduleExpressionTimezone="UTC",
            FlexibleTimeWindow={"Mode": "OFF"},
            ActionAfterCompletion="DELETE",
            State="ENABLED",
            Description=spec.description[:512],
            Target={
                "Arn": t["target_arn"],
                "RoleArn": t["role_arn"],
                "Input": json.dumps(spec.payload, sort_keys=True),
                "DeadLetterConfig": {"Arn": t["dlq_arn"]},
                "RetryPolicy": {
                    "MaximumRetryAttempts": RETRY_ATTEMPTS,
                    "MaximumEventAgeInSeconds": MAX_EVENT_AGE_SECONDS,
                },
            },
        )
    except ClientError as e:
        if e.response["Error"]["Code"] == "ConflictException":
            return False
        raise
    return True
