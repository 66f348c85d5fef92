"""Matching benchmarks for ``make bench`` (item 9).

* ``matching_online``: online assignment per intake, in-process — the pure decision
  (``records.prepare_claim``: hard rules, cost model, class-cohesion context, ranking) and the whole
  consumer path (SQS batch → handler → DynamoDB transaction with outbox) on moto, for the demo
  scenario's intakes delivered straight to the matching consumer.
* ``matching_rebalance``: ``flow_solver.plan`` (min-cost flow, an LP with HiGHS) for 5,000 students ×
  200 companions (``avdual.random_pool``), plus ordering the moves for applying them.
* ``matching_cost_gap``: total model cost of the online (greedy, first come first served)
  assignment of the demo scenario vs. the rebalance optimum over the same pool — without move
  penalty (the true optimum) and with the default move penalty (what ``rebalance`` would do).
"""

from __future__ import annotations

import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any

from contracts.events import AgeBand, IntakeSubmittedData, StudentProfile

BATCH = 10


def _age_band(date_of_birth: str, start: date) -> AgeBand:
    dob = date.fromisoformat(date_of_birth)
    age = start.year - dob.year - ((start.month, start.day) < (dob.month, dob.day))
    return "unter_16" if age < 16 else "19_plus" if age >= 19 else str(age)  # type: ignore[return-value]


def scenario_intakes() -> list[IntakeSubmittedData]:
    """The demo scenario's intakes as ``IntakeSubmitted`` data (one minute apart, fixed ids)."""
    from avdual.scenario import load_intakes

    t0 = datetime(2026, 9, 21, 8, tzinfo=UTC)
    out = []
    for n, f in enumerate(load_intakes()):
        s = f["student"]
        out.append(
            IntakeSubmittedData(
                intake_id=f"01JBENCH{n:018d}",
                submitted_at=t0 + timedelta(minutes=n),
                school_id=f["school_id"],
                school_year=f["school_year"],
                class_name=f["class_name"],
                gender=s["gender"],
                age_band=_age_band(s["date_of_birth"], date(2026, 8, 1)),
                german_support=f.get("german_support", False),
                languages=s.get("languages", []),
                parent_contact_language=s.get("parent_contact_language"),
                career_fields=f.get("career_fields", []),
                consent_present=bool(f["consent"]["student"]),
            )
        )
    return out


def _sqs_batch(items: list[IntakeSubmittedData]) -> dict[str, Any]:
    import json

    from common.events import OutgoingEvent
    from contracts.events import INTAKE_SUBMITTED

    records = []
    for d in items:
        ev = OutgoingEvent(
            INTAKE_SUBMITTED, d, f"IntakeSubmitted:{d.intake_id}", "bench", occurred_at=d.submitted_at
        )
        body: dict[str, Any] = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": INTAKE_SUBMITTED.detail_type,
            "source": INTAKE_SUBMITTED.source.value,
            "account": "123456789012",
            "time": d.submitted_at.isoformat(),
            "region": "eu-central-1",
            "resources": [],
            "detail": ev.detail(),
        }
        records.append(
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": "r",
                "body": json.dumps(body),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "0",
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": "0",
                },
                "messageAttributes": {},
                "md5OfBody": "x",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-central-1:123456789012:bench",
                "awsRegion": "eu-central-1",
            }
        )
    return {"Records": records}


