"""Transactional outbox: the event survives a crash after the write, is relayed once, partial failures
retried."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from avdual.runtime import LocalRuntime
from common import settings
from common.events import EventBridgePublisher, OutgoingEvent, PublishError
from common.outbox import outbox_puts
from contracts.events import INTAKE_SUBMITTED, IntakeSubmittedData

INTAKE_ID = "01JABCDEFGHJKMNPQRSTVWXYZ0"


def _event() -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=INTAKE_ID,
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
        idempotency_key=f"IntakeSubmitted:{INTAKE_ID}",
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
    # matching + reporting + intake-consumer subscriptions that listen to IntakeSubmitted
    from contracts.topology import SUBSCRIPTIONS

    subscribers = sum(1 for s in SUBSCRIPTIONS.values() if INTAKE_SUBMITTED in s.events)
    assert delivered(rt, "IntakeSubmitted") == subscribers
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == subscribers  # relayed once, not again


def test_publish_killed_after_the_write_does_not_lose_the_event(rt: LocalRuntime) -> None:
    write_with_outbox(rt)
    rt.pipe_publisher = EventBridgePublisher(client=FlakyEvents(fail_calls=1), bus_name=rt.names["bus"])
    with pytest.raises(ConnectionError):
        rt.pump_outboxes()  # the relay dies before PutEvents succeeded
    assert delivered(rt, "IntakeSubmitted") == 0
    rt.drain()  # relay restarts from the unacknowledged stream position
    assert delivered(rt, "IntakeSubmitted") >= 1
    before = delivered(rt, "IntakeSubmitted")
    rt.drain()
    assert delivered(rt, "IntakeSubmitted") == before


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
