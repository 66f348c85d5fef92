"""Transactional outbox and its relay (a Lambda function on the table's stream, played by the runtime's event
source mapping): the event survives a crash after the write and a crashing relay, is relayed once with
the envelope as objects, failures are retried, a bad item is isolated."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from avdual import ops
from avdual.runtime import LocalRuntime
from common import settings
from common.event_bus import EventBridgePublisher
from common.events import OutgoingEvent, PublishError
from common.outbox import outbox_puts
from contracts.events import INTAKE_SUBMITTED, IntakeSubmittedData
from contracts.topology import SUBSCRIPTIONS, Subscription
from tests.relays import relay_of, relay_publishing_through

INTAKE_ID = "01JABCDEFGHJKMNPQRSTVWXYZ0"


def _event(intake_id: str = INTAKE_ID) -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=intake_id,
        school_id="RFS",
        school_year="2026/27",
        class_name="AVd1a",
        age_band="16",
        gender="weiblich",
        submitted_at=datetime.now(UTC),
    )
    return OutgoingEvent(
        INTAKE_SUBMITTED,
        data,
        idempotency_key=f"IntakeSubmitted:{intake_id}",
        correlation_id="test",
        occurred_at=data.submitted_at,
    )


def write_with_outbox(rt: LocalRuntime) -> None:
    """Business item + outbox item in one transaction, and *no* direct publish (the 'crash' point)."""
    business = {
        "Put": {
            "TableName": settings.table_name("intakes"),
            "Item": {"intake_id": {"S": INTAKE_ID}, "school_id": {"S": "RFS"}},
        }
    }
    with rt.lock:
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[business, *outbox_puts("intake-outbox", [_event()])]
        )


def delivered(rt: LocalRuntime, detail_type: str) -> int:
    return rt.stats.by_detail_type[detail_type]


def _subscribers() -> list[Subscription]:
    """The subscriptions that receive IntakeSubmitted."""
    return [s for s in SUBSCRIPTIONS.values() if INTAKE_SUBMITTED in s.events]


class FlakyEvents:
    """An EventBridge client whose first ``fail_calls`` PutEvents calls fail (all entries, or just one)."""

    def __init__(self, fail_calls: int, partial: bool = False):
        self.real = boto3.client("events")
        self.fail_calls, self.partial, self.calls = fail_calls, partial, 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if self.calls > self.fail_calls:
            return self.real.put_events(Entries=Entries)
        if not self.partial:
            raise ConnectionError("EventBridge unreachable (injected)")
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [{"ErrorCode": "InternalFailure", "ErrorMessage": "injected"} for _ in Entries],
        }


def test_event_written_to_the_outbox_arrives_once(rt: LocalRuntime) -> None:
    write_with_outbox(rt)
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == len(_subscribers())
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == len(_subscribers())  # relayed once, not again


def test_relay_killed_before_publishing_does_not_lose_the_event(rt: LocalRuntime) -> None:
    """The relay crashes (timeout, out of memory) before PutEvents: its invocation fails, the event source
    mapping keeps the stream position and invokes it again."""
    write_with_outbox(rt)
    name = relay_of("intake-outbox").name
    real, crashes = rt.handler(name), []

    def crashing_once(event: dict[str, Any], context: Any) -> Any:
        if not crashes:
            crashes.append(len(event["Records"]))
            raise TimeoutError("Task timed out (injected)")
        return real(event, context)

    rt._handlers[name] = crashing_once
    try:
        rt.drain()
    finally:
        rt._handlers[name] = real
    assert crashes == [1]
    assert delivered(rt, "IntakeSubmitted") == len(_subscribers())  # once per subscription, not lost
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == len(_subscribers())


def test_put_events_failing_once_is_retried_by_the_event_source_mapping(rt: LocalRuntime) -> None:
    write_with_outbox(rt)
    client = FlakyEvents(fail_calls=1)  # EventBridge unreachable for the relay's first PutEvents
    with relay_publishing_through(rt, "intake-outbox", client, attempts=1):
        rt.drain()
    assert client.calls == 2
    assert delivered(rt, "IntakeSubmitted") == len(_subscribers())


def test_consumers_get_metadata_and_data_as_objects(rt: LocalRuntime) -> None:
    """The envelope's halves arrive as JSON objects (the outbox item holds them as JSON text; a Pipes input
    template would have delivered strings)."""
    seen: list[dict[str, Any]] = []
    real = rt.handler("matching-consumer")

    def spy(event: dict[str, Any], context: Any) -> Any:
        seen.extend(json.loads(r["body"]) for r in event["Records"])
        return real(event, context)

    rt._handlers["matching-consumer"] = spy
    try:
        write_with_outbox(rt)
        rt.drain()
    finally:
        rt._handlers["matching-consumer"] = real
    (event,) = seen
    assert (event["source"], event["detail-type"]) == ("avdual.intake", "IntakeSubmitted")
    assert isinstance(event["detail"]["metadata"], dict) and isinstance(event["detail"]["data"], dict)
    assert event["detail"]["metadata"]["idempotency_key"] == f"IntakeSubmitted:{INTAKE_ID}"
    assert event["detail"]["data"]["intake_id"] == INTAKE_ID


def test_the_relay_gets_real_shaped_dynamodb_stream_events_of_inserted_outbox_items(rt: LocalRuntime) -> None:
    """As Lambda invokes a function from a DynamoDB event source mapping ("Using AWS Lambda with Amazon
    DynamoDB", example event); records the mapping's filter does not pass never reach the relay."""
    name = relay_of("intake-outbox").name
    events: list[dict[str, Any]] = []
    real = rt.handler(name)

    def spy(event: dict[str, Any], context: Any) -> Any:
        events.append(json.loads(json.dumps(event)))  # what Lambda sends is JSON
        return real(event, context)

    rt._handlers[name] = spy
    table = settings.table_name("intake-outbox")
    try:
        with rt.lock:  # not outbox items: another item, then an update and the TTL deletion of an outbox item
            ddb = boto3.client("dynamodb")
            ddb.put_item(TableName=table, Item={"id": {"S": "lease#1"}, "record_type": {"S": "lease"}})
        write_with_outbox(rt)
        with rt.lock:
            key = {"id": {"S": f"outbox#IntakeSubmitted:{INTAKE_ID}"}}
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression="SET note = :n",
                ExpressionAttributeValues={":n": {"S": "x"}},
            )
            ddb.delete_item(TableName=table, Key=key)
        rt.drain()
    finally:
        rt._handlers[name] = real
    (event,) = events
    (record,) = event["Records"]
    assert record["eventSource"] == "aws:dynamodb" and record["eventName"] == "INSERT"
    assert record["awsRegion"] == "eu-central-1"
    assert re.fullmatch(
        rf"arn:aws:dynamodb:eu-central-1:\d{{12}}:table/{table}/stream/.+", record["eventSourceARN"]
    )
    ddb_part = record["dynamodb"]
    assert ddb_part["Keys"] == {"id": {"S": f"outbox#IntakeSubmitted:{INTAKE_ID}"}}
    assert ddb_part["NewImage"]["record_type"] == {"S": "outbox"}
    assert json.loads(ddb_part["NewImage"]["data"]["S"])["intake_id"] == INTAKE_ID  # DynamoDB JSON
    assert isinstance(ddb_part["SequenceNumber"], str) and ddb_part["SequenceNumber"].isdigit()
    assert isinstance(ddb_part["ApproximateCreationDateTime"], float)
    assert ddb_part["StreamViewType"] == "NEW_AND_OLD_IMAGES"


