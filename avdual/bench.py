"""``make bench``: benchmarks with JSON output (never timed assertions in tests).

Each benchmark is a function returning a dict of figures; :data:`BENCHMARKS` lists them.
Services add theirs here. Output: ``out/bench.json`` ``{"benchmarks": {name: figures}, ...}``.
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
    """Demo wall time, intakes per second through the local pipeline, AWS API calls per intake."""
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    scenario, forms = load_scenario(), load_intakes()
    t0 = time.perf_counter()
    with LocalRuntime(stage="bench", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        rt.api_calls.clear()
        t1 = time.perf_counter()
        submit_all(rt, forms)
        t2 = time.perf_counter()
        calls = dict(rt.api_calls)
        rt.run_schedule("reporting-renderer", "weekly-report")
        t3 = time.perf_counter()
    n = len(forms)
    total_calls = sum(calls.values())
    return {
        "intakes": n,
        "pipeline_seconds": round(t2 - t1, 3),
        "intakes_per_second": round(n / (t2 - t1), 2),
        "aws_api_calls_per_intake": round(total_calls / n, 2),
        "aws_api_calls_by_operation": dict(sorted(calls.items(), key=lambda kv: -kv[1])),
        "report_seconds": round(t3 - t2, 3),
        "wall_seconds_incl_setup": round(t3 - t0, 3),
    }


def bench_demo_wall() -> dict[str, Any]:
    """Wall time of ``avdual demo`` (the `make demo` job without the make/uv set-up)."""
    import io

    from avdual.demo import run_demo

    t0 = time.perf_counter()
    result = run_demo(out_dir=Path("out/bench-demo"), console=Console(file=io.StringIO()))
    return {"demo_wall_seconds": round(time.perf_counter() - t0, 3), "problems": result.problems}


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


BENCHMARKS: dict[str, Callable[[], dict[str, Any]]] = {
    "pipeline": bench_pipeline,
    "demo": bench_demo_wall,
    "matching_online": _matching("matching_online"),
    "matching_rebalance": _matching("matching_rebalance"),
    "matching_cost_gap": _matching("matching_cost_gap"),
    "matching_resolve": _matching("matching_resolve"),
    "reporting_report_scaling": _reporting,
    "casework_routes": _casework,
}


def run_benchmarks(out: Path, console: Console, only: list[str] | None = None) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, fn in BENCHMARKS.items():
        if only and name not in only:
            continue
        console.print(f"[bold]bench[/bold] {name} …")
        t0 = time.perf_counter()
        results[name] = fn()
        elapsed = time.perf_counter() - t0
        console.print(f"  {json.dumps(results[name], ensure_ascii=False)[:400]}  ({elapsed:.1f} s)")
    doc = {
        "generated_at": datetime.now(UTC).isoformat(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "benchmarks": results,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console.print(f"wrote {out}")
    return doc
