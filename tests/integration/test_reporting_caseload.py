"""The reports read the companion registry bounded by what they show (docs/adr/0023-bounded-report-reads.md):
the registry's totals (companions, capacity, FTE, FTE per school, companions per capacity) are one item,
kept with ``ADD`` in the transaction of each registry change, conditional on the version of the companion's
item it read. The totals must equal an independent recount from the latest update of every companion,
whatever the order of the updates and however often each is delivered."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avdual.runtime import LocalRuntime
from contracts.reference import SCHOOLS
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.models.aggregates import CompanionInfo

COMPANIONS = [f"B{c:02d}" for c in range(30)]
SCHOOL_IDS = list(SCHOOLS)
T0 = datetime(2026, 8, 3, 7, tzinfo=UTC)


def _updates(rnd: random.Random) -> tuple[list[CompanionInfo], dict[str, CompanionInfo]]:
    """Two to five versions of each companion (capacity 0–45, one to three schools or a school the county
    does not know, FTE unknown or 0.25–1, inactive now and then), shuffled, a third delivered twice; and
    the latest version of each."""
    out: list[CompanionInfo] = []
    latest: dict[str, CompanionInfo] = {}
    for cid in COMPANIONS:
        for v in range(rnd.randint(2, 5)):
            schools = rnd.sample(SCHOOL_IDS, rnd.choice((1, 1, 2, 3)))
            if rnd.random() < 0.1:
                schools.append("XYZ")  # not one of the county's schools
            c = CompanionInfo(
                companion_id=cid,
                name=rnd.choice((None, f"Begleitung {cid}")),
                school_ids=schools,
                capacity=rnd.choice((0, 20, 30, 40, 40, 45)),
                active=rnd.random() < 0.85,
                fte=rnd.choice((None, 0.25, 0.5, 0.75, 1.0, 1.0)),
                updated_at=T0 + timedelta(days=v, minutes=rnd.randint(0, 600)),
            )
            out.append(c)
            latest[cid] = c
    rnd.shuffle(out)
    return out + rnd.sample(out, len(out) // 3), latest


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AggregateStore, dict[str, CompanionInfo]]]:
    out: Path = tmp_path_factory.mktemp("caseload")
    with LocalRuntime(stage="caseload", log_level="ERROR", out_dir=out) as rt, rt.lock:
        store = AggregateStore()
        updates, latest = _updates(random.Random(5))
        for c in updates:
            store.put_companion(c)
        yield store, latest


def test_the_registry_totals_equal_a_recount_of_every_companion(
    world: tuple[AggregateStore, dict[str, CompanionInfo]],
) -> None:
    store, latest = world
    assert store.companions() == latest  # last writer wins, whatever the order
    totals = store.registry_totals()
    everyone = list(latest.values())
    assert totals.companions == len(everyone)
    assert totals.capacity == sum(c.capacity for c in everyone)
    assert float(totals.fte) == pytest.approx(sum(c.fte or 0 for c in everyone), abs=1e-9)
    assert totals.with_fte == sum(1 for c in everyone if c.fte)
    capacities: dict[int, int] = {}
    for c in everyone:
        if c.capacity:
            capacities[c.capacity] = capacities.get(c.capacity, 0) + 1
    assert totals.capacities == capacities
    # FTE per school as the report computed it from every companion: staff only (active, capacity, school),
    # the FTE split evenly between the companion's schools, unknown where one of them has no FTE
    per_school: dict[str, float] = dict.fromkeys(SCHOOLS, 0.0)
    unknown: set[str] = set()
    for c in everyone:
        if not (c.active and c.capacity and c.school_ids):
            continue
        for sid in c.school_ids:
            if sid not in per_school:
                continue
            if c.fte is None:
                unknown.add(sid)
            else:
                per_school[sid] += c.fte / len(c.school_ids)
    expected = {sid: None if sid in unknown or not v else round(v, 2) for sid, v in per_school.items()}
    assert totals.fte_per_school() == expected
    assert len({v for v in expected.values()}) > 2  # the data test something: schools differ


def test_a_replayed_or_older_update_changes_nothing(
    world: tuple[AggregateStore, dict[str, CompanionInfo]],
) -> None:
    store, latest = world
    before = store.registry_totals()
    c = latest["B03"]
    assert not store.put_companion(c)  # the same update again
    older = c.model_copy(update={"capacity": c.capacity + 7, "updated_at": c.updated_at - timedelta(hours=1)})
    assert not store.put_companion(older)
    assert store.registry_totals() == before


def test_a_change_moves_the_totals_by_its_difference(
    world: tuple[AggregateStore, dict[str, CompanionInfo]],
) -> None:
    store, latest = world
    before = store.registry_totals()
    c = latest["B07"]
    assert c.updated_at is not None
    newer = c.model_copy(
        update={
            "capacity": 44,
            "fte": 0.5,
            "active": True,
            "school_ids": ["RFS"],
            "updated_at": c.updated_at + timedelta(days=30),
        }
    )
    assert store.put_companion(newer)
    latest["B07"] = newer
    after = store.registry_totals()
    assert after.companions == before.companions
    assert after.capacity == before.capacity - c.capacity + 44
    assert after.capacities.get(44) == before.capacities.get(44, 0) + 1
    assert store.companion("B07")[0] == newer
