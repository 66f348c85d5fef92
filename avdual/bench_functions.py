"""Benchmarks of the deployed functions' shape: cold import time per handler and unzipped size per function.

* ``cold_imports``: each handler module imported in a fresh interpreter (bytecode compiled, as ``uv sync
  --compile-bytecode`` and the Lambda asset have it) with the environment a deployed function has
  (``AWS_LAMBDA_FUNCTION_NAME`` and ``LAMBDA_TASK_ROOT`` set, so Powertools behaves as on Lambda:
  tracing enabled), against the baseline ``import boto3, aws_lambda_powertools`` in the same conditions;
  beside it the floor of each kind of function (``FLOORS``: the libraries it cannot start without, none of
  our code). Rounds interleave the baseline, the floors and every handler so that load from other processes
  hits all alike; the ratio is taken from the fastest round of each (noise from other processes only adds
  time), the medians are listed beside it.
* ``function_sizes``: per function the unzipped size of its code asset (``infra.bundling.ServiceBundler``)
  plus its own declared dependencies layers (``contracts.topology.LAYERS``), built by the same
  ``DependencyLayerBundler`` CDK uses (arm64 wheels for
  Lambda's Python, cached under ``.build/bench-layers/<asset hash>``), and, beside it, with the
  AWS-managed Powertools layer (estimated from the installed powertools + pydantic distributions).
"""

from __future__ import annotations

import importlib.metadata
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

BASELINE = "import boto3, aws_lambda_powertools"
#: What a kind of function cannot start without: the libraries alone, none of our code (docs/performance.md).
FLOORS = {
    # Powertools' batch utility (its module imports asyncio and every event data class)
    "relay": f"{BASELINE}\nfrom aws_lambda_powertools.utilities.batch import BatchProcessor",
    # … and pydantic to validate the events' envelopes
    "consumer": f"{BASELINE}\nfrom aws_lambda_powertools.utilities.batch import BatchProcessor\n"
    "from pydantic import BaseModel",
    # Powertools' idempotency and pydantic (the scheduled runs: renderer, checks)
    "scheduled": f"{BASELINE}\nfrom aws_lambda_powertools.utilities.idempotency import idempotent_function\n"
    "from pydantic import BaseModel",
    # the Event Handler with request validation (OpenAPI parameters, pydantic)
    "api": f"{BASELINE}\nfrom aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "from aws_lambda_powertools.event_handler.openapi.params import Query\n"
    "APIGatewayRestResolver(enable_validation=True)",
}
_TIMER = "import time, importlib\nt0 = time.perf_counter()\n{body}\nprint(time.perf_counter() - t0)\n"


def lambda_env(function: str) -> dict[str, str]:
    """The environment a deployed function has (names of its resources, fixed values), for a fresh
    interpreter that imports its handler."""
    from contracts.topology import FUNCTIONS, SERVICE_NAME_ENV, STAGE_ENV, constant_env, env_for

    fn = FUNCTIONS[function]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POWERTOOLS_", "AWS_"))}
    env.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": f"avdual-bench-{fn.name}",
            "LAMBDA_TASK_ROOT": "/var/task",  # Powertools' test for "running on Lambda" (Tracer enabled)
            "AWS_REGION": "eu-central-1",
            "AWS_DEFAULT_REGION": "eu-central-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            SERVICE_NAME_ENV: str(fn.service),
            STAGE_ENV: "bench",
        }
    )
    env.update({var: f"avdual-bench-{logical}" for var, logical in env_for(fn).items()})
    env.update(constant_env(fn))
    return env


