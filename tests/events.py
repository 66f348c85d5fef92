"""Test helper: a fact as the SQS record a consumer receives (EventBridge envelope in the body)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from avdual.runtime import ACCOUNT, REGION
from common.events import OutgoingEvent
from contracts.events import EventSpec

#: The time field of each event's data, in the order they are looked up.
TIME_FIELDS = (
    "submitted_at",
    "waitlisted_at",
    "assigned_at",
    "ended_at",
    "withdrawn_at",
    "updated_at",
    "reassigned_at",
    "recorded_at",
)


def sqs_record(spec: EventSpec, data: Any, correlation_id: str = "test") -> dict[str, Any]:
    """``data`` of ``spec`` in the envelope, as EventBridge → SQS delivers it (idempotency key from its id and
    time)."""
    at = next(getattr(data, f) for f in TIME_FIELDS if hasattr(data, f))
    ident = getattr(data, "intake_id", None) or data.companion_id
    key = f"{spec.detail_type}:{ident}:{at.isoformat()}"
    detail = OutgoingEvent(spec, data, key, correlation_id, at).detail()
    body = json.dumps(
        {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": spec.detail_type,
            "source": spec.source.value,
            "account": ACCOUNT,
            "time": at.isoformat(),
            "region": REGION,
            "resources": [],
            "detail": detail,
        }
    )
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "r",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": ACCOUNT,
            "ApproximateFirstReceiveTimestamp": "0",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum, not security
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:reporting-events",
        "awsRegion": REGION,
    }
