"""The outbox relay handler (common/outbox_relay.py) on DynamoDB stream events shaped as Lambda sends them
("Using AWS Lambda with Amazon DynamoDB", example event), with an in-memory EventBridge client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from avdual.runtime import FakeLambdaContext
from common import aws, outbox_relay
from common.event_bus import EventBridgePublisher
from contracts import events as ev
from contracts import outbox
from contracts.topology import TABLES

TABLE = TABLES["intake-outbox"]
PHYSICAL = "avdual-unit-intake-outbox"
STREAM_ARN = f"arn:aws:dynamodb:eu-central-1:123456789012:table/{PHYSICAL}/stream/2026-09-01T08:00:00.000"
METADATA = {
    "version": 1,
    "correlation_id": "c-1",
    "idempotency_key": "k",
    "occurred_at": "2026-09-01T08:00:00Z",
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(TABLE.env_var, PHYSICAL)
    monkeypatch.setenv("EVENT_BUS_NAME", "avdual-unit-bus")
    aws.reset()
    yield
    aws.reset()


class Events:
    """EventBridge client: records entries; rejects entries whose detail-type is in ``reject``."""

    def __init__(self, reject: tuple[str, ...] = ()) -> None:
        self.reject = reject
        self.entries: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        results = [
            {"ErrorCode": "ValidationException", "ErrorMessage": "rejected"}
            if e["DetailType"] in self.reject
            else {"EventId": str(len(self.entries))}
            for e in Entries
        ]
        self.entries += [e for e in Entries if e["DetailType"] not in self.reject]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def record(seq: int, detail_type: str = ev.INTAKE_SUBMITTED.detail_type, **image: Any) -> dict[str, Any]:
    key = {"S": f"{outbox.OUTBOX_KEY_PREFIX}{detail_type}:{seq}"}
    new_image = {
        TABLE.pk: key,
        outbox.OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": outbox.OUTBOX_RECORD_TYPE},
        outbox.OUTBOX_DETAIL_TYPE_ATTRIBUTE: {"S": detail_type},
        outbox.OUTBOX_METADATA_ATTRIBUTE: {"S": json.dumps({**METADATA, "idempotency_key": f"k-{seq}"})},
        outbox.OUTBOX_DATA_ATTRIBUTE: {"S": json.dumps({"intake_id": f"I{seq}", "languages": ["de"]})},
        **image,
    }
    return {
        "eventID": str(seq),
        "eventVersion": "1.1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1788249600.0,
            "Keys": {TABLE.pk: key},
            "NewImage": new_image,
            "SequenceNumber": f"{seq:021d}",
            "SizeBytes": 300,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "awsRegion": "eu-central-1",
        "eventName": "INSERT",
        "eventSourceARN": STREAM_ARN,
        "eventSource": "aws:dynamodb",
    }


def run(records: list[dict[str, Any]], client: Events) -> dict[str, Any]:
    publisher = EventBridgePublisher(client=client, attempts=1)
    return outbox_relay.relay({"Records": records}, FakeLambdaContext("intake-outbox-relay"), publisher)


def test_each_item_becomes_one_event_with_the_envelope_as_objects_in_stream_order() -> None:
    client = Events()
    assert run([record(1), record(2, ev.INTAKE_WITHDRAWN.detail_type)], client) == {"batchItemFailures": []}
    assert [e["DetailType"] for e in client.entries] == ["IntakeSubmitted", "IntakeWithdrawn"]
    first = client.entries[0]
    assert first["Source"] == "avdual.intake" and first["EventBusName"] == "avdual-unit-bus"
    detail = json.loads(first["Detail"])
    assert detail == {
        "metadata": {**METADATA, "idempotency_key": "k-1"},
        "data": {"intake_id": "I1", "languages": ["de"]},
    }
    assert isinstance(detail["metadata"], dict) and isinstance(detail["data"], dict)  # never JSON text


def test_a_later_failure_reports_it_and_everything_after_it_unpublished() -> None:
    client = Events(reject=(ev.INTAKE_UPDATED.detail_type,))
    batch = [record(1), record(2, ev.INTAKE_UPDATED.detail_type), record(3)]
    response = run(batch, client)
    assert response == {"batchItemFailures": [{"itemIdentifier": f"{n:021d}"} for n in (2, 3)]}
    assert [json.loads(e["Detail"])["data"]["intake_id"] for e in client.entries] == ["I1"]  # 3 not put


def test_a_failing_first_record_of_several_fails_the_invocation_so_lambda_bisects() -> None:
    client = Events()
    bad = record(1, **{outbox.OUTBOX_DATA_ATTRIBUTE: {"S": "{not json"}})
    with pytest.raises(outbox_relay.BatchHeadFailedError):
        run([bad, record(2)], client)
    assert client.entries == []


def test_a_single_bad_record_is_reported_not_raised() -> None:
    bad = record(1, **{outbox.OUTBOX_METADATA_ATTRIBUTE: {"S": "[]"}})  # JSON, but not an object
    assert run([bad], Events()) == {"batchItemFailures": [{"itemIdentifier": f"{1:021d}"}]}


def test_an_outbox_publishes_only_its_own_services_events() -> None:
    """An intake outbox item claiming a matching event is not put on the bus with intake's source."""
    client = Events()
    response = run([record(1, ev.COMPANION_ASSIGNED.detail_type)], client)
    assert response["batchItemFailures"] == [{"itemIdentifier": f"{1:021d}"}]
    assert client.entries == []


def test_records_of_a_table_unknown_to_the_function_are_reported() -> None:
    foreign = record(1)
    foreign["eventSourceARN"] = STREAM_ARN.replace(PHYSICAL, "someone-elses-table")
    assert run([foreign], Events())["batchItemFailures"] == [{"itemIdentifier": f"{1:021d}"}]


def test_renderer_rejects_what_is_not_an_outbox_item() -> None:
    publishes = (ev.INTAKE_SUBMITTED,)
    with pytest.raises(outbox.OutboxItemError):
        outbox.render_entry({"dynamodb": {"NewImage": {}}}, publishes, "bus")
    with pytest.raises(ValueError, match="exactly one source"):
        outbox.render_entry(record(1), (ev.INTAKE_SUBMITTED, ev.COMPANION_ASSIGNED), "bus")


def test_the_relay_renders_what_the_writer_wrote() -> None:
    """Writer (common/outbox.py) and renderer (contracts/outbox.py) agree: the item a service writes, as its
    stream record carries it (DynamoDB JSON), becomes the envelope the service built."""
    from datetime import UTC, datetime

    from boto3.dynamodb.types import TypeSerializer

    from common.events import OutgoingEvent
    from common.outbox import outbox_item

    data = ev.IntakeWithdrawnData(
        intake_id="01JABCDEFGHJKMNPQRSTVWXYZ0",
        school_id="RFS",
        school_year="2026/27",
        withdrawn_at=datetime(2026, 10, 1, 9, 30, tzinfo=UTC),
        reason="consent_withdrawn",
    )
    event = OutgoingEvent(
        ev.INTAKE_WITHDRAWN,
        data,
        idempotency_key="IntakeWithdrawn:1",
        correlation_id="c",
        occurred_at=data.withdrawn_at,
    )
    image = {k: TypeSerializer().serialize(v) for k, v in outbox_item("intake-outbox", event).items()}
    entry = outbox.render_entry({"dynamodb": {"NewImage": image}}, (ev.INTAKE_WITHDRAWN,), "bus")
    assert entry["Source"] == "avdual.intake" and entry["DetailType"] == "IntakeWithdrawn"
    assert json.loads(entry["Detail"]) == event.detail()
