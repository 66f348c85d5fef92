"""``make bench``: benchmarks with JSON output (never timed assertions in tests).

Each benchmark is a function returning a dict of figures; :data:`BENCHMARKS` lists them.
Services add theirs here. Output: ``out/bench.json`` ``{"summary": {the nine headline figures},
"benchmarks": {name: figures}, ...}``; ``avdual bench --only NAME`` re-runs some and keeps the others.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console


def bench_pipeline() -> dict[str, Any]:
    """Intakes per second through the local pipeline and AWS API calls per intake, end to end.

    Calls are counted at the client level (:mod:`avdual.runtime.call_count`): every call any function makes
    — API handlers, consumers, the outbox relays, the report run — whichever client it uses. The runtime's
    own calls (playing the Lambda service's SQS and stream pollers) are listed apart: on AWS the Lambda
    service makes them, not our code.
    """
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    scenario, forms = load_scenario(), load_intakes()
    t0 = time.perf_counter()
    with LocalRuntime(stage="bench", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        rt.clear_call_counts()
        t1, c1 = time.perf_counter(), time.process_time()
        submit_all(rt, forms)
        t2, c2 = time.perf_counter(), time.process_time()
        calls = dict(rt.api_calls)
        by_function = {f: dict(c) for f, c in rt.api_calls_by_function.items()}
        runtime_calls = dict(rt.runtime_calls)
        rt.run_schedule("reporting-renderer", "weekly-report")
        t3 = time.perf_counter()
    n = len(forms)
    total_calls = sum(calls.values())
    return {
        "intakes": n,
        "pipeline_seconds": round(t2 - t1, 3),
        "intakes_per_second": round(n / (t2 - t1), 2),
        # CPU time of the process (the pipeline runs in one thread): on a shared machine it depends far less
        # on the load than the wall time above
        "pipeline_cpu_seconds": round(c2 - c1, 3),
        "intakes_per_cpu_second": round(n / (c2 - c1), 2),
        "aws_api_calls_per_intake": round(total_calls / n, 2),
        "aws_api_calls_by_operation": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
        "aws_api_calls_per_intake_by_function": {
            f: round(sum(c.values()) / n, 2) for f, c in sorted(by_function.items())
        },
        "aws_api_calls_by_function": by_function,
        "runtime_poller_calls_per_intake": round(sum(runtime_calls.values()) / n, 2),
        "runtime_poller_calls_by_operation": dict(sorted(runtime_calls.items(), key=lambda kv: -kv[1])),
        "report_seconds": round(t3 - t2, 3),
        "wall_seconds_incl_setup": round(t3 - t0, 3),
    }


#: AWS calls of matching's consumer for an intake it assigns on the claim path: the school's companions, the
#: classmates, the claim (pinned in tests/integration/test_aws_calls_per_intake.py)
CLAIM_PATH_CALLS = 3


def bench_assign_latency() -> dict[str, Any]:
    """Intake POST → assignment published, one intake at a time (each drained before the next).

    Per intake: from the start of ``POST /intakes`` to the end of the matching outbox relay's invocation that
    follows the matching consumer's (the ``CompanionAssigned``/``StudentWaitlisted`` event is on the bus).
    Percentiles over the run and over its first and last quarter (does it grow with the stored data?), and
    the same for the intakes matching assigned on the claim path alone (its two reads and the claim,
    docs/performance.md "Design floor"): the others wait or are let in by a re-solve plan, work that only
    appears once schools are full, so the split shows whether the same work grows with the stored data.
    """
    from avdual.demo import seed_companions
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    scenario, forms = load_scenario(), load_intakes()
    with LocalRuntime(stage="bench-latency", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        invoke = rt.invoke
        ends: dict[str, list[float]] = {}

        def timed_invoke(function: str, event: dict[str, Any]) -> Any:
            try:
                return invoke(function, event)
            finally:
                ends.setdefault(function, []).append(time.perf_counter())

        rt.invoke = timed_invoke  # type: ignore[method-assign]
        latencies, cpu, on_claim_path = [], [], []
        claim_path_cpu: list[float | None] = []  # per intake: its CPU if matching took the claim path
        matching_calls = rt.api_calls_by_function["matching-consumer"]
        t_start = time.perf_counter()
        for form in forms:
            ends.clear()
            calls_before = sum(matching_calls.values())
            school = f"school-{form['school_id']}"
            t0, c0 = time.perf_counter(), time.process_time()
            r = rt.api("POST", "/intakes", body=form, claims={"sub": school, "cognito:groups": school})
            if r.status != 201:
                raise RuntimeError(f"intake: {r.status} {r.body}")
            rt.drain()
            cpu.append(1000 * (time.process_time() - c0))  # the whole intake, every consumer included
            matched = ends.get("matching-consumer", [])
            relayed = [t for t in ends.get("matching-outbox-relay", []) if matched and t >= matched[0]]
            claim_path = sum(matching_calls.values()) - calls_before <= CLAIM_PATH_CALLS
            claim_path_cpu.append(cpu[-1] if claim_path else None)
            if relayed:
                latencies.append(1000 * (relayed[0] - t0))
                on_claim_path.append(claim_path)
        seconds = time.perf_counter() - t_start

    def pct(xs: list[float], q: float) -> float | None:
        xs = sorted(xs)
        return round(xs[min(len(xs) - 1, int(q * len(xs)))], 1) if xs else None

    quarter = max(1, len(latencies) // 4)
    first, last = latencies[:quarter], latencies[-quarter:]
    first_claim_path = [ms for ms, d in zip(first, on_claim_path[:quarter], strict=True) if d]
    last_claim_path = [ms for ms, d in zip(last, on_claim_path[-quarter:], strict=True) if d]
    return {
        "intakes": len(forms),
        "assigned_or_waitlisted": len(latencies),
        "p50_ms": pct(latencies, 0.5),
        "p95_ms": pct(latencies, 0.95),
        "max_ms": round(max(latencies), 1),
        "first_quarter_p95_ms": pct(first, 0.95),
        "last_quarter_p95_ms": pct(last, 0.95),
        # the claim path alone (assigned on the school's companions as read, no waitlist, no plan)
        "claim_path_intakes": sum(on_claim_path),
        "claim_path_p95_ms": pct([ms for ms, d in zip(latencies, on_claim_path, strict=True) if d], 0.95),
        "claim_path_first_quarter": {"intakes": len(first_claim_path), "p95_ms": pct(first_claim_path, 0.95)},
        "claim_path_last_quarter": {"intakes": len(last_claim_path), "p95_ms": pct(last_claim_path, 0.95)},
        # CPU of a claim-path intake until every queue is drained, first and last quarter of the intakes
        "claim_path_cpu_first_quarter_p95_ms": pct(
            [ms for ms in claim_path_cpu[: len(cpu) // 4] if ms is not None], 0.95
        ),
        "claim_path_cpu_last_quarter_p95_ms": pct(
            [ms for ms in claim_path_cpu[-(len(cpu) // 4) :] if ms is not None], 0.95
        ),
        "sequential_intakes_per_second": round(len(forms) / seconds, 2),
        # CPU time per intake until every queue is drained (less dependent on the machine's load)
        "cpu_per_intake_p50_ms": pct(cpu, 0.5),
        "cpu_per_intake_p95_ms": pct(cpu, 0.95),
        "cpu_first_quarter_p95_ms": pct(cpu[: len(cpu) // 4], 0.95),
        "cpu_last_quarter_p95_ms": pct(cpu[-(len(cpu) // 4) :], 0.95),
    }


def bench_demo_wall() -> dict[str, Any]:
    """Wall time of ``avdual demo`` (the `make demo` job without the make/uv set-up)."""
    import io

    from avdual.demo import run_demo

    t0, c0 = time.perf_counter(), time.process_time()
    result = run_demo(out_dir=Path("out/bench-demo"), console=Console(file=io.StringIO()))
    return {
        "demo_wall_seconds": round(time.perf_counter() - t0, 3),
        "demo_cpu_seconds": round(time.process_time() - c0, 3),
        "problems": result.problems,
    }


def _reporting() -> dict[str, Any]:
    from avdual.bench_reporting import bench_report_scaling

    return bench_report_scaling()


def _casework() -> dict[str, Any]:
    from avdual.bench_casework import bench_casework_routes

    return bench_casework_routes()


def _matching(name: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from avdual import bench_matching

        return getattr(bench_matching, f"bench_{name}")()  # type: ignore[no-any-return]

    return run


def _functions(name: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from avdual import bench_functions

        return getattr(bench_functions, f"bench_{name}")()  # type: ignore[no-any-return]

    return run


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "pipeline": bench_pipeline,
    "assign_latency": bench_assign_latency,
    "cold_imports": _functions("cold_imports"),
    "function_sizes": _functions("function_sizes"),
    "demo": bench_demo_wall,
    "matching_online": _matching("matching_online"),
    "matching_rebalance": _matching("matching_rebalance"),
    "matching_cost_gap": _matching("matching_cost_gap"),
    "matching_resolve": _matching("matching_resolve"),
    "reporting_report_scaling": _reporting,
    "casework_routes": _casework,
}


#: The figures of the summary: (benchmark, key in its result).
SUMMARY: dict[str, tuple[str, str]] = {
    "aws_calls_per_intake": ("pipeline", "aws_api_calls_per_intake"),
    "cold_import_ratio_max": ("cold_imports", "ratio_max"),
    "function_unzipped_mb_max": ("function_sizes", "max_own_mb"),
    "pipeline_intakes_per_second": ("pipeline", "intakes_per_second"),
    "assign_p95_ms": ("assign_latency", "p95_ms"),
    "demo_seconds": ("demo", "demo_wall_seconds"),
    "weekly_report_ratio_100k_1k": ("reporting_report_scaling", "weekly_ratio_100k_to_1k"),
    "school_year_report_ratio_100k_1k": ("reporting_report_scaling", "school_year_ratio_100k_to_1k"),
    "rebalance_seconds": ("matching_rebalance", "plan_seconds_median"),
}


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """The nine headline figures (``None`` where the benchmark was not run)."""
    return {k: results.get(bench, {}).get(key) for k, (bench, key) in SUMMARY.items()}


def run_benchmarks(out: Path, console: Console, only: list[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    if only and out.exists():  # a partial run keeps the other benchmarks' last figures
        results = json.loads(out.read_text(encoding="utf-8")).get("benchmarks", {})
    for name, fn in BENCHMARKS.items():
        if only and name not in only:
            continue
        console.print(f"[bold]bench[/bold] {name} …")
        t0 = time.perf_counter()
        results[name] = fn()
        elapsed = time.perf_counter() - t0
        console.print(f"  {json.dumps(results[name], ensure_ascii=False)[:400]}  ({elapsed:.1f} s)")
    doc = {
        "summary": summary(results),
        "generated_at": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "benchmarks": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")
    return doc
