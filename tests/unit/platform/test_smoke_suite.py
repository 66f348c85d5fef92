"""The parts of ``avdual smoke`` that only a deployed stage exercises in full: the stack outputs, the TOTP
answer to Cognito's MFA challenge (against moto's Cognito, which verifies the code), the user variables; and
the checks that must fail on wrong files. ``tests/e2e/test_smoke.py`` runs the whole suite against
``make serve``."""

from __future__ import annotations

import base64
import io
import time
import zipfile
from datetime import date, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws
from openpyxl import Workbook

from avdual.auth import LOCAL_PASSWORD, LocalCognito, user_for
from avdual.smoke import (
    Credentials,
    SmokeError,
    check_pdf,
    check_xlsx,
    credentials,
    login,
    school_of,
    smoke_form,
    stage_target,
    totp_code,
    wait_until_loaded,
)
from contracts.operations import OUTPUT_API_URL, OUTPUT_USER_POOL_ID, OUTPUT_WEB_CLIENT_ID, stack_name
from services.intake.logic.rules import check_form
from services.intake.models.intake import CONSENT_TEXT_VERSION, IntakeForm

REGION = "eu-central-1"


# ---------------------------------------------------------------------------- TOTP and login
def test_totp_code_is_rfc_6238() -> None:
    """RFC 6238 appendix B (SHA-1 key "12345678901234567890"), the last six of its eight digits."""
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert totp_code(secret, 59) == "287082"
    assert totp_code(secret, 1111111109) == "081804"
    assert totp_code(secret.lower().rstrip("="), 1234567890) == "005924"  # as authenticator apps show keys


