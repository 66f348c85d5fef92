"""Fuzzing the intake API with schemathesis on the generated OpenAPI spec, in process.

The local gateway (``avdual.server.Gateway``: token verification → API Gateway proxy event → handler)
is called as a WSGI app: no server, no socket. Every intake operation gets schema-conforming
(positive) and schema-violating (negative) requests with a valid office token; checks: no 5xx,
documented status codes, content types, headers and response schemas, negative data rejected.

``AVDUAL_FUZZ_EXAMPLES`` sets the examples per operation and mode: the default keeps ``make test``
short (~100 requests); ``make fuzz`` runs ≥ 1,000 and reports the count (``out/fuzz.json``).
schemathesis' pytest plugin is not loaded (``-p no:schemathesis``): the strategies are used directly.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = int(os.environ.get("AVDUAL_FUZZ_EXAMPLES", "8"))
REPORT = Path(os.environ.get("AVDUAL_FUZZ_REPORT", "out/fuzz.json"))
OPERATIONS = [
    ("POST", "/intakes"),
    ("GET", "/intakes"),
    ("POST", "/intakes/batch"),
    ("GET", "/intakes/{intake_id}"),
    ("PATCH", "/intakes/{intake_id}"),
    ("POST", "/intakes/{intake_id}/withdraw"),
]
STATS: Counter[str] = Counter()
EXISTING: list[str] = []


@pytest.fixture(scope="module")
def fuzz() -> Iterator[tuple[Any, str]]:
    import schemathesis

    from avdual.runtime import LocalRuntime
    from avdual.server import Gateway
    from tests.conftest import VALID_FORM

    with LocalRuntime(stage="fuzz", log_level="CRITICAL") as rt:
        token = rt.cognito.token("office")
        schema = schemathesis.openapi.from_wsgi("/openapi.json", Gateway(rt))
        # real intakes, so that reads, corrections and withdrawals also reach stored records
        for _ in range(3):
            r = rt.api("POST", "/intakes", body=VALID_FORM, token=token)
            assert r.status == 201, r.body
            EXISTING.append(r.json()["intake_id"])
        yield schema, token
    total = sum(v for k, v in STATS.items() if k.startswith("requests:"))
    report = {
        "requests": total,
        "failures": STATS["failures"],
        "examples_per_operation_and_mode": EXAMPLES,
        "by_operation": {
            k.removeprefix("requests:"): v for k, v in sorted(STATS.items()) if k.startswith("requests:")
        },
        "statuses": {
            k.removeprefix("status:"): v for k, v in sorted(STATS.items()) if k.startswith("status:")
        },
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"\nschemathesis: {total} requests, {STATS['failures']} failures → {REPORT}")


@pytest.mark.enable_socket  # hypothesis/schemathesis never open one (WSGI in process); belt and braces
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_intake_operation_survives_fuzzing(fuzz: tuple[Any, str], method: str, path: str, mode: str) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema, token = fuzz
    operation = schema[path][method]
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    auth = {"Authorization": f"Bearer {token}"}
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode), headers=auth)
    if "{intake_id}" in path and mode == "positive":  # half of the cases on stored intakes
        from hypothesis import strategies as st

        strategy = st.one_of(
            strategy,
            *(operation.as_strategy(headers=auth, path_parameters={"intake_id": i}) for i in EXISTING),
        )

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        print_blob=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )
    @given(case=strategy)
    def run(case: Any) -> None:
        response = case.call()
        STATS[f"requests:{method} {path}"] += 1
        STATS[f"status:{response.status_code}"] += 1
        try:
            case.validate_response(response, checks=checks)
        except Exception:
            STATS["failures"] += 1
            raise

    try:
        run()
    except Unsatisfiable:
        if mode == "positive":
            raise
        pytest.skip("no schema-violating input exists for this operation")
