"""The weekly report reads the waitlist bounded by what it shows (docs/adr/0023-bounded-report-reads.md):
counters of the open waits by day and index items of the waiting periods, maintained by the reporting
consumer in the transaction of each fact. Its figures must equal an independent recount from every
student's waitlist entry, whatever the order of the facts and whether a wait ended before, during or after
the report's week."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avdual.runtime import LocalRuntime
from contracts import events as ev
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.logic.figures import waitlist_rows
from services.reporting.logic.periods import LONG_WAIT_DAYS, ReportWeek
from services.reporting.logic.projection import Fact
from services.reporting.logic.reactions import apply_fact
from services.reporting.models.aggregates import WaitlistSlice, waitlist_slice
from tests.integration.test_reporting_service import PROFILE

AS_OF = datetime(2026, 11, 30, 6, tzinfo=UTC)  # Monday, 07:00 in Berlin
WEEK = ReportWeek.of(AS_OF, "last_week")
LIMIT = 8


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AggregateStore]:
    out: Path = tmp_path_factory.mktemp("bounded")
    with LocalRuntime(stage="bounded", log_level="ERROR", out_dir=out) as rt, rt.lock:
        store = AggregateStore()
        for fact in _facts(random.Random(15)):
            apply_fact(fact, store=store)
        yield store


def _facts(rnd: random.Random) -> list[Fact]:
    """60 students waiting from up to 40 days before the week's end, on a few days (ties of whole days),
    some placed before, during or after the week (a few of them waiting again), some only after its end;
    a third of them with their facts in reverse order."""
    out: list[Fact] = []
    for i in range(60):
        iid = f"01KW{i:022d}"
        start = WEEK.end_instant - timedelta(days=rnd.choice((-0.1, 1, 3, 8, 14.5, 15, 16, 22, 40)))
        start += timedelta(minutes=rnd.randint(0, 600))
        facts: list[Fact] = [
            ev.IntakeSubmittedData(intake_id=iid, submitted_at=start - timedelta(minutes=1), **PROFILE),
            ev.StudentWaitlistedData(intake_id=iid, waitlisted_at=start, reason="no_capacity", **PROFILE),
        ]
        if rnd.random() < 0.6:
            placed = min(start + timedelta(days=rnd.uniform(0.5, 30)), AS_OF - timedelta(minutes=5))
            facts.append(
                ev.CompanionAssignedData(
                    intake_id=iid, companion_id="B01", assigned_at=placed, cost=1.0, **PROFILE
                )
            )
            if rnd.random() < 0.3 and placed + timedelta(hours=2) < AS_OF:
                again = placed + timedelta(hours=rnd.uniform(1, (AS_OF - placed).total_seconds() / 3600))
                facts.append(
                    ev.StudentWaitlistedData(
                        intake_id=iid, waitlisted_at=again, reason="no_capacity", **PROFILE
                    )
                )
        out += reversed(facts) if i % 3 == 0 else facts
    return out


def _recount(store: AggregateStore, at: datetime, before: datetime) -> WaitlistSlice:
    return waitlist_slice(store.waitlist("2026/27"), at=at, instants=[before], long_days=LONG_WAIT_DAYS)


@pytest.mark.parametrize(
    ("at", "before"),
    [
        (WEEK.end_instant, WEEK.start_instant),  # the Monday report: waits ended since the week's end too
        (AS_OF, WEEK.end_instant),  # the running week, as the dashboard reads it
        (WEEK.start_instant, WEEK.start_instant - timedelta(days=7)),
    ],
)
def test_the_bounded_read_equals_a_recount_of_every_student(
    store: AggregateStore, at: datetime, before: datetime
) -> None:
    got = store.waitlist_slice("2026/27", at=at, instants=[before], long_days=LONG_WAIT_DAYS, limit=LIMIT)
    want = _recount(store, at, before)
    assert got.waiting == want.waiting and got.long == want.long
    assert want.waiting[at] > LIMIT and 0 < want.long[at] < want.waiting[at]  # the data test something
    assert waitlist_rows(got.longest, at)[:LIMIT] == waitlist_rows(want.longest, at)[:LIMIT]


def test_open_waits_are_indexed_and_counted_as_the_entries_say(store: AggregateStore) -> None:
    """Every open wait has its index item and its day counter, every ended one its index item; nothing
    else (what a withdrawn or placed student left behind is deleted in the same transaction)."""
    entries = store.waitlist("2026/27")
    open_keys = sorted(
        (w.intake_id, w.periods[-1][0]) for w in entries if w.periods and w.periods[-1][1] is None
    )
    indexed = store._query("waiting#2026/27")  # the index as stored
    assert sorted((i["sk"].split("#")[1], _instant(i["sk"].split("#")[0])) for i in indexed) == open_keys
    per_day = {i["sk"]: int(i["n"]) for i in store._query("waitopen#2026/27") if int(i["n"])}
    want: dict[str, int] = {}
    for _, start in open_keys:
        day = start.astimezone(UTC).date().isoformat()
        want[day] = want.get(day, 0) + 1
    assert per_day == want
    ended = sorted(i["sk"] for i in store._query("waited#2026/27"))
    assert len(ended) == sum(1 for w in entries for _, e in w.periods if e is not None)


def _instant(key: str) -> datetime:
    return datetime.strptime(key, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
