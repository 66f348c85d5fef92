"""The reports read the companion registry bounded by what they show (docs/adr/0023-bounded-report-reads.md):
the registry's totals (companions, capacity, FTE, FTE per school, companions per capacity) are one item,
kept with ``ADD`` in the transaction of each registry change, conditional on the version of the companion's
item it read. The totals must equal an independent recount from the latest update of every companion,
whatever the order of the updates and however often each is delivered."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from avdual.runtime import LocalRuntime
from contracts import events as ev
from contracts.reference import SCHOOLS
from services.reporting.dal import aggregates
from services.reporting.dal.aggregates import AggregateStore
from services.reporting.logic.figures import COMPANION_LIST_LIMIT, weekly_context
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.projection import Fact
from services.reporting.logic.publish import load_inputs
from services.reporting.logic.reactions import apply_fact
from services.reporting.models.aggregates import CompanionInfo, CompanionLoad
from tests.integration.test_reporting_service import PROFILE

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


# ------------------------------------------------------------------------------------- the most loaded
# The caseloads are counters kept with ADD by the consumer in each fact's transaction and indexed by the
# caseload; the registry's items are indexed by capacity. The most loaded, read from both indexes with the
# other figure by key, must equal a ranking of every companion recounted from the facts: capacities change
# after assignments, students move between companions and leave, some companions share a ratio (ties go by
# caseload, then code), one has capacity 0 and one is known only from its students.

SY = "2026/27"
LOADED = [f"L{c:02d}" for c in range(70)]
UNREGISTERED = "L99"


def _placements(rnd: random.Random) -> tuple[list[Fact], dict[str, str]]:
    """400 students, each assigned to a companion (a few companions carry more), a fifth moved to another
    one, a tenth ended; a third of the students' facts in reverse order. And each student's companion now."""
    out: list[Fact] = []
    now: dict[str, str] = {}
    weights = [1 + (c % 7 == 0) * 3 + (c % 11 == 0) * 2 for c in range(len(LOADED))]
    for i in range(400):
        iid = f"01KL{i:022d}"
        at = datetime(2026, 9, 1, 8, tzinfo=UTC) + timedelta(hours=i)
        cid = UNREGISTERED if i % 97 == 0 else rnd.choices(LOADED, weights)[0]
        facts: list[Fact] = [
            ev.IntakeSubmittedData(intake_id=iid, submitted_at=at - timedelta(hours=1), **PROFILE),
            ev.CompanionAssignedData(intake_id=iid, companion_id=cid, assigned_at=at, cost=1.0, **PROFILE),
        ]
        if rnd.random() < 0.2:
            cid = rnd.choice(LOADED)
            facts.append(
                ev.CompanionAssignedData(
                    intake_id=iid, companion_id=cid, assigned_at=at + timedelta(days=2), cost=1.0, **PROFILE
                )
            )
        place = {"intake_id": iid, "school_id": PROFILE["school_id"], "school_year": SY}
        if rnd.random() < 0.1:
            facts.append(
                ev.AssignmentEndedData(
                    **place,
                    companion_id=cid,
                    ended_at=at + timedelta(days=20),
                    exit_date=(at + timedelta(days=20)).date(),
                    reason="completed",
                    destination="dual_training",
                )
            )
        else:
            now[iid] = cid
        out += reversed(facts) if i % 3 == 0 else facts
    return out, now


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AggregateStore, dict[str, CompanionLoad]]]:
    out: Path = tmp_path_factory.mktemp("loaded")
    rnd = random.Random(11)
    with LocalRuntime(stage="loaded", log_level="ERROR", out_dir=out) as rt, rt.lock:
        store = AggregateStore()
        latest: dict[str, CompanionInfo] = {}
        facts, now = _placements(rnd)
        for n, fact in enumerate(facts):
            if n % 40 == 0:  # the registry changes while students arrive: capacities up and down
                for cid in rnd.sample(LOADED, 25) if latest else LOADED:
                    c = CompanionInfo(
                        companion_id=cid,
                        school_ids=["RFS"],
                        capacity=0 if cid == "L05" else rnd.choice((2, 4, 5, 6, 8, 10, 12)),
                        fte=rnd.choice((0.5, 1.0)),
                        updated_at=T0 + timedelta(days=n),
                    )
                    assert store.put_companion(c)
                    latest[cid] = c
            apply_fact(fact, store=store)
        loads = Counter(now.values())
        truth = {
            cid: CompanionLoad(cid, loads.get(cid, 0), latest.get(cid)) for cid in sorted({*latest, *loads})
        }
        yield store, truth


@pytest.mark.parametrize("limit", [1, 3, 8, 25])
def test_the_most_loaded_equal_a_ranking_of_every_companion(
    loaded: tuple[AggregateStore, dict[str, CompanionLoad]], limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, truth = loaded
    read: Counter[str] = Counter()
    for name in ("_companion_info", "_caseload_companion"):
        original = getattr(aggregates, name)
        monkeypatch.setattr(
            aggregates,
            name,
            lambda *a, _o=original, _n=name: read.update([_n]) or _o(*a),  # type: ignore[misc]
        )
    got = store.most_loaded(SY, limit=limit, registry=store.registry_totals())
    expected = sorted(truth.values(), key=lambda c: c.rank)[:limit]
    assert got == expected
    # bounded: neither every registry item nor every caseload was read
    assert read["_companion_info"] < len(LOADED) and read["_caseload_companion"] < len(truth)
    ranked = sorted(truth.values(), key=lambda c: c.rank)
    assert len({c.ratio for c in ranked[: limit + 5]}) > 1 or limit == 1  # the data test something


def test_the_ranking_has_ties_a_capacity_of_0_and_a_companion_known_only_by_its_students(
    loaded: tuple[AggregateStore, dict[str, CompanionLoad]],
) -> None:
    _, truth = loaded
    ratios = Counter(c.ratio for c in truth.values() if c.assigned)
    assert max(ratios.values()) > 1  # companions share a ratio
    assert truth["L05"].capacity == 0 and truth["L05"].assigned > 0
    assert truth[UNREGISTERED].info is None and truth[UNREGISTERED].assigned > 0


def test_the_weekly_report_lists_and_totals_the_same_from_the_bounded_read(
    loaded: tuple[AggregateStore, dict[str, CompanionLoad]],
) -> None:
    store, _ = loaded
    week = ReportWeek.of(datetime(2026, 11, 30, 6, tzinfo=UTC), "last_week")
    bounded = load_inputs(store, "weekly", SY, week)
    everyone = load_inputs(store, "weekly", SY, week, every_companion=True)
    assert bounded.caseload is not None and len(bounded.companions) < len(everyone.companions)
    a, b = (
        weekly_context(i, week, report_id="01T", generated_at=week.as_of, with_charts=False)
        for i in (bounded, everyone)
    )
    for key in ("companions", "companions_count", "companions_total", "schools_caseload", "notes"):
        assert a[key] == b[key], key
    assert a["companions_count"] == len(LOADED) and len(a["companions"]) == COMPANION_LIST_LIMIT


def test_ties_at_the_limit_are_read_whole_and_no_further(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every companion with the same capacity (as in a county of full-time companions), 20 of them sharing
    the caseload of the 8th: the read takes a page and the rest of that caseload, not the next pages."""
    ids = [f"T{c:02d}" for c in range(70)]
    caseload = {cid: 8 if c < 20 else 7 if c < 50 else 5 for c, cid in enumerate(ids)}
    with LocalRuntime(stage="ties", log_level="ERROR", out_dir=tmp_path) as rt, rt.lock:
        store = AggregateStore()
        store.put_companions(CompanionInfo(companion_id=cid, capacity=10, updated_at=T0) for cid in ids)
        store.put_counters(
            Counter({(f"year#{SY}", f"companion#{cid}#assigned"): n for cid, n in caseload.items()})
        )
        read: Counter[str] = Counter()
        original = aggregates._caseload_companion
        monkeypatch.setattr(
            aggregates, "_caseload_companion", lambda sk: read.update(["caseload"]) or original(sk)
        )
        got = store.most_loaded(SY, limit=8, registry=store.registry_totals())
    everyone = [
        CompanionLoad(cid, n, CompanionInfo(companion_id=cid, capacity=10, updated_at=T0))
        for cid, n in caseload.items()
    ]
    assert got == sorted(everyone, key=lambda c: c.rank)[:8] == everyone[:8]
    assert read["caseload"] == 8 + 20  # the first page, then all 20 companions with caseload 8
