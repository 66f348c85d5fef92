"""Alert digests on the runtime: waitlist and capacity alerts of a window (default 15 minutes) reach the
office as at most one e-mail per kind, sent by a one-time EventBridge Scheduler schedule at the window's end
(on moto, fired by the runtime's clock), with the all-clear for students placed meanwhile – pseudonymous ids
and classes only. The 14-day check stays daily."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import boto3
import pytest

from avdual.demo import submit_all
from avdual.runtime import LocalRuntime
from avdual.runtime.scheduler import one_time_instant
from avdual.scenario import load_intakes
from contracts import events as ev
from contracts.topology import ALERT_DIGEST, ALERT_DIGEST_MINUTES_ENV, SCHEDULED_TIME
from tests.conftest import OFFICE, companion
from tests.integration.test_reporting_service import (
    assigned,
    companion_updated,
    deliver,
    mails,
    new_id,
    submitted,
    waitlisted,
)

START = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # a Tuesday morning: no weekly report on the way


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="digest", log_level="ERROR", out_dir=tmp_path, clock_start=START) as runtime:
        yield runtime


def sent(rt: LocalRuntime, *, about: str = "") -> list[EmailMessage]:
    """The mails so far (subjects with folding whitespace collapsed); ``about``: whose subject contains it."""
    out = []
    for m in mails(rt):
        m.replace_header("Subject", " ".join(str(m["Subject"]).split()))
        if about in str(m["Subject"]):
            out.append(m)
    return out


def text(m: EmailMessage) -> str:
    return str(m.get_body(("plain",)).get_content())  # type: ignore[union-attr]


def one_time_schedules(rt: LocalRuntime) -> list[dict[str, object]]:
    scheduler = boto3.client("scheduler")
    group = rt.names[f"schedule-group:{ALERT_DIGEST.group}"]
    with rt.lock:
        names = [s["Name"] for s in scheduler.list_schedules(GroupName=group)["Schedules"]]
        return [scheduler.get_schedule(GroupName=group, Name=n) for n in names]


def test_forty_waitlistings_in_a_burst_give_one_email(rt: LocalRuntime) -> None:
    t0 = rt.clock.now()
    ids = [new_id() for _ in range(40)]
    for i, iid in enumerate(ids):  # 40 students in two minutes, in batches as SQS hands them over
        deliver(
            rt,
            submitted(iid, t0 + timedelta(seconds=3 * i)),
            waitlisted(iid, t0 + timedelta(seconds=3 * i + 1)),
        )
    assert sent(rt) == []  # nothing before the window ends
    (schedule,) = one_time_schedules(rt)  # one window, one schedule at its end
    end = one_time_instant(str(schedule["ScheduleExpression"]), str(schedule["ScheduleExpressionTimezone"]))
    assert end is not None and timedelta(minutes=15) - timedelta(seconds=1) <= end - (
        t0 + timedelta(seconds=1)
    )
    assert end - (t0 + timedelta(seconds=1)) <= timedelta(minutes=15)
    target = schedule["Target"]
    assert isinstance(target, dict)
    assert json.loads(target["Input"]) == ALERT_DIGEST.payload and SCHEDULED_TIME in target["Input"]
    assert schedule["ActionAfterCompletion"] == "DELETE" and target["Arn"].endswith("-reporting-checks")
    rt.advance(timedelta(minutes=10))
    assert sent(rt) == []  # 10 minutes on: the window is still open
    fired = rt.advance(timedelta(minutes=6))
    assert [n for _, n in fired] == [ALERT_DIGEST.schedule_name(end)]
    (m,) = sent(rt)
    assert str(m["Subject"]).startswith("[AV dual] Warteliste: 40 neu auf der Warteliste (")
    body = text(m)
    assert all(iid in body for iid in ids) and "Robert-Franck-Schule Ludwigsburg: 40 wartend" in body
    assert one_time_schedules(rt) == []  # deleted after it ran
    rt.advance(timedelta(hours=2))
    assert len(sent(rt, about="Warteliste")) == 1


def test_the_all_clear_lists_who_was_placed_after_the_office_was_told(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 2, at=rt.clock.now() - timedelta(hours=1))
    t0 = rt.clock.now()
    a, b, c = new_id(), new_id(), new_id()
    for i, iid in enumerate((a, b, c)):
        deliver(rt, submitted(iid, t0), waitlisted(iid, t0 + timedelta(seconds=i + 1)))
    rt.advance(timedelta(minutes=16))
    assert len(sent(rt)) == 1
    t1 = rt.clock.now()  # an hour later two places free up: a and b are placed
    deliver(
        rt, assigned(a, "B01", t1 + timedelta(minutes=60)), assigned(b, "B01", t1 + timedelta(minutes=61))
    )
    rt.advance(timedelta(minutes=80))
    subjects = [str(m["Subject"]) for m in sent(rt)]
    assert len([s for s in subjects if "Warteliste" in s]) == 2
    clear = sent(rt, about="Warteliste")[-1]
    assert "2 inzwischen zugeordnet" in str(clear["Subject"])
    body = text(clear)
    assert a in body and b in body and c not in body and "Entwarnung" in body and "AVd1a" in body
    assert "Zeynep" not in body  # pseudonymous ids and classes only


def test_alerts_resolved_within_their_window_send_nothing(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 5, at=rt.clock.now() - timedelta(hours=1))
    t0 = rt.clock.now()
    a, b = new_id(), new_id()
    deliver(rt, submitted(a, t0), waitlisted(a, t0 + timedelta(seconds=1)))
    deliver(rt, submitted(b, t0), waitlisted(b, t0 + timedelta(seconds=2)))
    deliver(rt, assigned(a, "B01", t0 + timedelta(minutes=3)), assigned(b, "B01", t0 + timedelta(minutes=4)))
    fired = rt.advance(timedelta(minutes=20))
    assert any(n.startswith(ALERT_DIGEST.name) for _, n in fired)
    assert sent(rt, about="Warteliste") == []  # both placed before the window ended: nobody needs to act


def test_a_late_alert_after_the_digest_goes_into_the_next_window(rt: LocalRuntime) -> None:
    t0 = rt.clock.now()
    a, b = new_id(), new_id()
    deliver(rt, submitted(a, t0), waitlisted(a, t0 + timedelta(seconds=1)))
    rt.advance(timedelta(minutes=16))
    # a fact of the first window that reaches reporting only now (a retry): not lost, no second mail at once
    deliver(rt, submitted(b, t0), waitlisted(b, t0 + timedelta(seconds=2)))
    assert len(sent(rt)) == 1
    rt.advance(timedelta(minutes=16))
    second = sent(rt)[1]
    assert b in text(second) and a not in text(second)
    ends = [m["Date"] for m in sent(rt)]
    assert len(ends) == 2


def test_capacity_alerts_of_several_companions_are_one_email(rt: LocalRuntime) -> None:
    t0 = rt.clock.now() - timedelta(hours=1)
    for cid in ("B01", "B02", "B03"):
        companion_updated(rt, cid, 1, at=t0)
    deliver(
        rt,
        *(
            assigned(new_id(), cid, rt.clock.now() + timedelta(minutes=i))
            for i, cid in enumerate(("B01", "B02", "B03"))
        ),
    )
    rt.advance(timedelta(minutes=20))
    (m,) = sent(rt)
    assert str(m["Subject"]).startswith("[AV dual] Auslastung: 3 Begleitungen voll ausgelastet (")
    assert all(cid in text(m) for cid in ("B01", "B02", "B03"))


def test_the_window_is_configurable(rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALERT_DIGEST_MINUTES_ENV, "5")
    t0 = rt.clock.now()
    iid = new_id()
    deliver(rt, submitted(iid, t0), waitlisted(iid, t0 + timedelta(seconds=1)))
    rt.advance(timedelta(minutes=4))
    assert sent(rt) == []
    rt.advance(timedelta(minutes=2))
    assert len(sent(rt)) == 1


def test_the_whole_system_under_duplicate_shuffled_delivery_sends_one_email_per_kind(tmp_path: Path) -> None:
    forms = [f for f in load_intakes() if f["school_id"] == "RFS"][:15]
    with LocalRuntime(
        stage="dup", log_level="ERROR", out_dir=tmp_path, duplicate=True, shuffle=True, clock_start=START
    ) as rt:
        assert rt.api("POST", "/companions", body=companion("B01", ["RFS"], 3), claims=OFFICE).status == 200
        rt.drain()
        submit_all(rt, forms, drain_every=4)  # every event delivered twice, in shuffled order
        rt.advance(timedelta(minutes=16))
        got = sorted(str(m["Subject"]) for m in mails(rt))
        assert len(got) == 2
        assert got[0].startswith("[AV dual] Auslastung: Begleitung B01 (B01) voll ausgelastet")
        assert got[1].startswith("[AV dual] Warteliste: 12 neu auf der Warteliste")
        summary = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()
        waitlist = rt.api("GET", "/waitlist", claims=OFFICE).json()
        kpi = {k["key"]: k for k in summary["kpis"]}
        assert kpi["waitlisted"]["end"] == summary["waitlist"]["waiting"] == len(waitlist) == 12


def test_the_daily_check_stays_daily(rt: LocalRuntime) -> None:
    t0 = rt.clock.now()
    iid = new_id()
    deliver(rt, submitted(iid, t0), waitlisted(iid, t0 + timedelta(seconds=1)))
    fired = rt.advance(timedelta(days=16))
    names = [n for _, n in fired]
    assert names.count("waiting-check") == 16 and len([n for n in names if n.startswith("alert-digest")]) == 1
    subjects = [str(m["Subject"]) for m in sent(rt) if "Wochenbericht" not in str(m["Subject"])]  # 2 Mondays
    assert len(subjects) == 2 and subjects[1].startswith("[AV dual] Wartezeit über 14 Tage")


def test_the_digest_is_named_by_its_waitlisted_event_type() -> None:
    assert ev.STUDENT_WAITLISTED.detail_type == "StudentWaitlisted"  # the alert kinds follow the facts
