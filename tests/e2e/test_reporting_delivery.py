"""Reporting under duplicate and shuffled delivery: the aggregates come out the same.

1. Crafted facts of many students (every event kind, corrections, withdrawals, exits, reassignments)
   reach the reporting consumer once in order, then duplicated in random orders and batches: the
   stored states, counters and waitlist periods are identical.
2. The whole pipeline (intake API → matching → reporting) with the runtime delivering every message
   twice in shuffled order: reporting's counts agree with matching's own records.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from avdual.demo import seed_companions, submit_all
from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes, load_scenario
from contracts import events as ev
from contracts.events import EventSpec
from services.reporting.dal.aggregates import counters_of
from tests.events import sqs_record

T0 = datetime(2026, 9, 14, 8, tzinfo=UTC)
SCHOOLS = ["RFS", "MPS", "OWS"]


def facts_of_students(n: int, seed: int = 5) -> list[tuple[EventSpec, Any]]:
    rnd = random.Random(seed)
    out: list[tuple[EventSpec, Any]] = []
    for i in range(n):
        iid = f"01KD{i:022d}"
        p = {
            "school_id": SCHOOLS[i % 3],
            "school_year": "2026/27",
            "class_name": f"AV{i % 4}",
            "age_band": rnd.choice(["16", "17", "18"]),
            "gender": rnd.choice(["weiblich", "maennlich", "divers"]),
            "german_support": rnd.random() < 0.4,
            "career_fields": rnd.sample(["kfz", "handel", "it"], 2),
        }
        t = T0 + timedelta(days=rnd.randint(0, 20), minutes=i)
        out.append((ev.INTAKE_SUBMITTED, ev.IntakeSubmittedData(intake_id=iid, submitted_at=t, **p)))
        if rnd.random() < 0.4:
            t += timedelta(seconds=2)
            out.append(
                (
                    ev.STUDENT_WAITLISTED,
                    ev.StudentWaitlistedData(intake_id=iid, waitlisted_at=t, reason="no_capacity", **p),
                )
            )
        if rnd.random() < 0.3:
            out.append(
                (
                    ev.INTAKE_UPDATED,
                    ev.IntakeUpdatedData(
                        intake_id=iid,
                        updated_at=t + timedelta(hours=1),
                        changed_fields=["class_name"],
                        matching_relevant=True,
                        **{**p, "class_name": "AVX"},
                    ),
                )
            )
        if rnd.random() < 0.75:
            t += timedelta(days=rnd.randint(0, 20))
            out.append(
                (
                    ev.COMPANION_ASSIGNED,
                    ev.CompanionAssignedData(
                        intake_id=iid, companion_id=f"B{i % 3}", assigned_at=t, cost=1.0, **p
                    ),
                )
            )
            if rnd.random() < 0.3:
                t += timedelta(days=3)
                out.append(
                    (
                        ev.COMPANION_REASSIGNED,
                        ev.CompanionReassignedData(
                            intake_id=iid,
                            from_companion_id=f"B{i % 3}",
                            to_companion_id="B9",
                            school_id=p["school_id"],
                            school_year="2026/27",
                            reassigned_at=t,
                            cost_change=-0.5,
                        ),
                    )
                )
            if rnd.random() < 0.4:
                t += timedelta(days=30)
                out.append(
                    (
                        ev.ASSIGNMENT_ENDED,
                        ev.AssignmentEndedData(
                            intake_id=iid,
                            companion_id="B9",
                            school_id=p["school_id"],
                            school_year="2026/27",
                            ended_at=t,
                            exit_date=t.date(),
                            reason=rnd.choice(["completed", "dropped_out"]),
                            destination=rnd.choice(["dual_training", "bfs", "job"]),
                        ),
                    )
                )
                if rnd.random() < 0.5:  # casework compared the training company with the internships
                    out.append(
                        (
                            ev.DESTINATION_COMPANY_RECORDED,
                            ev.DestinationCompanyRecordedData(
                                intake_id=iid,
                                companion_id="B9",
                                school_id=p["school_id"],
                                school_year="2026/27",
                                company_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
                                destination="dual_training",
                                former_internship_company=rnd.random() < 0.5,
                                recorded_at=t,
                            ),
                        )
                    )
        if rnd.random() < 0.15:
            out.append(
                (
                    ev.INTAKE_WITHDRAWN,
                    ev.IntakeWithdrawnData(
                        intake_id=iid,
                        school_id=p["school_id"],
                        school_year="2026/27",
                        withdrawn_at=t + timedelta(days=1),
                        reason="duplicate",
                    ),
                )
            )
    for k in range(3):
        out.append(
            (
                ev.COMPANION_UPDATED,
                ev.CompanionUpdatedData(
                    companion_id=f"B{k}",
                    school_ids=[SCHOOLS[k]],
                    capacity=30,
                    active=True,
                    updated_at=T0,
                    fte=1.0,
                ),
            )
        )
    return out


def aggregates_after(batches: list[list[tuple[EventSpec, Any]]]) -> dict[str, Any]:
    with LocalRuntime(stage="e2e-rep", log_level="ERROR") as rt:
        for batch in batches:
            result = rt.invoke("reporting-consumer", {"Records": [sqs_record(*f) for f in batch]})
            assert result == {"batchItemFailures": []}
        state: dict[str, Any] = {}
        for item in rt.scan("aggregates"):
            pk, sk = item["pk"], item["sk"]
            if pk.startswith("student#"):
                state[f"{pk}/{sk}"] = json.loads(item["state"])
            elif pk.startswith("year#"):
                state |= {f"{pk}/{key}": n for key, n in counters_of([item]).items() if n}
            elif pk.startswith("waitlist#"):
                state[f"{pk}/{sk}"] = json.loads(item["item"])
            elif pk == "companions":
                state[f"{pk}/{sk}"] = {k: str(v) for k, v in item.items() if k != "full_alerted_at"}
        return state


def test_duplicated_and_shuffled_facts_leave_the_aggregates_unchanged() -> None:
    facts = facts_of_students(45)
    once = aggregates_after([facts[i : i + 10] for i in range(0, len(facts), 10)])
    assert sum(1 for k in once if k.startswith("student#")) == 45
    assert once["year#2026/27/school#RFS#intakes"] == 15
    for seed in (1, 2):
        rnd = random.Random(seed)
        shuffled = facts + rnd.sample(facts, len(facts) // 2)  # half of them twice
        rnd.shuffle(shuffled)
        batches, i = [], 0
        while i < len(shuffled):
            size = rnd.randint(1, 10)
            batches.append(shuffled[i : i + size])
            i += size
        assert aggregates_after(batches) == once


def test_reporting_counts_agree_with_matching_under_duplicate_shuffled_delivery() -> None:
    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=6) for c in scenario["companions"]]
    forms = load_intakes()[:50]
    with LocalRuntime(stage="e2e-rep2", duplicate=True, shuffle=True, seed=3, log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        submit_all(rt, forms, drain_every=10)
        assert rt.dead_letters == []
        truth: Counter[str] = Counter()
        for a in rt.scan("assignments"):
            truth[f"school#{a['profile']['school_id']}#{a['status']}"] += 1
            if a["status"] == "assigned":
                truth[f"companion#{a['companion_id']}#assigned"] += 1
        counters = counters_of(i for i in rt.scan("aggregates") if i["pk"] == "year#2026/27")
        for key, n in truth.items():
            assert counters.get(key, 0) == n, key
        summary = rt.api("GET", "/dashboard/summary", claims={"sub": "o", "cognito:groups": "office"}).json()
        assert summary["status_by_school"]["grand_total"] == len(forms)
