"""What a function's cold start imports: each handler in a fresh interpreter, as on Lambda, leaves the heavy
libraries to the code that uses them (docs/performance.md, "Cold imports"). The time is measured by the
bench (``avdual bench --only cold_imports``); this pins which modules are loaded, which does not depend on
the machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from contracts.topology import FUNCTIONS, OUTBOX_RELAY_HANDLER, TRACE_DISABLED_ENV

#: Imported only where used: the solver (a full school), workbooks, templates, PDF, charts, the LP solver.
HEAVY = (
    "numpy",
    "ortools",
    "pandas",
    "scipy",
    "highspy",
    "openpyxl",
    "jinja2",
    "fpdf",
    "PIL",
    "matplotlib",
    "aws_xray_sdk.core",
    # Powertools' parser models (a pydantic model of every AWS event source, built on import): the consumers
    # read records with its data classes. Powertools' batch utility imports them itself when pydantic was
    # imported before it, so the order of imports matters.
    "aws_lambda_powertools.utilities.parser",
)

#: Not needed either by a function that only moves events: the outbox relays render stream records into
#: ``PutEvents`` entries by the names in the event catalogue (``contracts.event_catalog``), no data models.
RELAY_NEEDS_NOT = ("pydantic",)


def not_at_start(function: str) -> tuple[str, ...]:
    relay = FUNCTIONS[function].handler == OUTBOX_RELAY_HANDLER
    return HEAVY + RELAY_NEEDS_NOT if relay else HEAVY


#: A module that does import a heavy library (the min-cost flow imports numpy): the probe must see it.
CONTROL, CONTROL_HANDLER = "control", "services.matching.logic.flow_solver.plan"

PROBE = """
import importlib, json, os, sys
import boto3, aws_lambda_powertools  # what every function imports; each handler is then imported in a fork
handlers, candidates = json.loads(sys.argv[1]), json.loads(sys.argv[2])
found = {}
for function, handler in handlers.items():
    read, write = os.pipe()
    if os.fork() == 0:
        module, _, attr = handler.rpartition(".")
        getattr(importlib.import_module(module), attr)
        os.write(write, json.dumps([name for name in candidates if name in sys.modules]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as f:
        found[function] = json.loads(f.read())
    os.wait()
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def imported() -> dict[str, list[str]]:
    """Per function, which of :data:`HEAVY` and :data:`RELAY_NEEDS_NOT` importing its handler loads (a fresh
    interpreter with a Lambda environment; the modules every function needs are loaded first and each handler
    in a fork of that)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(
        {"LAMBDA_TASK_ROOT": "/var/task", "AWS_LAMBDA_FUNCTION_NAME": "probe", TRACE_DISABLED_ENV: "true"}
    )
    handlers = {name: fn.handler for name, fn in FUNCTIONS.items()} | {CONTROL: CONTROL_HANDLER}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(handlers), json.dumps(HEAVY + RELAY_NEEDS_NOT)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    found: dict[str, list[str]] = json.loads(out.stdout)
    return found


def test_the_probe_sees_every_function_and_a_heavy_import(imported: dict[str, list[str]]) -> None:
    assert sorted(imported) == sorted([*FUNCTIONS, CONTROL])
    assert "numpy" in imported[CONTROL]
    assert any("pydantic" in names for names in imported.values())


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_a_handler_imports_no_heavy_library_at_cold_start(
    imported: dict[str, list[str]], function: str
) -> None:
    assert [name for name in imported[function] if name in not_at_start(function)] == []
