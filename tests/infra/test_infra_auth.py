"""Cognito in the synthesized stack: the topology's user pool and groups, a web client that
cannot write its own companion id, the authorizer on every non-public method, German gateway answers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from common.web import LOCAL_LOGIN_VARIABLE
from contracts import topology as topo
from contracts.reference import SCHOOLS
from tests.infra.cfn import Synthesized

pytestmark = pytest.mark.infra


@pytest.fixture(scope="module")
def template(synthesized: Synthesized) -> dict[str, Any]:
    """The process's one synth of the stack (tests/infra/cfn.py)."""
    return synthesized.json


def of_type(t: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in t["Resources"].items() if r["Type"] == cfn_type}


def test_user_pool_with_one_group_per_role_and_school(template: dict[str, Any]) -> None:
    (pool,) = of_type(template, "AWS::Cognito::UserPool").values()
    props = pool["Properties"]
    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert props["MfaConfiguration"] == "ON" and props["Policies"]["PasswordPolicy"]["MinimumLength"] >= 12
    groups = {g["Properties"]["GroupName"] for g in of_type(template, "AWS::Cognito::UserPoolGroup").values()}
    assert groups == {"office", "companion", *(f"school-{s}" for s in SCHOOLS)} == set(topo.COGNITO.groups)


def test_web_client_cannot_write_the_companion_id(template: dict[str, Any]) -> None:
    (client,) = of_type(template, "AWS::Cognito::UserPoolClient").values()
    props = client["Properties"]
    assert props["GenerateSecret"] is False and "ALLOW_USER_PASSWORD_AUTH" in props["ExplicitAuthFlows"]
    assert "custom:companion_id" in props["ReadAttributes"]
    assert not any(a.startswith("custom:") for a in props["WriteAttributes"])
    assert props["IdTokenValidity"] == 60 and props["TokenValidityUnits"]["IdToken"] == "minutes"


def test_cognito_authorizer_on_every_non_public_method(template: dict[str, Any]) -> None:
    ((authorizer_id, authorizer),) = of_type(template, "AWS::ApiGateway::Authorizer").items()
    assert authorizer["Properties"]["Type"] == "COGNITO_USER_POOLS"
    methods = list(of_type(template, "AWS::ApiGateway::Method").values())
    assert len(methods) == len(topo.ROUTES)
    public = [m for m in methods if m["Properties"]["AuthorizationType"] == "NONE"]
    assert len(public) == sum(1 for r in topo.ROUTES if r.public) >= 1  # the web form page, …
    for m in methods:
        if m not in public:
            assert m["Properties"]["AuthorizationType"] == "COGNITO_USER_POOLS"
            assert m["Properties"]["AuthorizerId"] == {"Ref": authorizer_id}


def test_uploads_are_binary_and_the_web_form_gets_its_login_config(template: dict[str, Any]) -> None:
    (api,) = of_type(template, "AWS::ApiGateway::RestApi").values()
    assert api["Properties"]["BinaryMediaTypes"] == list(topo.BINARY_MEDIA_TYPES)
    assert "multipart/form-data" in topo.BINARY_MEDIA_TYPES and "application/pdf" in topo.BINARY_MEDIA_TYPES
    (stage,) = of_type(template, "AWS::ApiGateway::Stage").values()
    variables = stage["Properties"]["Variables"]
    (client_id,) = of_type(template, "AWS::Cognito::UserPoolClient")
    assert variables["userPoolClientId"] == {"Ref": client_id}
    assert set(variables) == {"authEndpoint", "userPoolClientId", "region"}
    # "Mit Token anmelden (Entwicklung)" exists only where the local runtime serves the pages
    assert LOCAL_LOGIN_VARIABLE not in variables


def test_gateway_answers_are_german(template: dict[str, Any]) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in of_type(template, "AWS::ApiGateway::GatewayResponse").values()
    }
    body = json.loads(responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"])
    assert (
        body == {"message": "Bitte anmelden.", "errors": []}
        and responses["UNAUTHORIZED"]["StatusCode"] == "401"
    )
    assert "Keine Berechtigung" in responses["ACCESS_DENIED"]["ResponseTemplates"]["application/json"]


def test_every_api_function_knows_the_app_client_its_tokens_must_be_issued_to(
    template: dict[str, Any],
) -> None:
    """The Cognito authorizer accepts ID tokens of *any* app client of the pool (it checks signature, issuer
    and expiry; "Use Amazon Cognito user pools as authorizer for a REST API", API Gateway developer guide):
    each API function gets the web client's id and refuses other audiences itself."""
    (client_id,) = of_type(template, "AWS::Cognito::UserPoolClient")
    api_handlers = {topo.FUNCTIONS[r.function].handler for r in topo.ROUTES}
    functions = of_type(template, "AWS::Lambda::Function").values()
    with_client = {
        f["Properties"]["Handler"]
        for f in functions
        if f["Properties"].get("Environment", {}).get("Variables", {}).get(topo.COGNITO.client_id_env)
        == {"Ref": client_id}
    }
    assert with_client == api_handlers and len(api_handlers) == 4  # intake, matching, reporting, casework


def test_stack_outputs_name_the_api_pool_and_web_client(template: dict[str, Any]) -> None:
    """What ``avdual smoke --stage`` and the deploy guide read (``contracts.operations``): the API's base URL,
    the user pool and the web app client, each referencing the resource itself."""
    from contracts.operations import OUTPUT_API_URL, OUTPUT_USER_POOL_ID, OUTPUT_WEB_CLIENT_ID

    outputs = template["Outputs"]
    (pool_id,) = of_type(template, "AWS::Cognito::UserPool")
    (client_id,) = of_type(template, "AWS::Cognito::UserPoolClient")
    ((api_id, _),) = of_type(template, "AWS::ApiGateway::RestApi").items()
    assert outputs[OUTPUT_USER_POOL_ID]["Value"] == {"Ref": pool_id}
    assert outputs[OUTPUT_WEB_CLIENT_ID]["Value"] == {"Ref": client_id}
    url = json.dumps(outputs[OUTPUT_API_URL]["Value"])
    assert '"Ref": "' + api_id + '"' in url and "execute-api" in url
