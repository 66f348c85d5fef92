"""The API entry (common/routes.py) on events in the shape of the AWS developer guide's "Input format of a
Lambda function for proxy integration" (``resource``, ``path``, ``httpMethod``, ``pathParameters``,
``requestContext.authorizer.claims``): it decides from ``resource`` + ``httpMethod`` and the claims, before
any parsing, without AWS calls (sockets are off in unit tests)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from avdual.runtime.lambda_service import FakeLambdaContext
from common.errors import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED
from contracts.topology import COGNITO

CLIENT = "web-client-id"
OFFICE = {"sub": "o", "cognito:groups": "office", "token_use": "id", "aud": CLIENT}
SCHOOL = {"sub": "s", "cognito:groups": "school-RFS", "token_use": "id", "aud": CLIENT}
ULID = "01KC0ZB5M7Y2N0P3Q4R5S6T7V8"


@pytest.fixture(autouse=True)
def _client_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COGNITO.client_id_env, CLIENT)


def event(
    method: str,
    resource: str,
    path: str,
    params: dict[str, str] | None,
    claims: dict[str, str] | None,
    body: Any,
) -> dict[str, Any]:
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": {"Content-Type": "application/json"},
        "multiValueHeaders": {"Content-Type": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": params,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "authorizer": {"claims": claims} if claims is not None else None,
        },
        "body": body,
        "isBase64Encoded": False,
    }


def answer(out: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return int(out["statusCode"]), json.loads(out["body"])


def test_a_school_posting_nothing_to_an_office_route_gets_403_not_the_route_shape() -> None:
    from services.matching.handlers.api import handler

    out = handler(event("POST", "/companions", "/companions", None, SCHOOL, "{}"), FakeLambdaContext("api"))
    assert answer(out) == (403, {"message": FORBIDDEN, "errors": []})


@pytest.mark.parametrize(
    "claims",
    [None, {}, {**OFFICE, "aud": "another-client"}, {**OFFICE, "token_use": "access"}],
    ids=["no authorizer", "no subject", "another app client", "access token"],
)
def test_no_verified_id_token_of_the_app_client_is_401(claims: dict[str, str] | None) -> None:
    from services.matching.handlers.api import handler

    out = handler(event("POST", "/companions", "/companions", None, claims, "{"), FakeLambdaContext("api"))
    assert answer(out) == (401, {"message": UNAUTHENTICATED, "errors": []})


@pytest.mark.parametrize(
    "value", [f"{ULID}\n", f"{ULID}/", f"{ULID}\x00", f"{ULID} ", ULID.lower(), "x" * 300]
)
def test_a_path_id_from_path_parameters_must_be_exactly_an_id(value: str) -> None:
    from services.intake.handlers.api import handler

    raw = "/intakes/" + value.encode().hex()  # the path is never read for ids
    params = {"intake_id": value}
    out = handler(event("PATCH", "/intakes/{intake_id}", raw, params, OFFICE, "{}"), FakeLambdaContext("api"))
    assert answer(out) == (404, {"message": NOT_FOUND, "errors": []})


def test_a_resource_of_another_function_is_404() -> None:
    from services.intake.handlers.api import handler

    out = handler(event("GET", "/companions", "/companions", None, OFFICE, None), FakeLambdaContext("api"))
    assert answer(out)[0] == 404
