"""Fuzzing the intake and casework APIs with schemathesis on the generated OpenAPI spec, in process.

The local gateway (``avdual.server.Gateway``: token verification → API Gateway proxy event → handler)
is called as a WSGI app: no server, no socket. Every operation gets schema-conforming
(positive) and schema-violating (negative) requests with a valid office token; checks: no 5xx,
documented status codes, content types, headers and response schemas, negative data rejected.

Stateful: schemathesis' state machine follows the OpenAPI links of the spec (``common.routes``: an answer
links to the routes that take the id it carries) through create → read → correct → withdraw and back,
with the real ids of the intakes it created, and checks every step (also that a created intake can be
read). Part of the generated forms are made plausible (ages, consent dates) so that creations succeed
and the chains reach stored intakes; the report counts the steps that followed a link to a stored intake.

``AVDUAL_FUZZ_EXAMPLES`` sets the examples per operation and mode (and the stateful scenarios): the
default keeps ``make test`` short; ``make fuzz`` runs ≥ 1,000 requests and reports them (``out/fuzz.json``).
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
    ("GET", "/students"),
    ("GET", "/students/{intake_id}"),
    ("POST", "/students/{intake_id}/internships"),
    ("PATCH", "/students/{intake_id}/internships/{internship_id}"),
    ("POST", "/students/{intake_id}/internships/{internship_id}/end"),
    ("POST", "/students/{intake_id}/meetings"),
    ("GET", "/companies"),
    ("POST", "/companies"),
    ("PATCH", "/companies/{company_id}"),
]
STATS: Counter[str] = Counter()
#: Stored ids per path parameter: half of the positive cases of an operation with ids use them.
EXISTING: dict[str, list[str]] = {"intake_id": [], "internship_id": [], "company_id": []}
APPS: list[Any] = []


@pytest.fixture(scope="module")
def fuzz() -> Iterator[tuple[Any, str]]:
    import schemathesis

    from avdual.runtime import LocalRuntime
    from avdual.server import Gateway
    from tests.conftest import companion, new_form

    with LocalRuntime(stage="fuzz", log_level="CRITICAL") as rt:
        token = rt.cognito.token("office")
        APPS.append(Gateway(rt))
        schema = schemathesis.openapi.from_wsgi("/openapi.json", APPS[0])
        assert rt.api("POST", "/companions", body=companion("B01", ["RFS"], 10), token=token).status == 200
        rt.drain()
        # real records, so that reads, corrections, withdrawals and casework also reach stored ones
        company = rt.api(
            "POST", "/companies", body={"name": "Fuzz GmbH", "town": "Asperg", "sector": "it"}, token=token
        )
        EXISTING["company_id"].append(company.json()["company_id"])
        for _ in range(3):
            r = rt.api("POST", "/intakes", body=new_form(), token=token)
            assert r.status == 201, r.body
            EXISTING["intake_id"].append(r.json()["intake_id"])
        rt.drain()
        for iid in EXISTING["intake_id"]:
            body = {
                "company_id": EXISTING["company_id"][0],
                "career_field": "it",
                "model": "weekly_days",
                "weekdays": ["mo"],
                "start_date": "2026-09-14",
            }
            r = rt.api("POST", f"/students/{iid}/internships", body=body, token=token)
            assert r.status == 201, r.body
            EXISTING["internship_id"].append(r.json()["internship_id"])
        yield schema, token
    total = sum(v for k, v in STATS.items() if k.startswith("requests:"))
    report = {
        "requests": total,
        "failures": STATS["failures"],
        "examples_per_operation_and_mode": EXAMPLES,
        "stateful": {
            "scenarios": STATS["stateful:scenarios"],
            "steps": STATS["stateful:steps"],
            "linked_steps_on_stored_intakes": {
                k.removeprefix("linked:"): v for k, v in sorted(STATS.items()) if k.startswith("linked:")
            },
        },
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


def conformance_checks() -> list[Any]:
    """What every fuzzed answer must satisfy: no 5xx; status code, content type, headers and body as
    documented."""
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
    ]


@pytest.mark.enable_socket  # hypothesis/schemathesis never open one (WSGI in process); belt and braces
@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_survives_fuzzing(fuzz: tuple[Any, str], method: str, path: str, mode: str) -> None:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import negative_data_rejection

    schema, token = fuzz
    operation = schema[path][method]
    checks = [*conformance_checks(), negative_data_rejection]
    auth = {"Authorization": f"Bearer {token}"}
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode), headers=auth)
    names = [n for n in EXISTING if "{" + n + "}" in path]
    if names and mode == "positive":  # half of the cases on stored records
        from hypothesis import strategies as st

        stored = [
            {n: EXISTING[n][k % len(EXISTING[n])] for n in names} for k in range(len(EXISTING["intake_id"]))
        ]
        strategy = st.one_of(
            strategy, *(operation.as_strategy(headers=auth, path_parameters=ids) for ids in stored)
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


# ------------------------------------------------------------------------------------------- stateful
#: Generated values kept in a plausible form: the coded fields (free texts and dates are the valid form's,
#: the cross-field rules and the name/text checks beyond the schema would refuse most generated ones).
CODED = ("school_id", "track", "certificate_on_entry", "german_support", "vabo_before", "internship_model")


def plausible(form: dict[str, Any]) -> dict[str, Any]:
    """The valid form with the coded fields of the generated ``form``: a creation that is stored, from
    which a chain of linked requests starts."""
    from tests.conftest import new_form

    out = new_form()  # another student each time (the same one twice is a duplicate)
    out.update({k: form[k] for k in CODED if k in form})
    student = form.get("student") if isinstance(form.get("student"), dict) else {}
    out["student"].update({k: student[k] for k in ("gender", "languages") if k in student})
    out["career_fields"] = list(dict.fromkeys(form.get("career_fields") or []))
    if out.get("internship_model") == "weekly_days":
        out["internship_days_per_week"] = 2
    return out


def workflow_machine(schema: Any, token: str) -> Any:
    """schemathesis' state machine of the intake routes, with a root rule that creates intakes, the office
    token on every call, the checks, and the counts of the report."""
    from hypothesis import strategies as st
    from hypothesis.stateful import Bundle
    from schemathesis import GenerationMode
    from schemathesis.generation.stateful.state_machine import StepInput
    from schemathesis.specs.openapi.checks import ensure_resource_availability
    from schemathesis.specs.openapi.stateful import transition

    checks = [*conformance_checks(), ensure_resource_availability]
    # schemathesis starts scenarios only from operations it deems likely roots (not POST /intakes, whose
    # school_id it takes for a reference to a resource nobody creates): one more root rule, built as
    # schemathesis builds its own, creates intakes (half of them plausible, so they are stored); the
    # machine routes the answers into its bundles, and the links lead on from there.
    create = schema["/intakes"]["POST"].as_strategy(generation_mode=GenerationMode.POSITIVE)
    creations = st.tuples(create, st.booleans()).map(lambda t: made_plausible(*t))

    class Workflows(schema.as_state_machine()):  # type: ignore[misc]
        create_intake = transition(
            name="create_intake",
            target=Bundle("catch_all"),
            input=creations.map(StepInput.initial),
            precondition=lambda machine: True,
        )

        def setup(self) -> None:
            STATS["stateful:scenarios"] += 1

        def before_call(self, case: Any) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}

        def step(self, input: Any) -> Any:
            output = super().step(input)
            status = output.response.status_code
            STATS["stateful:steps"] += 1
            STATS[f"requests:{input.case.method} {input.case.path}"] += 1
            STATS[f"status:{status}"] += 1
            if input.transition is not None and input.is_applied and status < 300:
                STATS[f"linked:{input.case.method} {input.case.path}"] += 1
            return output

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            try:
                case.validate_response(response, checks=checks, recorder=self.recorder)
            except Exception:
                STATS["failures"] += 1
                raise

    return Workflows


def made_plausible(case: Any, make: bool) -> Any:
    if make and isinstance(case.body, dict):
        case.body = plausible(case.body)
    return case


@pytest.mark.enable_socket
def test_intake_workflows_survive_stateful_fuzzing(fuzz: tuple[Any, str]) -> None:
    """create → read → correct → withdraw (and every other linked order) on the intakes created."""
    import schemathesis
    from hypothesis import HealthCheck, settings
    from schemathesis import GenerationMode

    _, token = fuzz
    schema = schemathesis.openapi.from_wsgi("/openapi.json", APPS[0]).include(path_regex=r"^/intakes")
    schema.config.generation.update(modes=[GenerationMode.POSITIVE])
    workflow_machine(schema, token).run(
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    linked = {k.removeprefix("linked:") for k, v in STATS.items() if k.startswith("linked:") and v}
    assert linked, "no step followed a link to a stored intake"
    if EXAMPLES >= 50:  # make fuzz: every link kind reached a stored intake
        assert {f"{m} {p}" for m, p in OPERATIONS if p.startswith("/intakes/{intake_id}")} <= linked, linked
