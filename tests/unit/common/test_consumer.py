"""The SQS-buffered EventBridge consumer: each record's body is an EventBridge event whose ``detail`` is our
envelope; a record that is not one, names an unknown event or carries an invalid envelope is reported alone
in ``batchItemFailures``, and the rest of the batch is processed."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

from common.consumer import process_events
from common.events import OutgoingEvent
from contracts.events import INTAKE_SUBMITTED, INTAKE_WITHDRAWN, IntakeSubmittedData, Metadata

AT = datetime(2026, 9, 14, 8, 30, tzinfo=UTC)
INTAKE_ID = "01J8Z3Q4V5W6X7Y8Z9A0B1C2D3"


def submitted() -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=INTAKE_ID,
        submitted_at=AT,
        school_id="RFS",
        school_year="2026/27",
        class_name="AVD1",
        age_band="16",
        gender="divers",
    )
    return OutgoingEvent(INTAKE_SUBMITTED, data, f"intake#{INTAKE_ID}", "corr-1", AT)


def eventbridge_body(detail_type: str, detail: Any) -> str:
    """What EventBridge delivers to the queue (the rule's target is the whole event)."""
    return json.dumps(
        {
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type,
            "source": "avdual.intake",
            "account": "123456789012",
            "time": "2026-09-14T08:30:00Z",
            "region": "eu-central-1",
            "resources": [],
            "detail": detail,
        }
    )


def sqs_event(*bodies: str) -> dict[str, Any]:
    """An SQS batch as Lambda passes it (the example event of "Using Lambda with Amazon SQS")."""
    return {
        "Records": [
            {
                "messageId": f"m{i}",
                "receiptHandle": f"r{i}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1789374600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1789374600100",
                },
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:q",
                "awsRegion": "eu-central-1",
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_a_record_reaches_its_handler_with_metadata_and_data() -> None:
    seen: list[tuple[Metadata, Any]] = []
    event = sqs_event(eventbridge_body("IntakeSubmitted", submitted().detail()))
    out = process_events(event, None, {INTAKE_SUBMITTED: lambda m, d: seen.append((m, d))})  # type: ignore[arg-type]
    assert out == {"batchItemFailures": []}
    [(meta, data)] = seen
    assert (meta.idempotency_key, meta.version) == (f"intake#{INTAKE_ID}", 1)
    assert isinstance(data, IntakeSubmittedData) and data.intake_id == INTAKE_ID


def test_each_bad_record_fails_alone_and_the_rest_is_processed() -> None:
    good = eventbridge_body("IntakeSubmitted", submitted().detail())
    bad_envelope = submitted().detail() | {"data": {"intake_id": "zu kurz"}}
    event = sqs_event(
        "not json",  # m0
        json.dumps({"detail": {}}),  # m1: no detail-type
        eventbridge_body("IntakeSubmitted", "text"),  # m2: detail is not an object
        eventbridge_body("SomethingHappened", submitted().detail()),  # m3: not an event of the platform
        eventbridge_body(INTAKE_WITHDRAWN.detail_type, submitted().detail()),  # m4: not subscribed here
        eventbridge_body("IntakeSubmitted", bad_envelope),  # m5: invalid data
        good,  # m6
    )
    seen: list[str] = []
    out = process_events(event, None, {INTAKE_SUBMITTED: lambda m, d: seen.append(d.intake_id)})  # type: ignore[arg-type]
    assert out == {"batchItemFailures": [{"itemIdentifier": f"m{i}"} for i in range(6)]}
    assert seen == [INTAKE_ID]


FRESH = """
import json, sys
from common.consumer import process_events
from contracts.events import INTAKE_SUBMITTED
event = json.loads(sys.argv[1])
seen = []
answers = [process_events(event, None, {INTAKE_SUBMITTED: lambda m, d: seen.append(type(d).__name__)})
           for _ in range(2)]
print(json.dumps({"answers": answers, "seen": seen}))
"""


def test_the_first_batch_in_a_fresh_interpreter_is_handled_like_the_next() -> None:
    """The data models are resolved on first use (``contracts.event_catalog``): nothing is skipped then."""
    event = sqs_event(
        eventbridge_body("IntakeSubmitted", submitted().detail()),
        eventbridge_body("IntakeSubmitted", {"metadata": {}, "data": {}}),
    )
    out = subprocess.run(
        [sys.executable, "-c", FRESH, json.dumps(event)],
        env={k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")},
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["answers"] == [{"batchItemFailures": [{"itemIdentifier": "m1"}]}] * 2
    assert result["seen"] == ["IntakeSubmittedData"] * 2
