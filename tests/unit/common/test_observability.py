"""Tracing without the X-Ray SDK: the deployed functions set ``POWERTOOLS_TRACE_DISABLED`` (Lambda's active
tracing records the invocations); then no handler imports the SDK, and a traced handler still runs."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from contracts.topology import FUNCTIONS, TRACE_DISABLED_ENV

PROBE = """
import importlib, sys
from contracts.topology import FUNCTIONS
for fn in FUNCTIONS.values():
    module, _, attr = fn.handler.rpartition(".")
    getattr(importlib.import_module(module), attr)
from common.observability import tracer
print(int("aws_xray_sdk.core" in sys.modules), type(tracer("intake").provider).__module__)
"""


def _probe(trace_disabled: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    env.update(
        {
            "LAMBDA_TASK_ROOT": "/var/task",
            "AWS_LAMBDA_FUNCTION_NAME": "probe",
            TRACE_DISABLED_ENV: trace_disabled,
        }
    )
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_on_lambda_with_tracing_disabled_no_handler_imports_the_xray_sdk() -> None:
    imported, provider = _probe("true")
    assert imported == "0", f"a handler imports aws_xray_sdk.core ({len(FUNCTIONS)} handlers imported)"
    assert provider == "common.observability"


def test_switching_the_sdk_tracing_back_on_uses_the_xray_recorder() -> None:
    imported, provider = _probe("false")
    assert imported == "1"
    assert provider.startswith("aws_xray_sdk")


@pytest.mark.parametrize("fails", [False, True])
def test_a_traced_handler_runs_and_raises_as_without_tracing(fails: bool) -> None:
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from common.observability import tracer

    @tracer("intake").capture_lambda_handler
    def handler(event: dict[str, int], context: LambdaContext) -> dict[str, int]:
        if fails:
            raise ValueError("boom")
        return {"n": event["n"] + 1}

    if fails:
        with pytest.raises(ValueError, match="boom"):
            handler({"n": 1}, None)  # type: ignore[arg-type]
    else:
        assert handler({"n": 1}, None) == {"n": 2}  # type: ignore[arg-type]