@cache
def online_run() -> dict[str, Any]:
    """Deliver the scenario's intakes to the matching consumer on moto; the resulting pool."""
    from avdual.demo import seed_companions
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_scenario
    from services.matching.dal.store import MatchingStore

    scenario, intakes = load_scenario(), scenario_intakes()
    with LocalRuntime(stage="bench-matching", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        rt.api_calls.clear()
        t0 = time.perf_counter()
        for i in range(0, len(intakes), BATCH):
            out = rt.invoke("matching-consumer", _sqs_batch(intakes[i : i + BATCH]))
            assert not out["batchItemFailures"], out
        seconds = time.perf_counter() - t0
        calls = dict(rt.api_calls)
        with rt.lock:
            store = MatchingStore()
            companions, records = store.list_companions(), store.all_assignments(now=rt.clock.now())
    return {
        "seconds": seconds,
        "calls": calls,
        "companions": companions,
        "records": records,
        "n": len(intakes),
    }


def bench_matching_online() -> dict[str, Any]:
    from services.matching.logic import assignment_rules
    from services.matching.models.matching import Companion

    run = online_run()
    n = run["n"]
    # the pure decision for every intake against the final pool (all companions, its classmates)
    comps: list[Companion] = [c.model_copy(update={"used": 0}) for c in run["companions"]]
    profiles = [
        StudentProfile.model_validate(d.model_dump(include=set(StudentProfile.model_fields)))
        for d in scenario_intakes()
    ]
    assigned = [(a.profile, a.companion_id) for a in run["records"] if a.status == "assigned" and a.profile]
    by_class: dict[tuple[str, str], list[str]] = {}
    for p, cid in assigned:
        by_class.setdefault((p.school_id, p.class_name), []).append(cid)
    at = datetime(2026, 9, 21, 8, tzinfo=UTC)
    samples = []
    for _ in range(3):
        t0 = time.perf_counter()
        for k, p in enumerate(profiles):
            school = [c for c in comps if p.school_id in c.school_ids]
            assignment_rules.prepare_claim(
                f"b{k}", p, school, by_class.get((p.school_id, p.class_name), []), at=at
            )
        samples.append((time.perf_counter() - t0) / n)
    status = {s: sum(1 for a in run["records"] if a.status == s) for s in ("assigned", "waitlisted")}
    return {
        "intakes": n,
        "companions": len(run["companions"]),
        "decision_microseconds_per_intake": round(statistics.median(samples) * 1e6, 1),
        "consumer_milliseconds_per_intake_on_moto": round(run["seconds"] / n * 1000, 2),
        "aws_api_calls_per_intake": round(sum(run["calls"].values()) / n, 2),
        "aws_api_calls_by_operation": dict(sorted(run["calls"].items(), key=lambda kv: -kv[1])),
        **status,
    }


def bench_matching_rebalance() -> dict[str, Any]:
    from avdual.random_pool import random_pool
    from services.matching.logic import flow_solver
    from services.matching.logic.apply_plan import schedule

    students, companions = random_pool(5000, 200, seed=0)
    flow_solver.plan(students[:200], companions[:10])  # warm-up (imports, HiGHS)
    samples, plan = [], None
    for _ in range(3):
        t0 = time.perf_counter()
        plan = flow_solver.plan(students, companions)
        samples.append(time.perf_counter() - t0)
    assert plan is not None
    t0 = time.perf_counter()
    steps, rest = schedule(plan.moves, {c.companion_id: c.free for c in companions})
    order_s = time.perf_counter() - t0
    return {
        "students": len(students),
        "companions": len(companions),
        "plan_seconds_median": round(statistics.median(samples), 3),
        "plan_seconds_runs": [round(s, 3) for s in samples],
        "moves": len(plan.moves),
        "assigned_before": sum(1 for s in students if s.companion_id is not None),
        "assigned_after": len(students) - len(plan.unassigned),
        "cost_before": round(plan.total_cost_before, 3),
        "cost_after": round(plan.total_cost_after, 3),
        "apply_order_seconds": round(order_s, 3),
        "apply_steps": len(steps),
        "apply_cycles": sum(1 for s in steps if s.is_cycle),
        "unorderable_moves": len(rest),
    }


def bench_matching_cost_gap() -> dict[str, Any]:
    from services.matching.logic import flow_solver
    from services.matching.logic.cost import Weights

    run = online_run()
    students = [
        flow_solver.StudentState(
            a.intake_id, a.profile, a.companion_id if a.status == "assigned" else None, a.submitted_at
        )
        for a in run["records"]
        if a.status in ("assigned", "waitlisted") and a.profile is not None
    ]
    companions = run["companions"]
    day = date(2026, 9, 21)
    optimum = flow_solver.plan(students, companions, Weights(move_penalty=0.0), today=day)
    default = flow_solver.plan(students, companions, today=day)
    online_cost = optimum.total_cost_before
    assigned_online = sum(1 for s in students if s.companion_id is not None)
    gap = online_cost - optimum.total_cost_after
    return {
        "students": len(students),
        "assigned_online": assigned_online,
        "assigned_optimum": len(students) - len(optimum.unassigned),
        "online_total_cost": round(online_cost, 3),
        "optimum_total_cost": round(optimum.total_cost_after, 3),
        "gap_absolute": round(gap, 3),
        "gap_percent_of_online": round(100 * gap / online_cost, 2) if online_cost else 0.0,
        "online_mean_cost_per_assigned": round(online_cost / max(1, assigned_online), 4),
        "optimum_mean_cost_per_assigned": round(
            optimum.total_cost_after / max(1, len(students) - len(optimum.unassigned)), 4
        ),
        "moves_to_optimum": len(optimum.moves),
        "with_default_move_penalty": {
            "total_cost": round(default.total_cost_after, 3),
            "moves": len(default.moves),
            "assigned": len(students) - len(default.unassigned),
        },
        "note": "costs under the rebalance's fixed class-cohesion context (docs/matching.md §4)",
    }


def _timed(fn: Any, runs: int = 3) -> tuple[float, Any]:
    """Median seconds of ``runs`` calls of ``fn`` and its last result."""
    samples, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), out


