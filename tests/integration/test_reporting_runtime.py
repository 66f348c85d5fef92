"""What the embedded runtime does for reporting: schedules on a simulated clock, SES mail to ``out/mail``,
report files to ``out/reports``, and moto transactions that stay all-or-nothing with item backups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.events.models import events_backends

from avdual.runtime import ACCOUNT, REGION, LocalRuntime, schedule_times
from contracts.topology import FUNCTIONS, SCHEDULED_TIME, Schedule


def sched(name: str) -> Schedule:
    return next(s for f in FUNCTIONS.values() for s in f.schedules if s.name == name)


def test_cron_schedules_fire_in_local_time_across_daylight_saving() -> None:
    weekly = schedule_times(
        sched("weekly-report"), datetime(2027, 3, 20, tzinfo=UTC), datetime(2027, 4, 6, tzinfo=UTC)
    )
    assert weekly == [
        datetime(2027, 3, 22, 6, tzinfo=UTC),  # Monday 07:00 CET
        datetime(2027, 3, 29, 5, tzinfo=UTC),  # Monday 07:00 CEST
        datetime(2027, 4, 5, 5, tzinfo=UTC),
    ]
    yearly = schedule_times(
        sched("school-year-report"), datetime(2026, 8, 1, tzinfo=UTC), datetime(2028, 8, 1, tzinfo=UTC)
    )
    assert yearly == [datetime(2027, 7, 31, 5, tzinfo=UTC), datetime(2028, 7, 31, 5, tzinfo=UTC)]
    daily = schedule_times(
        sched("waiting-check"),
        datetime(2026, 12, 1, 4, 59, tzinfo=UTC),
        datetime(2026, 12, 3, 5, 0, tzinfo=UTC),
    )
    assert daily == [
        datetime(2026, 12, 1, 5, tzinfo=UTC),
        datetime(2026, 12, 2, 5, tzinfo=UTC),
        datetime(2026, 12, 3, 5, tzinfo=UTC),
    ]
    assert SCHEDULED_TIME in sched("weekly-report").payload.values()


def test_advance_fires_due_schedules_in_order_and_moves_the_clock(tmp_path: Path) -> None:
    with LocalRuntime(stage="clock", log_level="ERROR", out_dir=tmp_path) as rt:
        before = rt.clock.now()
        fired = rt.advance(timedelta(days=7))  # (now, now + 7 d]: exactly one Monday 07:00
        assert rt.clock.now() - before >= timedelta(days=7)
        times = [t for t, _ in fired]
        assert times == sorted(times) and all(before < t <= rt.clock.now() for t in times)
        names = [n for _, n in fired]
        assert names.count("weekly-report") == 1 and names.count("waiting-check") == 7
        reports = rt.api("GET", "/reports", claims={"sub": "o", "cognito:groups": "office"}).json()
        assert len(reports) == 1 and reports[0]["generated_at"].startswith(
            next(t for t, n in fired if n == "weekly-report").strftime("%Y-%m-%dT%H:%M:%S")
        )
        assert len(list((tmp_path / "reports").glob("weekly-*"))) == 3  # html, pdf, xlsx
        assert [p.suffix for p in (tmp_path / "mail").glob("*.eml")] == [".eml"]
        req = rt.api("GET", "/dashboard/summary", claims={"sub": "o", "cognito:groups": "office"}).json()
        assert datetime.fromisoformat(req["as_of"]) > before + timedelta(days=7)  # API time follows the clock


@pytest.fixture
def table(rt: LocalRuntime) -> str:
    ddb = boto3.client("dynamodb")
    with rt.lock:
        ddb.create_table(
            TableName="tx",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        )
        for i in range(3):
            ddb.put_item(TableName="tx", Item={"pk": {"S": "p"}, "sk": {"S": f"{i}"}, "n": {"N": "1"}})
    return "tx"


def _items(name: str) -> dict[str, int]:
    resp = boto3.client("dynamodb").scan(TableName=name)
    return {i["sk"]["S"]: int(i["n"]["N"]) for i in resp["Items"]}


def test_a_cancelled_transaction_leaves_every_item_and_the_stream_as_before(
    rt: LocalRuntime, table: str
) -> None:
    from moto.dynamodb.models import dynamodb_backends

    with rt.lock:
        shard = dynamodb_backends["123456789012"]["eu-central-1"].tables[table].stream_shard
        before, records = _items(table), len(shard.items)
        with pytest.raises(ClientError) as e:
            boto3.client("dynamodb").transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "p"}, "sk": {"S": "0"}},
                            "UpdateExpression": "ADD n :one",
                            "ExpressionAttributeValues": {":one": {"N": "1"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}, "n": {"N": "7"}},
                        }
                    },
                    {"Delete": {"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"S": "1"}}}},
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "p"}, "sk": {"S": "2"}},
                            "UpdateExpression": "ADD n :one",
                            "ConditionExpression": "n = :five",
                            "ExpressionAttributeValues": {":one": {"N": "1"}, ":five": {"N": "5"}},
                        }
                    },
                ]
            )
        assert e.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert _items(table) == before and len(shard.items) == records
        boto3.client("dynamodb").transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"pk": {"S": "p"}, "sk": {"S": "0"}},
                        "UpdateExpression": "ADD n :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                },
                {
                    "Put": {
                        "TableName": table,
                        "Item": {"pk": {"S": "p"}, "sk": {"S": "new"}, "n": {"N": "7"}},
                    }
                },
            ]
        )
        assert _items(table) == {**before, "0": 2, "new": 7} and len(shard.items) == records + 2


def _published(report_id: str) -> list[dict[str, Any]]:
    """The ``ReportPublished`` events of ``report_id`` that reached the bus (the platform's event archive)."""
    return [
        e
        for archive in events_backends[ACCOUNT][REGION].archives.values()
        for e in archive.events
        if e.get("detail-type") == "ReportPublished" and e["detail"]["data"]["report_id"] == report_id
    ]


def test_reports_are_announced_through_the_reporting_outbox_once() -> None:
    """Reporting publishes like intake and matching: ``ReportPublished`` goes into ``reporting-outbox`` in the
    transaction that marks the report published, and the relay puts it on the bus — once, also when the
    scheduled run is delivered again."""
    office = {"sub": "o", "cognito:groups": "office"}
    with LocalRuntime(stage="announce", log_level="ERROR") as rt:
        r = rt.api("POST", "/reports", body={"report_type": "weekly", "period": "this_week"}, claims=office)
        assert r.status == 201, r.body
        report_id = r.json()["report_id"]
        outbox = [i for i in rt.scan("reporting-outbox") if i.get("record_type") == "outbox"]
        assert [(i["detail_type"], i["id"]) for i in outbox] == [
            ("ReportPublished", f"outbox#ReportPublished:{report_id}")
        ]
        assert _published(report_id) == []  # not put on the bus directly: the relay does
        rt.drain()
        (event,) = _published(report_id)
        assert event["source"] == "avdual.reporting" and event["detail"]["metadata"]["occurred_at"]

        at = rt.clock.now()
        first = rt.run_schedule("reporting-renderer", "weekly-report", at)
        rt.drain()
        # the same occurrence again (EventBridge Scheduler delivers at least once): no second announcement
        assert rt.run_schedule("reporting-renderer", "weekly-report", at) == first
        rt.drain()
        assert len(_published(first["report_id"])) == 1


class _MailDown:
    """A mail sender that fails (SES unreachable) until ``up`` is set."""

    up = False

    def send(self, raw: bytes, *, to: str, sender: str) -> str:
        if not self.up:
            raise ConnectionError("SES unreachable (injected)")
        return "message-id"


def test_a_run_retried_after_its_announcement_mails_without_announcing_again() -> None:
    from services.reporting.dal.aggregates import AggregateStore, ReportStore
    from services.reporting.logic.publish import publish_report

    with LocalRuntime(stage="announce-retry", log_level="ERROR") as rt:
        rt.handler("reporting-renderer")  # the function's environment
        at, mailer = rt.clock.now(), _MailDown()
        run = {
            "report_type": "weekly",
            "school_year": "2026/27",
            "as_of": at,
            "period": "last_week",
            "correlation_id": "retry",
            "run_key": f"weekly#2026/27#{at.isoformat()}",
            "now": at,
        }
        with rt.lock:
            store, reports = AggregateStore(), ReportStore()
            with pytest.raises(ConnectionError):
                publish_report(store=store, reports=reports, mailer=mailer, **run)  # announced, not mailed
            mailer.up = True
            done = publish_report(store=store, reports=reports, mailer=mailer, **run)
        assert done.mailed and done.record.state == "mailed"
        rt.drain()
        assert len(_published(done.record.report_id)) == 1
        assert sum(1 for i in rt.scan("reporting-outbox") if i.get("detail_type") == "ReportPublished") == 1
