"""Scheduled handlers accept exactly what their topology schedules send, and run once per occurrence.

For every function with schedules and every schedule: the payload EventBridge Scheduler sends (the
topology's payload with ``<aws.scheduler.scheduled-time>`` replaced by an instant) runs; the same
occurrence again (a retry, a redrive) returns the first result and renders, stores, mails and announces
nothing new. Every other shape – ``{}``, an EventBridge "Scheduled Event" envelope, a key missing or
added, a fixed value changed, the placeholder left in, a time without offset or not a time – is refused
with :class:`ScheduledPayloadError` before anything is rendered, stored, mailed or published.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from avdual.runtime import ACCOUNT, REGION, LocalRuntime
from common.scheduled import ScheduledPayloadError
from contracts.topology import BUCKETS, FUNCTIONS, SCHEDULED_TIME

AT = datetime(2026, 12, 7, 6, tzinfo=UTC)
SCHEDULES = [(f.name, s.name) for f in FUNCTIONS.values() for s in f.schedules]


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="sched", log_level="CRITICAL") as runtime:
        yield runtime


def effects(rt: LocalRuntime) -> dict[str, int]:
    """What a run leaves behind: mails sent, report files, events published, report index entries."""
    from moto.ses.models import ses_backends

    s3 = boto3.client("s3")
    files = sum(
        len(page.get("Contents", []))
        for b in BUCKETS.values()
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=rt.names[b.name])
    )
    return {
        "mails": len(ses_backends[ACCOUNT][REGION].sent_messages),
        "files": files,
        "outbox": len(rt.scan("matching-outbox")),
        "reports": sum(1 for i in rt.scan("aggregates") if i["pk"] in ("reports", "reportrun")),
        "published": rt.api_calls.get("events.PutEvents", 0),
    }


def hostile_variants(payload: dict[str, Any], instant: str) -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = [
        ("empty object", {}),
        ("not an object", [payload]),
        (
            "EventBridge Scheduled Event envelope",
            {
                "version": "0",
                "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
                "detail-type": "Scheduled Event",
                "source": "aws.events",
                "account": ACCOUNT,
                "time": instant,
                "region": REGION,
                "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/weekly"],
                "detail": {},
            },
        ),
        ("payload inside an envelope", {"detail-type": "Scheduled Event", "detail": payload}),
        ("extra key", {**payload, "email": False}),
    ]
    for key, value in payload.items():
        out.append((f"without {key}", {k: v for k, v in payload.items() if k != key}))
        if value == instant:
            for bad in (
                SCHEDULED_TIME,
                "2026-12-07T06:00:00",
                "2026-12-07",
                "07.12.2026 07:00",
                "2026-13-07T06:00:00Z",
                "",
                None,
                1796623200,
            ):
                out.append((f"{key}={bad!r}", {**payload, key: bad}))
        else:
            out.append((f"{key} changed", {**payload, key: f"{value}x"}))
            out.append((f"{key} not a string", {**payload, key: [value]}))
    return out


@pytest.mark.parametrize(("function", "schedule"), SCHEDULES, ids=[f"{f}:{s}" for f, s in SCHEDULES])
def test_the_schedule_payload_runs_once_per_occurrence(
    rt: LocalRuntime, function: str, schedule: str
) -> None:
    payload = rt.schedule_payload(function, schedule, at=AT)
    first = rt.invoke(function, payload)
    after_first = effects(rt)
    calls = Counter(rt.api_calls)
    again = rt.invoke(function, dict(reversed(payload.items())))  # a retry; key order does not matter
    assert again == first
    assert effects(rt) == after_first, "a repeated occurrence rendered, stored, mailed or published again"
    # the work did not even start: the only AWS calls are the idempotency record's (claim fails, read)
    assert set(Counter(rt.api_calls) - calls) <= {"dynamodb.PutItem", "dynamodb.GetItem"}
    # the same instant written with another offset is the same occurrence
    other_offset = {
        k: ("2026-12-07T07:00:00+01:00" if k == "scheduled_time" else v) for k, v in payload.items()
    }
    assert rt.invoke(function, other_offset) == first and effects(rt) == after_first
    # the next occurrence runs
    later = rt.schedule_payload(function, schedule, at=AT.replace(day=14))
    rt.invoke(function, later)


@pytest.mark.parametrize(("function", "schedule"), SCHEDULES, ids=[f"{f}:{s}" for f, s in SCHEDULES])
def test_every_other_shape_is_refused_before_any_work(rt: LocalRuntime, function: str, schedule: str) -> None:
    payload = rt.schedule_payload(function, schedule, at=AT.replace(month=11, day=30))
    instant = payload["scheduled_time"]
    before = effects(rt)
    variants = hostile_variants(payload, instant)
    for name, event in variants:
        with pytest.raises(ScheduledPayloadError):
            rt.invoke(function, event)  # type: ignore[arg-type]
        assert effects(rt) == before, name
    assert len(variants) >= 12


def test_a_failed_run_is_run_again_by_its_retry(rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    """No record is kept for a run that raised: the retry renders (and the run key finishes the report)."""
    from services.reporting.logic import publish

    payload = rt.schedule_payload(
        "reporting-renderer", "weekly-report", at=datetime(2027, 1, 4, 6, tzinfo=UTC)
    )
    real = publish.mail.send_mail

    def broken(*a: Any, **kw: Any) -> Any:
        raise ConnectionError("SES unavailable")

    monkeypatch.setattr(publish.mail, "send_mail", broken)
    with pytest.raises(ConnectionError):
        rt.invoke("reporting-renderer", payload)
    monkeypatch.setattr(publish.mail, "send_mail", real)
    mails = effects(rt)["mails"]
    first = rt.invoke("reporting-renderer", payload)
    assert effects(rt)["mails"] == mails + 1
    assert rt.invoke("reporting-renderer", payload) == first and effects(rt)["mails"] == mails + 1


def test_every_schedule_payload_carries_its_scheduled_time() -> None:
    """The occurrence key needs the scheduled time in every payload the topology declares."""
    for f in FUNCTIONS.values():
        for s in f.schedules:
            assert list(s.payload.values()).count(SCHEDULED_TIME) == 1, (f.name, s.name)
            assert s.payload.get("scheduled_time") == SCHEDULED_TIME, (f.name, s.name)