def bench_matching_resolve() -> dict[str, Any]:
    """The re-solve that uses a freed place at once (``resolve``): the plan of the demo county's linked
    schools and of 5,000 students × 200 companions (pure), and whole re-solves on moto after an exit in the
    demo county (reads, plan, writes): as triggered (the gate stops when nobody of the component waits) and
    forced (every student of the component read and planned)."""
    from avdual.demo import seed_companions
    from avdual.random_pool import random_pool
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_scenario
    from services.matching.dal.store import MatchingStore
    from services.matching.logic import flow_solver, resolve

    today = date(2026, 9, 21)
    run = online_run()
    students = resolve.student_states(run["records"])
    companions = run["companions"]
    components: dict[frozenset[str], list[Any]] = {}
    for c in companions:
        schools, comps = resolve.component(set(c.school_ids), companions)
        components[frozenset(schools)] = comps
    largest = max(components.items(), key=lambda kv: len(kv[0]))
    in_largest = [s for s in students if s.profile.school_id in largest[0]]
    comp_s, _ = _timed(lambda: flow_solver.plan(in_largest, largest[1], resolve.MAKE_ROOM_WEIGHTS, today))
    county_s, _ = _timed(lambda: flow_solver.plan(students, companions, resolve.MAKE_ROOM_WEIGHTS, today))
    pool, pool_companions = random_pool(5000, 200, seed=0)
    big_s, big = _timed(lambda: flow_solver.plan(pool, pool_companions, resolve.MAKE_ROOM_WEIGHTS, today))

    # a whole re-solve on moto: an exit at a companion of the largest component, students of it waiting
    scenario, intakes = load_scenario(), scenario_intakes()
    with LocalRuntime(stage="bench-resolve", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        for i in range(0, len(intakes), BATCH):
            rt.invoke("matching-consumer", _sqs_batch(intakes[i : i + BATCH]))
        with rt.lock:
            store = MatchingStore()
            now = rt.clock.now()
            assigned = [a for a in store.all_assignments(now=now) if a.status == "assigned"]
            leaving = next(a for a in assigned if a.profile and a.profile.school_id in largest[0])
            assert leaving.companion_id is not None
            store.release(leaving.model_copy(update={"status": "ended"}), leaving.companion_id)
            rt.clear_call_counts()
            with rt.counting("matching-consumer"):
                t0 = time.perf_counter()
                done = resolve.resolve(sorted(largest[0]), store=store, at=now, correlation_id="bench")
                moto_s = time.perf_counter() - t0
            calls = dict(rt.api_calls)
            rt.clear_call_counts()
            with rt.counting("matching-consumer"):
                t0 = time.perf_counter()
                forced = resolve.resolve(
                    sorted(largest[0]), store=store, at=now, correlation_id="bench", force=True
                )
                forced_s = time.perf_counter() - t0
            forced_calls = dict(rt.api_calls)
    return {
        "demo_county": {
            "students": len(students),
            "companions": len(companions),
            "components": sorted(sorted(k) for k in components),
            "largest_component_schools": sorted(largest[0]),
            "largest_component_students": len(in_largest),
            "plan_seconds_largest_component": round(comp_s, 4),
            "plan_seconds_whole_county": round(county_s, 4),
            "resolve_after_exit_seconds_on_moto": round(moto_s, 3),
            "resolve_after_exit_moves": len(done.applied),
            "resolve_after_exit_aws_calls": sum(calls.values()),
            "resolve_forced_seconds_on_moto": round(forced_s, 3),
            "resolve_forced_moves": len(forced.applied),
            "resolve_forced_aws_calls": sum(forced_calls.values()),
        },
        "pool_5000x200": {
            "students": len(pool),
            "companions": len(pool_companions),
            "plan_seconds_median": round(big_s, 3),
            "moves": len(big.moves),
            "assigned_after": len(pool) - len(big.unassigned),
        },
    }