@pytest.fixture
def mfa_pool(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The local pool with the office user enrolled in TOTP MFA; moto checks every code against the key."""
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")
    with mock_aws():
        cognito = LocalCognito("smoke-mfa", REGION).create()
        user = user_for("office")
        cognito.ensure_user(user)
        c = cognito.client
        tokens = c.admin_initiate_auth(
            UserPoolId=cognito.pool_id,
            ClientId=cognito.client_id,
            AuthFlow="ADMIN_USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": user.username, "PASSWORD": LOCAL_PASSWORD},
        )["AuthenticationResult"]
        secret = c.associate_software_token(AccessToken=tokens["AccessToken"])["SecretCode"]
        c.verify_software_token(AccessToken=tokens["AccessToken"], UserCode=totp_code(secret, time.time()))
        c.admin_set_user_mfa_preference(
            UserPoolId=cognito.pool_id,
            Username=user.username,
            SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True},
        )
        yield cognito, user.username, secret


def test_login_answers_the_mfa_challenge_with_the_authenticator_code(mfa_pool: Any) -> None:
    cognito, username, secret = mfa_pool
    token = login(cognito.forward, cognito.client_id, Credentials(username, LOCAL_PASSWORD, secret))
    claims = cognito.verify(token)
    assert claims["token_use"] == "id" and claims["aud"] == cognito.client_id  # noqa: S105
    assert claims["cognito:username"] == username


def test_login_without_or_with_a_wrong_key_fails(mfa_pool: Any) -> None:
    cognito, username, _ = mfa_pool
    with pytest.raises(SmokeError, match="TOTP_SECRET"):
        login(cognito.forward, cognito.client_id, Credentials(username, LOCAL_PASSWORD))
    wrong = base64.b32encode(b"another key 12345678").decode()
    with pytest.raises(ClientError, match="CodeMismatch"):
        login(cognito.forward, cognito.client_id, Credentials(username, LOCAL_PASSWORD, wrong))


def test_login_refuses_a_challenge_it_cannot_answer() -> None:
    def cognito(operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"ChallengeName": "NEW_PASSWORD_REQUIRED", "Session": "s"}

    with pytest.raises(SmokeError, match="NEW_PASSWORD_REQUIRED: log in once in the web form"):
        login(cognito, "client", Credentials("u", "p", "GEZDGNBV"))


def test_a_deployed_stage_needs_its_users_from_the_environment() -> None:
    with pytest.raises(SmokeError, match="AVDUAL_SMOKE_OFFICE_USER and AVDUAL_SMOKE_OFFICE_PASSWORD"):
        credentials("office", {}, local=False)
    env = {"AVDUAL_SMOKE_SCHOOL_USER": "s.test", "AVDUAL_SMOKE_SCHOOL_PASSWORD": "pw", "X": "y"}
    assert credentials("school", env, local=False) == Credentials("s.test", "pw", None)
    assert credentials("school", {}, local=True).username == user_for("school", school="RFS").username


def test_the_school_comes_from_the_token_groups() -> None:
    def token(groups: Any) -> str:
        payload = base64.urlsafe_b64encode(f'{{"cognito:groups": {groups}}}'.encode()).decode().rstrip("=")
        return f"h.{payload}.s"

    assert school_of(token('["school-MPS"]')) == "MPS"
    with pytest.raises(SmokeError, match="exactly one"):
        school_of(token('["office"]'))


# ---------------------------------------------------------------------------- the stack outputs
class _Page:
    def __init__(self, client_id: str):
        self.status_code = 200
        self.text = (
            '<html><script type="application/json" id="config">{"auth_endpoint": '
            f'"https://cognito-idp.eu-central-1.amazonaws.com/", "client_id": "{client_id}", '
            f'"consent_text_version": "{CONSENT_TEXT_VERSION}"}}</script></html>'
        )


class _Http:
    def __init__(self, client_id: str):
        self.client_id, self.urls = client_id, []

    def get(self, url: str, timeout: float) -> _Page:
        self.urls.append(url)
        return _Page(self.client_id)


def _stack(outputs: dict[str, str]) -> Any:
    cfn = boto3.client("cloudformation", region_name=REGION)
    stub = Stubber(cfn)
    stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": stack_name("dev"),
                    "CreationTime": "2026-12-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": [{"OutputKey": k, "OutputValue": v} for k, v in outputs.items()],
                }
            ]
        },
        {"StackName": stack_name("dev")},
    )
    stub.activate()
    return cfn


OUTPUTS = {
    OUTPUT_API_URL: "https://abc123.execute-api.eu-central-1.amazonaws.com/dev/",
    OUTPUT_USER_POOL_ID: "eu-central-1_AbCdEf123",
    OUTPUT_WEB_CLIENT_ID: "3n4b5urk1ft4fl3mg5e62d9ado",
}


def test_a_stage_is_found_by_its_stack_outputs() -> None:
    http = _Http(OUTPUTS[OUTPUT_WEB_CLIENT_ID])
    t = stage_target("dev", http, _stack(OUTPUTS))  # type: ignore[arg-type]
    assert t.base_url == OUTPUTS[OUTPUT_API_URL]
    assert t.auth_endpoint == "https://cognito-idp.eu-central-1.amazonaws.com/"
    assert (t.client_id, t.stage, t.local) == (OUTPUTS[OUTPUT_WEB_CLIENT_ID], "dev", False)
    assert t.consent_text_version == CONSENT_TEXT_VERSION
    assert http.urls == [OUTPUTS[OUTPUT_API_URL]]  # the web form of the API: its config block


def test_a_stage_without_the_outputs_or_with_another_client_on_its_page_is_refused() -> None:
    partial = {k: v for k, v in OUTPUTS.items() if k != OUTPUT_WEB_CLIENT_ID}
    with pytest.raises(SmokeError, match=f"no output\\(s\\) {OUTPUT_WEB_CLIENT_ID}"):
        stage_target("dev", _Http("x"), _stack(partial))  # type: ignore[arg-type]
    with pytest.raises(SmokeError, match="web form names app client other"):
        stage_target("dev", _Http("other"), _stack(OUTPUTS))  # type: ignore[arg-type]


class _Health:
    def __init__(self, states: list[str | None]):
        self.states, self.urls = states, []

    def get(self, url: str, timeout: float) -> Any:
        self.urls.append(url)
        state = self.states.pop(0)
        body = {"status": "ok"} | ({"scenario": {"state": state}} if state else {})
        return type("Resp", (), {"status_code": 200, "json": lambda self: body})()


def test_a_local_server_loading_its_demo_scenario_is_waited_for() -> None:
    """``make serve`` answers while it plays the demo weeks (its clock still in the past): the suite starts
    when ``/healthz`` says the scenario is loaded, and gives up after its timeout."""
    naps: list[float] = []
    http = _Health(["loading", "loading", "ready"])
    assert wait_until_loaded("http://127.0.0.1:8000/", http, sleep=naps.append) == 4.0  # type: ignore[arg-type]
    assert naps == [2.0, 2.0] and http.urls == ["http://127.0.0.1:8000/healthz"] * 3
    assert wait_until_loaded("http://x/", _Health([None]), sleep=naps.append) == 0.0  # type: ignore[arg-type]
    with pytest.raises(SmokeError, match="still loading its demo scenario after 4 s"):
        wait_until_loaded("http://x/", _Health(["loading"] * 5), timeout=4, sleep=naps.append)  # type: ignore[arg-type]
    with pytest.raises(SmokeError, match="could not load its demo scenario"):
        wait_until_loaded("http://x/", _Health(["failed"]), sleep=naps.append)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- downloaded files
def _xlsx(rows: list[list[Any]]) -> bytes:
    wb = Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_file_checks_pass_real_files_and_fail_everything_else() -> None:
    assert check_xlsx(_xlsx([["Schule", "Anzahl"], ["RFS", 3]])).endswith("1 sheets, 4 cells")
    with pytest.raises(SmokeError, match="holds no data"):
        check_xlsx(_xlsx([]))
    not_a_workbook = io.BytesIO()
    with zipfile.ZipFile(not_a_workbook, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(SmokeError, match="does not open"):
        check_xlsx(not_a_workbook.getvalue())
    with pytest.raises(SmokeError, match="not an XLSX"):
        check_xlsx(b"<html>Nicht gefunden</html>")
    assert "PDF 1.7" in check_pdf(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n")
    for bad in (b"<html></html>", base64.b64encode(b"%PDF-1.7 ... %%EOF"), b"%PDF-1.7 truncated"):
        with pytest.raises(SmokeError, match="not a PDF"):
            check_pdf(bad)


# ---------------------------------------------------------------------------- the synthetic intake
@given(st.dates(min_value=date(2025, 1, 1), max_value=date(2045, 12, 31)))
def test_the_smoke_intake_is_valid_on_every_day(today: date) -> None:
    """Whatever day the suite runs, its form passes the intake's rules (so a failure is the stage's)."""
    form = IntakeForm.model_validate(smoke_form("RFS", today, CONSENT_TEXT_VERSION))
    check_form(form, today=today, submitted_on=today)
    assert form.consent.given_on == today - timedelta(days=1)