def _time_import(body: str, env: dict[str, str]) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(body=body)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def bench_cold_imports(rounds: int = 5) -> dict[str, Any]:
    """Cold import of every handler vs ``import boto3, aws_lambda_powertools`` (fastest of ``rounds``)."""
    import compileall

    from contracts.topology import FUNCTIONS
    from infra.bundling import REPO_ROOT

    for package in ("contracts", "common", "services"):  # bytecode, as the function's first run leaves it
        compileall.compile_dir(REPO_ROOT / package, quiet=1)
    handlers = {name: fn.handler for name, fn in FUNCTIONS.items()}
    samples: dict[str, list[float]] = {"baseline": [], **{n: [] for n in handlers}}
    floors: dict[str, list[float]] = {n: [] for n in FLOORS}
    for _ in range(rounds):
        samples["baseline"].append(_time_import(BASELINE, lambda_env(next(iter(handlers)))))
        for name, body in FLOORS.items():
            floors[name].append(_time_import(body, lambda_env(next(iter(handlers)))))
        for name, path in handlers.items():
            module, _, attr = path.rpartition(".")
            body = f"getattr(importlib.import_module({module!r}), {attr!r})"
            samples[name].append(_time_import(body, lambda_env(name)))
    base = min(samples["baseline"])
    per: dict[str, dict[str, Any]] = {
        name: {
            "handler": handlers[name],
            "ms": round(1000 * min(samples[name]), 1),
            "median_ms": round(1000 * statistics.median(samples[name]), 1),
            "ratio": round(min(samples[name]) / base, 2),
        }
        for name in handlers
    }
    return {
        "baseline": BASELINE,
        "baseline_ms": round(1000 * base, 1),
        "baseline_median_ms": round(1000 * statistics.median(samples["baseline"]), 1),
        "rounds": rounds,
        "handlers": per,
        "ratio_max": max(float(v["ratio"]) for v in per.values()),
        "floors": {
            name: {"imports": FLOORS[name], "ms": round(1000 * min(t), 1), "ratio": round(min(t) / base, 2)}
            for name, t in floors.items()
        },
    }


def _tree_mb(root: Path, files: list[Path] | None = None) -> float:
    paths = [root / f for f in files] if files is not None else [p for p in root.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in paths) / 2**20


def _layer_mb(layer: Any, cache: Path) -> float:
    from infra.bundling import DependencyLayerBundler

    bundler = DependencyLayerBundler.of(layer)
    out = cache / bundler.asset_hash()
    done = out / ".complete"
    if not done.exists():
        out.mkdir(parents=True, exist_ok=True)
        bundler.try_bundle(str(out))
        done.touch()
    return _tree_mb(out / "python")


def _distributions_mb(names: tuple[str, ...]) -> float:
    """Installed size of distributions and their requirements (closure), from their RECORD files."""
    import re

    seen: set[str] = set()
    todo = list(names)
    total = 0
    while todo:
        name = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        for f in dist.files or []:
            if "__pycache__" in f.parts or f.suffix == ".pyc" or f.parts[0].endswith("-info"):
                continue
            p = Path(str(dist.locate_file(f)))
            total += p.stat().st_size if p.is_file() else 0
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
            if m:
                todo.append(m.group(1))
    return total / 2**20


def bench_function_sizes(cache: Path = Path(".build/bench-layers")) -> dict[str, Any]:
    """Unzipped MB per function: code asset + its own declared dependencies layers (and with the Powertools
    layer)."""
    from contracts.topology import FUNCTIONS, LAYERS
    from infra.bundling import REPO_ROOT, ServiceBundler, requirements_of

    powertools_mb = _distributions_mb(("aws-lambda-powertools", "pydantic"))
    layer_mb = {name: round(_layer_mb(layer, cache), 1) for name, layer in LAYERS.items()}
    layers = {
        name: {"requirements": requirements_of(layer), "mb": layer_mb[name]} for name, layer in LAYERS.items()
    }
    code = {
        svc: _tree_mb(REPO_ROOT, ServiceBundler(svc, REPO_ROOT).files())
        for svc in sorted({str(fn.service) for fn in FUNCTIONS.values()})
    }
    functions: dict[str, dict[str, Any]] = {}
    for name, fn in FUNCTIONS.items():
        own_layers = sum(layer_mb[layer.name] for layer in fn.layers)
        own = code[str(fn.service)] + own_layers
        functions[name] = {
            "layers": [layer.name for layer in fn.layers],
            "code_mb": round(code[str(fn.service)], 1),
            "layers_mb": round(own_layers, 1),
            "own_mb": round(own, 1),
            "with_powertools_layer_mb": round(own + powertools_mb, 1),
        }
    return {
        "note": "unzipped; own = the service's code asset + the function's declared dependencies layers "
        "(arm64, as CDK bundles them); the AWS-managed Powertools layer estimated from the installed "
        "distributions",
        "powertools_layer_mb_estimate": round(powertools_mb, 1),
        "layers": layers,
        "functions": functions,
        "functions_own_mb": {name: f["own_mb"] for name, f in functions.items()},
        "max_own_mb": max(f["own_mb"] for f in functions.values()),
    }