def test_a_bad_outbox_item_is_isolated_the_others_are_relayed(rt: LocalRuntime) -> None:
    """One unrenderable item among good ones: the failing batch is bisected until the bad item is alone;
    the good ones are relayed, only the bad one's position reaches the DLQ."""
    good = [_event(f"01JABCDEFGHJKMNPQRSTVWXYZ{n}") for n in range(1, 5)]
    puts = outbox_puts("intake-outbox", good)
    puts[1]["Put"]["Item"]["data"] = {"S": "{no json"}
    with rt.lock:
        boto3.client("dynamodb").transact_write_items(TransactItems=puts)
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == 3 * len(_subscribers())
    with rt.lock:
        target = rt.ops_target()
        (row,) = ops.list_dead_letters(target, kind="relay")
    assert row["batchSize"] == 1 and row["startSequenceNumber"] == row["endSequenceNumber"]


def test_put_events_partial_failure_is_retried_not_ignored(rt: LocalRuntime) -> None:
    client = FlakyEvents(fail_calls=1, partial=True)
    EventBridgePublisher(client=client, bus_name=rt.names["bus"]).publish([_event()])
    assert client.calls == 2  # failed entry retried
    always_failing = FlakyEvents(fail_calls=99, partial=True)
    with pytest.raises(PublishError):
        EventBridgePublisher(client=always_failing, bus_name=rt.names["bus"], attempts=3).publish([_event()])
    assert always_failing.calls == 3


def test_retried_transaction_cannot_publish_twice(rt: LocalRuntime) -> None:
    write_with_outbox(rt)
    with pytest.raises(Exception, match=r"TransactionCanceled|ConditionalCheckFailed"), rt.lock:
        boto3.client("dynamodb").transact_write_items(TransactItems=outbox_puts("intake-outbox", [_event()]))
