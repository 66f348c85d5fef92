"""AWS calls per intake, end to end, counted at the client level (``avdual.runtime.call_count``): every call
any function makes, the outbox relays included. Pins the calls docs/performance.md argues for, so that a
change that adds a read or a write per intake shows up here (call counts are exact; no timing)."""

from __future__ import annotations

import copy
from typing import Any

from avdual.bench import CLAIM_PATH_CALLS
from avdual.runtime import LocalRuntime
from tests.conftest import VALID_FORM, companion
from tests.integration.test_intake_api import OFFICE

#: Per intake that is assigned at once: function → AWS calls (docs/performance.md, "Design floor").
EXPECTED = {
    # the student's keyed hash (KMS HMAC) and the duplicate check by it, then the one transaction
    "intake-api": {"kms.GenerateMac": 1, "dynamodb.Query": 1, "dynamodb.TransactWriteItems": 1},
    "intake-outbox-relay": {"events.PutEvents": 1},
    "matching-consumer": {"dynamodb.Query": 2, "dynamodb.TransactWriteItems": 1},
    "matching-outbox-relay": {"events.PutEvents": 1},
    # casework learns the companion's caseload from CompanionAssigned (docs/adr/0022-casework.md): a first
    # assignment opens the case without reading it first
    "casework-consumer": {"dynamodb.TransactWriteItems": 1},
    "intake-consumer": {"dynamodb.UpdateItem": 1},
    # one transaction per fact; "companion full" is decided from the caseload CompanionAssigned carries
    "reporting-consumer": {"dynamodb.TransactWriteItems": 2},
}


def _form(n: int) -> dict[str, Any]:
    f = copy.deepcopy(VALID_FORM)
    f["student"]["given_name"] = f"Schüler{n}"
    return f


def test_an_assigned_intake_costs_the_calls_of_the_design(rt: LocalRuntime) -> None:
    assert (
        rt.api("POST", "/companions", body=companion("B01", ["RFS"], capacity=40), claims=OFFICE).status
        == 200
    )
    rt.drain()
    rt.clear_call_counts()
    n = 5
    school = {"sub": "school-user", "cognito:username": "schule-rfs", "cognito:groups": "school-RFS"}
    for i in range(n):
        assert rt.api("POST", "/intakes", body=_form(i), claims=school).status == 201
        rt.drain()
    calls = {f: {op: c / n for op, c in ops.items()} for f, ops in rt.api_calls_by_function.items()}
    assert calls == EXPECTED
    # the bench's latency split tells the claim path by this count (avdual/bench.py)
    assert sum(EXPECTED["matching-consumer"].values()) == CLAIM_PATH_CALLS
    assert sum(rt.api_calls.values()) / n == sum(sum(ops.values()) for ops in EXPECTED.values())


def test_clients_made_before_the_runtime_or_by_another_session_are_counted() -> None:
    import boto3

    early = boto3.session.Session(region_name="eu-central-1").client("sqs")  # before any runtime started
    with LocalRuntime(stage="count", log_level="ERROR") as runtime:
        runtime.clear_call_counts()
        early.list_queues()
        with runtime.counting("intake-api"):
            early.list_queues()
        assert runtime.runtime_calls == {"sqs.ListQueues": 1}
        assert runtime.api_calls == {"sqs.ListQueues": 1}
        assert runtime.api_calls_by_function == {"intake-api": {"sqs.ListQueues": 1}}
