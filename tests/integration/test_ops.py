"""Operations against the embedded runtime and a (moto) AWS stage: every DLQ kind in health, listing and
redrive; archive replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from avdual import ops
from avdual.runtime import LocalRuntime
from common.events import OutgoingEvent
from common.outbox import outbox_puts
from contracts.events import INTAKE_SUBMITTED, IntakeSubmittedData
from contracts.operations import (
    TAG_DLQ_KIND,
    TAG_DLQ_OF,
    TAG_FUNCTION,
    TAG_QUEUE_OF,
    TAG_TABLE,
    dead_letter_queue_name,
)
from contracts.topology import FUNCTIONS, SUBSCRIPTIONS, outbox_tables
from services.reporting.dal.aggregates import counters_of
from tests.conftest import OFFICE, companion
from tests.relays import relay_of, relay_publishing_through

SECRET = "Zeynep-Secret"  # noqa: S105 - stands for personal data: must never appear in a listing


def _depth(url: str) -> int:
    a = boto3.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return int(a["Attributes"]["ApproximateNumberOfMessages"]) + int(
        a["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
    )


def _dlq(t: ops.OpsTarget, name: str) -> ops.DeadLetterQueue:
    return next(d for d in t.dead_letter_queues if d.name == name)


def test_every_dlq_of_the_topology_is_known_locally(rt: LocalRuntime) -> None:
    with rt.lock:
        t = rt.ops_target()
        h = ops.health(t)
    expected = {("subscription", s) for s in SUBSCRIPTIONS} | {("rule", s) for s in SUBSCRIPTIONS}
    expected |= {("relay", tb.name) for tb in outbox_tables()}
    expected |= {("async", f.name) for f in FUNCTIONS.values() if f.schedules}
    assert {(d.kind, d.of) for d in t.dead_letter_queues} == expected
    assert h["healthy"] and h["dead_letters"] == 0
    assert {k: set(v) for k, v in h["dead_letter_queues"].items()} == {
        kind: {dead_letter_queue_name(kind, of) for k, of in expected if k == kind} for kind, _ in expected
    }
    assert set(h["queues"]) == set(SUBSCRIPTIONS)


def test_subscription_dead_letters_listing_and_redrive(rt: LocalRuntime) -> None:
    rt.put_event_raw("avdual.intake", "IntakeSubmitted", {"metadata": {}, "data": {"bad": SECRET}})
    rt.drain()
    with rt.lock:
        target = rt.ops_target()
        h = ops.health(target)
        assert not h["healthy"]
        assert h["dead_letter_queues"]["subscription"]["matching-intake-events"] == 1
        rows = ops.list_dead_letters(target, kind="subscription")
        assert {r["dlq"] for r in rows} >= {"matching-intake-events"}
        assert all(r["detail_type"] == "IntakeSubmitted" and r["kind"] == "subscription" for r in rows)
        assert SECRET not in json.dumps(rows)  # no event data in listings
        moved = ops.redrive(target, "matching-intake-events")
        assert moved["matching-intake-events"]["moved"] == 1
        assert moved["matching-intake-events"]["remaining"] == 0
        assert ops.health(target)["queues"]["matching-intake-events"] == 1  # back in its source queue
    rt.drain()  # still poison: back in the DLQ after max_receive_count attempts
    with rt.lock:
        assert len(ops.list_dead_letters(rt.ops_target(), "matching-intake-events")) == 1


def test_rule_dead_letter_is_redriven_into_the_subscription_queue(rt: LocalRuntime) -> None:
    """EventBridge could not deliver an event to the reporting queue: its DLQ holds the event as the rule
    delivers it; redrive puts it into the subscription queue and the consumer gets it."""
    assert rt.api("POST", "/companions", body=companion("A", ["RFS"], 3), claims=OFFICE).status == 200
    rt.poll_streams()  # the event is on the bus and in every subscribed queue, not delivered yet
    with rt.lock:
        t = rt.ops_target()
        sqs = boto3.client("sqs")
        (msg,) = sqs.receive_message(QueueUrl=t.queues["reporting-events"], MaxNumberOfMessages=10)[
            "Messages"
        ]
        sqs.delete_message(QueueUrl=t.queues["reporting-events"], ReceiptHandle=msg["ReceiptHandle"])
        rule_dlq = _dlq(t, "reporting-events-rule")
        sqs.send_message(
            QueueUrl=rule_dlq.url,
            MessageBody=msg["Body"],
            MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "SQSQueueNotFound"}},
        )
    rt.drain()
    delivered = rt.stats.by_detail_type["CompanionUpdated"]
    with rt.lock:
        h = ops.health(t)
        assert not h["healthy"] and h["dead_letter_queues"]["rule"]["reporting-events-rule"] == 1
        (row,) = ops.list_dead_letters(t, kind="rule")
        assert (row["dlq"], row["detail_type"], row["source"]) == (
            "reporting-events-rule",
            "CompanionUpdated",
            "avdual.matching",
        )
        assert row["idempotency_key"] and row["error_code"] == "SQSQueueNotFound"
        assert "Begleitung A" not in json.dumps(row)
        result = ops.redrive(t, kind="rule")
        assert result["reporting-events-rule"] == {
            "kind": "rule",
            "moved": 1,
            "to": "queue reporting-events",
            "remaining": 0,
        }
        assert {n: r["moved"] for n, r in result.items() if n != "reporting-events-rule"} == dict.fromkeys(
            (f"{s}-rule" for s in SUBSCRIPTIONS if s != "reporting-events"), 0
        )
        (back,) = sqs.receive_message(QueueUrl=t.queues["reporting-events"], VisibilityTimeout=0)["Messages"]
        assert json.loads(back["Body"]) == json.loads(msg["Body"])  # the same body the rule delivers
    rt.drain()
    assert rt.stats.by_detail_type["CompanionUpdated"] == delivered + 1  # the consumer got it
    with rt.lock:
        assert ops.health(t)["healthy"]


def _outbox_event(n: int) -> OutgoingEvent:
    data = IntakeSubmittedData(
        intake_id=f"01JABCDEFGHJKMNPQRSTVWXYZ{n}",
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
        idempotency_key=f"IntakeSubmitted:{n}",
        correlation_id="test",
        occurred_at=data.submitted_at,
    )


def test_unrenderable_outbox_record_goes_to_the_relay_dlq_as_batch_metadata(rt: LocalRuntime) -> None:
    (put,) = outbox_puts("intake-outbox", [_outbox_event(1)])
    put["Put"]["Item"]["metadata"] = {"S": '{"broken": '}  # not JSON: the relay cannot render it
    put["Put"]["Item"]["data"] = {"S": json.dumps({"name": SECRET})}
    with rt.lock:
        boto3.client("dynamodb").transact_write_items(TransactItems=[put])
        t = rt.ops_target()
        relay_dlq = _dlq(t, "intake-outbox-relay")
        assert _depth(relay_dlq.url) == 0
    rt.drain()  # the relay does not get stuck on the poison record
    rt.drain()
    with rt.lock:
        assert _depth(relay_dlq.url) == 1  # described once, the stream position moved on
        h = ops.health(t)
        assert not h["healthy"] and h["dead_letters"] == 1
        assert h["dead_letter_queues"]["relay"]["intake-outbox-relay"] == 1
        (row,) = ops.list_dead_letters(t, kind="relay")
        assert row["shardId"] and row["startSequenceNumber"] == row["endSequenceNumber"]
        assert row["batchSize"] == 1 and row["condition"] == "RetryAttemptsExhausted"
        assert row["approximateInvokeCount"] == 1 + relay_of("intake-outbox").stream.max_retry_attempts  # type: ignore[union-attr]
        assert f"table/{rt.names['intake-outbox']}/stream/" in row["streamArn"]
        assert SECRET not in json.dumps(row)
        result = ops.redrive(t, "intake-outbox-relay")["intake-outbox-relay"]
        assert result["moved"] == 0 and result["remaining"] == 1  # nothing pretended
        assert "intake-outbox" in result["note"] and "ops republish" in result["note"]
        assert _depth(relay_dlq.url) == 1


class _RejectingEvents:
    """EventBridge that rejects every entry (``FailedEntryCount``), e.g. a detail over the size limit."""

    def __init__(self) -> None:
        self.calls = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [{"ErrorCode": "ValidationException", "ErrorMessage": "rejected"} for _ in Entries],
        }


def test_records_put_events_keeps_rejecting_go_to_the_relay_dlq(rt: LocalRuntime) -> None:
    rejecting = _RejectingEvents()
    retries = relay_of("intake-outbox").stream.max_retry_attempts  # type: ignore[union-attr]
    with relay_publishing_through(rt, "intake-outbox", rejecting, attempts=2), rt.lock:
        boto3.client("dynamodb").transact_write_items(
            TransactItems=outbox_puts("intake-outbox", [_outbox_event(2), _outbox_event(3)])
        )
        t = rt.ops_target()
        assert rt.poll_streams() == 2
        # the batch fails on its first record (2 attempts, the second record is not tried): bisected; then
        # each record alone, first try and every retry with 2 attempts each
        assert rejecting.calls == 2 + 2 * (1 + retries) * 2
        assert rt.poll_streams() == 0  # described in the DLQ, not read again
        rows = ops.list_dead_letters(t, "intake-outbox-relay")
        assert len(rows) == 2 and {r["condition"] for r in rows} == {"RetryAttemptsExhausted"}
        assert len({r["startSequenceNumber"] for r in rows}) == 2
        assert ops.health(t)["dead_letter_queues"]["relay"]["intake-outbox-relay"] == 2


def test_republish_puts_events_the_relay_dead_lettered_on_the_bus(rt: LocalRuntime, form: dict) -> None:
    """The way back from a relay DLQ: the outbox items of the window, rendered as the relay renders them."""
    assert rt.api("POST", "/companions", body=companion("A", ["RFS"], 3), claims=OFFICE).status == 200
    rt.drain()
    start = datetime.now(UTC) - timedelta(minutes=1)
    with relay_publishing_through(rt, "intake-outbox", _RejectingEvents(), attempts=1):
        r = rt.api("POST", "/intakes", body=form, claims=OFFICE)
        assert r.status == 201
        intake_id = r.json()["intake_id"]
        rt.drain()
    assert rt.scan("assignments") == []  # IntakeSubmitted never reached the bus: the relay gave up on it
    with rt.lock:
        t = rt.ops_target()
        relay_dlq = dead_letter_queue_name("relay", "intake-outbox")
        assert ops.health(t)["dead_letter_queues"]["relay"][relay_dlq] == 1
        with pytest.raises(ValueError, match="no outbox"):
            ops.republish(t, "intakes", start, datetime.now(UTC))
    # the cause is fixed (the relay publishes with the real client again)
    with rt.lock:
        done = ops.republish(t, "intake-outbox", start, datetime.now(UTC))
        assert done == {"table": "intake-outbox", "republished": 1, "by_detail_type": {"IntakeSubmitted": 1}}
        assert ops.republish(t, "intake-outbox", start - timedelta(hours=2), start)["republished"] == 0
    rt.drain()
    [a] = rt.scan("assignments")
    assert (a["intake_id"], a["status"], a["companion_id"]) == (intake_id, "assigned", "A")
    with rt.lock:  # again: a duplicate for every consumer, nothing changes
        assert ops.republish(t, "intake-outbox", start, datetime.now(UTC))["republished"] == 1
    rt.drain()
    assert [(x["intake_id"], x["status"]) for x in rt.scan("assignments")] == [(intake_id, "assigned")]
    assert rt.api("GET", f"/intakes/{intake_id}", claims=OFFICE).json()["status"] == "assigned"


def test_failed_scheduled_run_is_dead_lettered_listed_without_payload_and_redriven(rt: LocalRuntime) -> None:
    """As the Lambda service runs a scheduled invocation: 3 attempts, then the async DLQ; the redrive runs
    the handler again with the original payload (here: the weekly report of the original instant)."""
    real = rt.handler("reporting-renderer")
    calls: list[dict[str, Any]] = []

    def broken(event: dict[str, Any], context: Any) -> Any:
        calls.append(event)
        raise ConnectionError(f"S3 unreachable {SECRET}")

    rt._handlers["reporting-renderer"] = broken
    fired = rt.advance(timedelta(days=7))  # one Monday 07:00 in any 7 days
    (instant,) = [t for t, n in fired if n == "weekly-report"]
    assert len(calls) == 3 and all(c == calls[0] for c in calls)  # the first try and 2 retries
    with rt.lock:
        t = rt.ops_target()
        dlq = _dlq(t, "reporting-renderer-async")
        h = ops.health(t)
        assert not h["healthy"] and h["dead_letter_queues"]["async"]["reporting-renderer-async"] == 1
        (row,) = ops.list_dead_letters(t, kind="async")
        assert (row["dlq"], row["schedule"], row["scheduled_time"]) == (
            "reporting-renderer-async",
            "weekly-report",
            instant.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        assert row["error_code"] == "200"
        assert "last_week" not in json.dumps(row) and SECRET not in json.dumps(row)
        still = ops.redrive(t, kind="async")["reporting-renderer-async"]  # not fixed yet: stays
        assert (still["moved"], still["remaining"]) == (0, 1) and "erneut fehlgeschlagen" in still["note"]
        rt._handlers["reporting-renderer"] = real  # the cause is fixed
        done = ops.redrive(t, kind="async")["reporting-renderer-async"]
        assert (done["moved"], done["remaining"]) == (1, 0) and _depth(dlq.url) == 0
    rt.drain()
    reports = rt.api("GET", "/reports", claims=OFFICE).json()
    assert [r["report_type"] for r in reports] == ["weekly"]
    assert reports[0]["generated_at"].startswith(instant.strftime("%Y-%m-%dT%H:%M:%S"))


def test_unknown_dlq_name_or_kind_is_an_error(rt: LocalRuntime) -> None:
    with rt.lock:
        t = rt.ops_target()
        with pytest.raises(ValueError, match="unknown DLQ"):
            ops.redrive(t, "no-such-dlq")
        with pytest.raises(ValueError, match="unknown DLQ kind"):
            ops.list_dead_letters(t, kind="nope")


# ---------------------------------------------------------------------------- a deployed stage (moto)
class _Stack:
    """CloudFormation's ``list_stack_resources`` of ``AvDual-<stage>`` (moto cannot deploy the CDK
    template)."""

    def __init__(self, resources: list[tuple[str, str]]):
        self.resources = [
            {"ResourceType": rt, "PhysicalResourceId": pid, "LogicalResourceId": f"R{i}"}
            for i, (rt, pid) in enumerate(resources)
        ]
        self.stack: str | None = None

    def get_paginator(self, name: str) -> _Stack:
        assert name == "list_stack_resources"
        return self

    def paginate(self, StackName: str) -> Iterator[dict[str, Any]]:
        self.stack = StackName
        yield {"StackResourceSummaries": self.resources}


class _Lambda:
    """Lambda functions with their tags; records asynchronous invocations."""

    def __init__(self, tags: dict[str, str]):
        self.tags, self.invocations = tags, []  # physical name -> topology name

    def get_function(self, FunctionName: str) -> dict[str, Any]:
        return {
            "Configuration": {"FunctionName": FunctionName},
            "Tags": {TAG_FUNCTION: self.tags[FunctionName]},
        }

    def invoke(self, **kw: Any) -> dict[str, Any]:
        self.invocations.append(kw)
        return {"StatusCode": 202}


@pytest.fixture
def stage() -> Iterator[dict[str, Any]]:
    """The queues, bus and archive of a deployed stage, tagged as infra tags them (CDK-generated names)."""
    with mock_aws():
        sqs, events = boto3.client("sqs"), boto3.client("events")
        resources: list[tuple[str, str]] = []

        def queue(name: str, tags: dict[str, str]) -> str:
            url = sqs.create_queue(QueueName=f"AvDual-prod-{name}-A1B2C3", tags=tags)["QueueUrl"]
            resources.append(("AWS::SQS::Queue", url))
            return url

        for s in SUBSCRIPTIONS:
            queue(f"{s}Queue", {TAG_QUEUE_OF: s})
            queue(f"{s}Dlq", {TAG_DLQ_KIND: "subscription", TAG_DLQ_OF: s})
            queue(f"{s}RuleDlq", {TAG_DLQ_KIND: "rule", TAG_DLQ_OF: s})
        for tb in outbox_tables():
            queue(f"{tb.name}RelayDlq", {TAG_DLQ_KIND: "relay", TAG_DLQ_OF: tb.name})
        functions = {}
        for f in FUNCTIONS.values():
            if f.schedules:
                queue(f"{f.name}AsyncDlq", {TAG_DLQ_KIND: "async", TAG_DLQ_OF: f.name})
            functions[f"AvDual-prod-{f.name}-XYZ"] = f.name
            resources.append(("AWS::Lambda::Function", f"AvDual-prod-{f.name}-XYZ"))
        queue("Untagged", {})  # e.g. a queue added by hand: ignored
        ddb = boto3.client("dynamodb")
        for tb in outbox_tables():
            arn = ddb.create_table(
                TableName=f"AvDual-prod-{tb.name}-T1",
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": tb.pk, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": tb.pk, "KeyType": "HASH"}],
                Tags=[{"Key": TAG_TABLE, "Value": tb.name}],
            )["TableDescription"]["TableArn"]
            resources.append(("AWS::DynamoDB::Table", f"AvDual-prod-{tb.name}-T1"))
            assert arn
        bus_arn = events.create_event_bus(Name="avdual-prod")["EventBusArn"]
        events.create_archive(ArchiveName="avdual-prod-events", EventSourceArn=bus_arn)
        resources.append(("AWS::Events::EventBus", "avdual-prod"))
        cfn, lam = _Stack(resources), _Lambda(functions)
        target = ops.aws_target(
            "prod", clients={"cloudformation": cfn, "sqs": sqs, "events": events, "lambda": lam}
        )
        yield {"target": target, "cfn": cfn, "lambda": lam, "sqs": sqs}


def test_aws_target_finds_every_dlq_by_its_tags(stage: dict[str, Any]) -> None:
    t: ops.OpsTarget = stage["target"]
    assert stage["cfn"].stack == "AvDual-prod"
    assert len(t.dead_letter_queues) == 2 * len(SUBSCRIPTIONS) + len(outbox_tables()) + sum(
        1 for f in FUNCTIONS.values() if f.schedules
    )
    assert all("Untagged" not in d.url for d in t.dead_letter_queues)
    assert set(t.queues) == set(SUBSCRIPTIONS) and all("Queue" in u for u in t.queues.values())
    assert _dlq(t, "reporting-events-rule").url.endswith("reporting-eventsRuleDlq-A1B2C3")
    assert t.functions["reporting-renderer"] == "AvDual-prod-reporting-renderer-XYZ"
    assert t.archive_arn and t.archive_arn.endswith("avdual-prod-events")
    assert t.tables == {tb.name: f"AvDual-prod-{tb.name}-T1" for tb in outbox_tables()}
    assert ops.health(t)["healthy"]


def test_aws_redrive_reinvokes_async_and_moves_rule_dead_letters(stage: dict[str, Any]) -> None:
    t: ops.OpsTarget = stage["target"]
    sqs = stage["sqs"]
    payload = json.dumps({"check": "long_waits", "scheduled_time": "2026-11-30T05:00:00Z"})
    sqs.send_message(QueueUrl=_dlq(t, "reporting-checks-async").url, MessageBody=payload)
    event = json.dumps(
        {
            "version": "0",
            "id": "e-1",
            "detail-type": "CompanionUpdated",
            "source": "avdual.matching",
            "detail": {"metadata": {"idempotency_key": "k-1"}, "data": {"x": SECRET}},
        }
    )
    sqs.send_message(QueueUrl=_dlq(t, "matching-capacity-events-rule").url, MessageBody=event)
    h = ops.health(t)
    assert h["dead_letters"] == 2 and not h["healthy"]
    rows = ops.list_dead_letters(t)
    assert {(r["dlq"], r.get("schedule") or r.get("idempotency_key")) for r in rows} == {
        ("reporting-checks-async", "waiting-check"),
        ("matching-capacity-events-rule", "k-1"),
    }
    assert SECRET not in json.dumps(rows)

    result = ops.redrive(t, kind="async")
    assert (
        result["reporting-checks-async"]["moved"] == 1 and result["reporting-checks-async"]["remaining"] == 0
    )
    assert stage["lambda"].invocations == [
        {
            "FunctionName": "AvDual-prod-reporting-checks-XYZ",
            "InvocationType": "Event",
            "Payload": payload.encode(),
        }
    ]
    result = ops.redrive(t, "matching-capacity-events-rule")
    assert result == {
        "matching-capacity-events-rule": {
            "kind": "rule",
            "moved": 1,
            "remaining": 0,
            "to": "queue matching-capacity-events",
        }
    }
    (msg,) = sqs.receive_message(QueueUrl=t.queues["matching-capacity-events"])["Messages"]
    assert msg["Body"] == event
    assert ops.health(t)["dead_letters"] == 0


def test_replay_from_archive_is_harmless_for_idempotent_consumers(rt: LocalRuntime, form: dict) -> None:
    assert rt.api("POST", "/companions", body=companion("A", ["RFS"], 3), claims=OFFICE).status == 200
    start = datetime.now(UTC) - timedelta(minutes=5)
    assert rt.api("POST", "/intakes", body=form, claims=OFFICE).status == 201
    rt.drain()
    before_assign = {a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")}
    before_counters = counters_of(i for i in rt.scan("aggregates") if i["pk"].startswith("year#"))
    deliveries = rt.stats.deliveries
    with rt.lock:
        result = ops.replay(rt.ops_target(), start, datetime.now(UTC) + timedelta(minutes=1))
    assert result["state"] in ("STARTING", "RUNNING", "COMPLETED")
    rt.drain()
    assert rt.stats.deliveries > deliveries  # archived events were delivered again
    assert {
        a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")
    } == before_assign
    assert counters_of(i for i in rt.scan("aggregates") if i["pk"].startswith("year#")) == before_counters
