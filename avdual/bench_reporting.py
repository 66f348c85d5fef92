"""Reporting benchmark: report generation time with aggregates from 1,000 and from 100,000 intakes.

The aggregates are populated directly (not through moto's pipeline): synthetic students of one school
year are projected with the reporting service's own rules (``logic.projection``) and only what the
consumer would store for reports is written – the counters, the waitlist periods and the companions.
Then the real use case renders the Wochenbericht and the Schuljahresbericht (read aggregates, figures
with suppression, charts, HTML, PDF, XLSX, S3, ``ReportPublished``, email) on the embedded runtime.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

SIZES = (1_000, 100_000)
AS_OF = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)  # a Monday, 07:00 in Berlin
START = datetime(2026, 8, 3, 7, 0, tzinfo=UTC)
SCHOOLS = ("RFS", "MPS", "OWS", "EBS", "CSS", "BSZBB")
GENDERS = ("weiblich", "maennlich", "maennlich", "divers", "keine_angabe")
BANDS = ("unter_16", "16", "17", "18", "19_plus")
FIELDS = ("kfz", "metall", "handel", "buero", "gesundheit", "gastro", "logistik", "it")
DESTS = ("dual_training", "school_based_training", "bfs", "job", "nothing", "unknown")


def synthetic_aggregates(n: int, seed: int = 7) -> tuple[Counter[tuple[str, str]], list[Any], int]:
    """Counters and waitlist items of ``n`` synthetic students (about 5 % waiting, 25 % left)."""
    from services.reporting.logic.projection import counters, waitlist_item
    from services.reporting.models.aggregates import StudentState, TimelineEntry

    rnd = random.Random(seed)
    total: Counter[tuple[str, str]] = Counter()
    waiting = []
    companions = max(11, n // 40)
    span = (AS_OF - START).total_seconds()
    for i in range(n):
        sid = SCHOOLS[i % len(SCHOOLS)]
        t = START + timedelta(seconds=rnd.random() * span * 0.9)
        s = StudentState(
            intake_id=f"01KB{i:022d}",
            school_id=sid,
            school_year="2026/27",
            class_name=f"AV{rnd.randint(1, 5)}",
            gender=rnd.choice(GENDERS),
            age_band=rnd.choice(BANDS),
            german_support=rnd.random() < 0.35,
            career_fields=sorted(rnd.sample(FIELDS, 2)),
            profile_at=t,
            timeline=[TimelineEntry(at=t, kind="submitted")],
        )
        r = rnd.random()
        if r < 0.05:
            s.timeline.append(TimelineEntry(at=t + timedelta(seconds=2), kind="waitlisted"))
            s.waitlist_reason = "no_capacity"
            if t + timedelta(days=20) < AS_OF and rnd.random() < 0.5:
                s.timeline.append(
                    TimelineEntry(
                        at=t + timedelta(days=rnd.randint(1, 20)),
                        kind="assigned",
                        companion_id=f"B{i % companions:03d}",
                    )
                )
        else:
            a = t + timedelta(seconds=2)
            s.timeline.append(TimelineEntry(at=a, kind="assigned", companion_id=f"B{i % companions:03d}"))
            if r > 0.75:
                end = a + timedelta(days=rnd.randint(10, 120))
                if end < AS_OF:
                    s.timeline.append(TimelineEntry(at=end, kind="ended"))
                    s.exit_reason, s.exit_at = rnd.choice(("completed", "dropped_out", "moved_away")), end
                    s.destination, s.with_former_company = rnd.choice(DESTS), rnd.random() < 0.4
        total.update(counters(s))
        w = waitlist_item(s)
        if w is not None:
            waiting.append(w)
    return total, waiting, companions


def _load(n: int) -> tuple[Any, dict[str, Any]]:
    from services.reporting.dal.aggregates import AggregateStore, counter_home
    from services.reporting.models.aggregates import CompanionInfo

    t0 = time.perf_counter()
    total, waiting, companions = synthetic_aggregates(n)
    t1 = time.perf_counter()
    store = AggregateStore()
    store.put_counters(total)
    store.put_companions(
        CompanionInfo(
            companion_id=f"B{c:03d}",
            school_ids=[SCHOOLS[c % len(SCHOOLS)]],
            capacity=40 + n // 40 // companions,
            active=True,
            fte=1,
            updated_at=START,
        )
        for c in range(companions)
    )
    store.put_waitlist_items(waiting)
    return store, {
        "counters": sum(1 for pk, _ in total if pk.startswith("year#")),
        "counter_items": len(
            {(pk, (counter_home(pk, sk) or (sk,))[0]) for pk, sk in total if pk.startswith("year#")}
        ),
        "companion_goal_items": len(
            {(pk, sk.rpartition("#")[0]) for pk, sk in total if pk.startswith("goals#")}
        ),
        "waitlist_items": len(waiting),
        "companions": companions,
        "project_seconds": round(t1 - t0, 2),
        "load_seconds": round(time.perf_counter() - t1, 2),
    }


def _time_report(report_type: str, store: Any, runs: int = 2) -> dict[str, float]:
    from services.reporting.dal.aggregates import Mailer, ReportStore
    from services.reporting.logic import publish
    from services.reporting.logic.periods import ReportWeek

    best: dict[str, float] = {}
    for _ in range(runs):
        t0 = time.perf_counter()
        week = ReportWeek.of(AS_OF, "last_week") if report_type == "weekly" else None
        inputs = publish.load_inputs(store, report_type, "2026/27", week)
        t1 = time.perf_counter()
        publish.render(report_type, inputs, as_of=AS_OF, report_id="01BENCH", period="last_week")
        t2 = time.perf_counter()
        publish.publish_report(
            report_type=report_type,
            school_year="2026/27",
            as_of=AS_OF,
            period="last_week",
            store=store,
            reports=ReportStore(),
            mailer=Mailer(),
            correlation_id="bench",
            now=AS_OF,
        )
        t3 = time.perf_counter()
        run = {
            "read_aggregates_seconds": t1 - t0,
            "figures_and_render_seconds": t2 - t1,
            "total_seconds": t3 - t2,
        }
        best = run if not best or run["total_seconds"] < best["total_seconds"] else best
    return {k: round(v, 3) for k, v in best.items()}


def bench_report_scaling() -> dict[str, Any]:
    """Wochenbericht and Schuljahresbericht generation time for 1,000 and 100,000 intakes, and the ratio."""
    from avdual.runtime import LocalRuntime

    out: dict[str, Any] = {
        "note": "best of 2 runs each; total = the whole use case (read aggregates, figures with "
        "suppression, charts, HTML, PDF, XLSX, S3, ReportPublished, email) on moto; "
        "read and render are also timed on their own"
    }
    for n in SIZES:
        with LocalRuntime(stage=f"bench-rep-{n}", log_level="ERROR") as rt, rt.lock:
            store, info = _load(n)
            info["weekly"] = _time_report("weekly", store)
            info["school_year"] = _time_report("school_year", store)
        out[str(n)] = info
    small, large = out[str(SIZES[0])], out[str(SIZES[1])]
    for kind in ("weekly", "school_year"):
        out[f"{kind}_ratio_100k_to_1k"] = round(
            large[kind]["total_seconds"] / small[kind]["total_seconds"], 2
        )
    return out
