"""``avdual smoke`` / ``make smoke``: the smoke suite of a running stage, through its public API only.

The same steps run against a local ``make serve`` (``--base-url``) and a deployed stage (``--stage``):

1. log in as school staff and as the office (Cognito ``InitiateAuth`` with ``USER_PASSWORD_AUTH`` as the web
   form does it; a ``SOFTWARE_TOKEN_MFA`` challenge is answered with a TOTP code),
2. submit an intake and poll ``GET /intakes/{id}`` until matching has assigned or waitlisted it (events went
   intake → relay → bus → matching → relay → bus → intake),
3. order a Wochenbericht (``POST /reports``) and download its PDF and XLSX through
   ``GET /reports/{report_id}/files/{file_format}`` (magic bytes; the XLSX opens with openpyxl),
4. ``avdual ops health``: every dead-letter queue of the stage is empty,
5. withdraw the intake and see it erased in ``GET /intakes/{id}``.

The withdrawal runs whenever the submission succeeded, so a failed run leaves no personal data behind.
Every step prints one line; the last line is ``N passed, N failed`` (``, N skipped`` for steps whose
prerequisite failed). Nothing here uses moto or reads a table: what passes here passes for a person.

Where the suite finds the stage: ``--base-url`` reads the login endpoint and app client from the web form's
public config block (``GET /``), as the browser does, and waits while that server is still loading its demo
scenario (``/healthz``); ``--stage`` reads the stack outputs of
``AvDual-<stage>`` (``contracts.operations``). Users: ``AVDUAL_SMOKE_<ROLE>_USER`` / ``_PASSWORD`` /
``_TOTP_SECRET`` for ``ROLE`` in ``SCHOOL``, ``OFFICE`` (required for a deployed stage; a local server has
its own users, ``avdual.auth.user_for``).
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests

from avdual.auth import LOCAL_PASSWORD, user_for
from contracts.calendar import local_date
from contracts.operations import OUTPUT_API_URL, OUTPUT_USER_POOL_ID, OUTPUT_WEB_CLIENT_ID, stack_name
from contracts.reference import school_year_bounds, school_year_of
from contracts.topology import SCHOOL_GROUP_PREFIX

#: Roles the suite logs in as, and the school of the local school user.
ROLES = ("school", "office")
LOCAL_SCHOOL = "RFS"
#: Statuses of an intake that matching has decided (``services.intake`` projects them from its events).
DECIDED = ("assigned", "waitlisted")
#: How long one HTTP request may take (a report renders within API Gateway's 29 s).
REQUEST_TIMEOUT = 60.0
POLL_INTERVAL = 0.5
#: How long the suite waits for a local server that is still loading its demo scenario (``/healthz``).
LOCAL_READY_TIMEOUT = 600.0
LOCAL_READY_POLL = 2.0
#: Media types of the report files, as the download route answers them (``Accept`` names the one wanted:
#: API Gateway returns binary bodies only then).
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
CognitoCall = Callable[[str, dict[str, Any]], dict[str, Any]]


class SmokeError(Exception):
    """A check that did not hold (the step fails with this message)."""


# ---------------------------------------------------------------------------- where the stage is
@dataclass(frozen=True)
class Target:
    """A running stage: its API, its Cognito login endpoint and app client, and where ``ops`` finds it."""

    base_url: str  # ends with "/"
    auth_endpoint: str
    client_id: str
    consent_text_version: str
    stage: str | None = None  # deployed stage (ops through CloudFormation), else ops of a local server

    @property
    def local(self) -> bool:
        return self.stage is None

    def describe(self) -> str:
        where = f"stage {self.stage}" if self.stage else "local server"
        return f"{where}: API {self.base_url}, login {self.auth_endpoint}"


_CONFIG_BLOCK = re.compile(r'<script[^>]*\bid="config"[^>]*>(.*?)</script>', re.S)


def page_config(base_url: str, http: requests.Session) -> dict[str, Any]:
    """The config block of the web form (``GET /``, public): login endpoint, app client, consent version."""
    resp = http.get(base_url, timeout=REQUEST_TIMEOUT)
    if resp.status_code != 200:
        raise SmokeError(f"GET {base_url} answered {resp.status_code}")
    m = _CONFIG_BLOCK.search(resp.text)
    config: dict[str, Any] = json.loads(m.group(1)) if m else {}
    missing = [k for k in ("auth_endpoint", "client_id", "consent_text_version") if not config.get(k)]
    if missing:
        raise SmokeError(f"the web form at {base_url} has no {', '.join(missing)} in its config")
    return config


def wait_until_loaded(
    base_url: str,
    http: requests.Session,
    timeout: float = LOCAL_READY_TIMEOUT,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Seconds waited until a local server (``make serve``) has loaded its demo scenario: while ``/healthz``
    says ``scenario.state`` is ``loading``, its clock is still in the scenario's past and the scenario writes
    alongside the suite. A server without that state (or an older one) is taken as ready."""
    waited = 0.0
    while True:
        resp = http.get(urljoin(base_url, "healthz"), timeout=REQUEST_TIMEOUT)
        health = resp.json() if resp.status_code == 200 else {}
        state = (health.get("scenario") or {}).get("state")
        if state == "failed":
            raise SmokeError(f"the local server could not load its demo scenario: {health['scenario']}")
        if state != "loading":
            return waited
        if waited >= timeout:
            raise SmokeError(f"the local server is still loading its demo scenario after {waited:.0f} s")
        sleep(LOCAL_READY_POLL)
        waited += LOCAL_READY_POLL


def local_target(base_url: str, http: requests.Session) -> Target:
    """The stage behind ``base_url`` as the web form finds it: its config names the login endpoint (relative
    to the page) and the app client."""
    base = base_url.rstrip("/") + "/"
    config = page_config(base, http)
    return Target(
        base, urljoin(base, config["auth_endpoint"]), config["client_id"], config["consent_text_version"]
    )


def stack_outputs(stage: str, cloudformation: Any = None) -> dict[str, str]:
    """API URL, user pool and web app client from the outputs of the stage's stack."""
    if cloudformation is None:
        import boto3

        cloudformation = boto3.client("cloudformation")
    stack = stack_name(stage)
    described = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}
    missing = [k for k in (OUTPUT_API_URL, OUTPUT_USER_POOL_ID, OUTPUT_WEB_CLIENT_ID) if not outputs.get(k)]
    if missing:
        raise SmokeError(f"stack {stack} has no output(s) {', '.join(missing)} (deployed before them?)")
    return outputs


def stage_target(stage: str, http: requests.Session, cloudformation: Any = None) -> Target:
    """A deployed stage from its stack outputs (the pool id's region is the login endpoint's); the web form
    the API serves must name the same app client."""
    outputs = stack_outputs(stage, cloudformation)
    base = outputs[OUTPUT_API_URL].rstrip("/") + "/"
    client_id = outputs[OUTPUT_WEB_CLIENT_ID]
    region = outputs[OUTPUT_USER_POOL_ID].split("_", 1)[0]
    config = page_config(base, http)
    if config["client_id"] != client_id:
        raise SmokeError(f"the web form names app client {config['client_id']}, the stack {client_id}")
    return Target(
        base, f"https://cognito-idp.{region}.amazonaws.com/", client_id, config["consent_text_version"], stage
    )


# ---------------------------------------------------------------------------- login
@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    totp_secret: str | None = field(default=None, repr=False)


def env_prefix(role: str) -> str:
    return f"AVDUAL_SMOKE_{role.upper()}_"


def credentials(role: str, env: Mapping[str, str], *, local: bool) -> Credentials:
    """The user of ``role`` from ``AVDUAL_SMOKE_<ROLE>_USER``/``_PASSWORD``/``_TOTP_SECRET``; a local server's
    own user without them."""
    p = env_prefix(role)
    user, password = env.get(p + "USER"), env.get(p + "PASSWORD")
    if user and password:
        return Credentials(user, password, env.get(p + "TOTP_SECRET") or None)
    if local:
        return Credentials(user_for(role, school=LOCAL_SCHOOL).username, LOCAL_PASSWORD)
    raise SmokeError(f"set {p}USER and {p}PASSWORD (and {p}TOTP_SECRET) to a {role} user of the stage's pool")


def http_cognito(http: requests.Session, endpoint: str) -> CognitoCall:
    """The Cognito user-pool API as the browser calls it (JSON 1.1, ``X-Amz-Target``; these operations are
    not signed)."""

    def call(operation: str, payload: dict[str, Any]) -> dict[str, Any]:
        resp = http.post(
            endpoint,
            data=json.dumps(payload),
            headers={
                "Content-Type": "application/x-amz-json-1.1",
                "X-Amz-Target": f"AWSCognitoIdentityProviderService.{operation}",
            },
            timeout=REQUEST_TIMEOUT,
        )
        try:
            body: dict[str, Any] = resp.json()
        except ValueError:
            body = {}
        if resp.status_code != 200:
            kind = str(body.get("__type", resp.status_code)).rpartition("#")[2]
            raise SmokeError(f"{operation}: {kind} {body.get('message') or ''}".rstrip())
        return body

    return call


def totp_code(secret: str, at: float) -> str:
    """The authenticator app's code (RFC 6238: 6 digits, SHA-1, 30 s; Cognito's TOTP MFA)."""
    from cryptography.hazmat.primitives.hashes import SHA1
    from cryptography.hazmat.primitives.twofactor.totp import TOTP

    key = secret.strip().replace(" ", "").upper()
    key += "=" * (-len(key) % 8)
    totp = TOTP(base64.b32decode(key), 6, SHA1(), 30, enforce_key_length=False)  # noqa: S303 - RFC 6238
    return totp.generate(int(at)).decode()


def login(call: CognitoCall, client_id: str, creds: Credentials, now: Callable[[], float] = time.time) -> str:
    """An ID token of ``creds`` for ``client_id`` (the API accepts only ID tokens of the web client)."""
    result = call(
        "InitiateAuth",
        {
            "AuthFlow": "USER_PASSWORD_AUTH",
            "ClientId": client_id,
            "AuthParameters": {"USERNAME": creds.username, "PASSWORD": creds.password},
        },
    )
    challenge = result.get("ChallengeName")
    if challenge == "SOFTWARE_TOKEN_MFA":
        if not creds.totp_secret:
            raise SmokeError("the pool asks for the authenticator code: set …_TOTP_SECRET of this user")
        username = (result.get("ChallengeParameters") or {}).get("USER_ID_FOR_SRP") or creds.username
        result = call(
            "RespondToAuthChallenge",
            {
                "ChallengeName": challenge,
                "ClientId": client_id,
                "Session": result["Session"],
                "ChallengeResponses": {
                    "USERNAME": username,
                    "SOFTWARE_TOKEN_MFA_CODE": totp_code(creds.totp_secret, now()),
                },
            },
        )
        challenge = result.get("ChallengeName")
    if challenge:
        raise SmokeError(
            f"challenge {challenge}: log in once in the web form (new password, authenticator app), then "
            "give the authenticator key as …_TOTP_SECRET"
        )
    return str(result["AuthenticationResult"]["IdToken"])


def claims_of(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified (the API verifies; the suite only reads the groups)."""
    part = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


def school_of(token: str) -> str:
    groups = claims_of(token).get("cognito:groups") or []
    groups = groups if isinstance(groups, list) else str(groups).split(",")
    schools = [g.removeprefix(SCHOOL_GROUP_PREFIX) for g in groups if g.startswith(SCHOOL_GROUP_PREFIX)]
    if len(schools) != 1:
        raise SmokeError(f"the school user must be in exactly one {SCHOOL_GROUP_PREFIX}<id> group: {groups}")
    return schools[0]


# ---------------------------------------------------------------------------- checks of downloaded files
def check_pdf(data: bytes) -> str:
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-1024:]:
        raise SmokeError(f"not a PDF ({data[:8]!r}…, {len(data)} bytes)")
    return f"{len(data):,} bytes, PDF {data[5:8].decode(errors='replace')}"


def check_xlsx(data: bytes) -> str:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    if not data.startswith(b"PK\x03\x04"):
        raise SmokeError(f"not an XLSX (ZIP) file ({data[:8]!r}…, {len(data)} bytes)")
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True)
    except (BadZipFile, KeyError, ValueError, OSError) as e:
        raise SmokeError(f"the XLSX does not open: {type(e).__name__}: {e}") from None
    sheets = wb.sheetnames
    cells = sum(
        1 for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for v in row if v is not None
    )
    wb.close()
    if not sheets or not cells:
        raise SmokeError("the XLSX opens but holds no data")
    return f"{len(data):,} bytes, {len(sheets)} sheets, {cells} cells"


# ---------------------------------------------------------------------------- the form
def smoke_form(school_id: str, today: date, consent_text_version: str) -> dict[str, Any]:
    """A synthetic intake of this school year: a 16-year-old at school-year start, both consents given
    yesterday. Recognisable (class ``Smoketest``), erased by the suite's withdrawal."""
    school_year = school_year_of(today)
    start, _ = school_year_bounds(school_year)
    return {
        "school_id": school_id,
        "school_year": school_year,
        "class_name": "Smoketest",
        "student": {
            "given_name": "Smoke",
            "family_name": "Test",
            "date_of_birth": start.replace(year=start.year - 16).isoformat(),
            "gender": "divers",
            "languages": ["de"],
        },
        "german_support": False,
        "career_fields": ["it"],
        "consent": {
            "student": True,
            "guardian": True,
            "text_version": consent_text_version,
            "given_on": (today - timedelta(days=1)).isoformat(),
        },
    }


# ---------------------------------------------------------------------------- running steps
@dataclass
class Outcome:
    name: str
    status: str  # passed | failed | skipped
    detail: str
    seconds: float


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return bool(self.outcomes) and all(o.status == "passed" for o in self.outcomes)

    def summary(self) -> str:
        line = f"{self.count('passed')} passed, {self.count('failed')} failed"
        skipped = self.count("skipped")
        return line + (f", {skipped} skipped" if skipped else "")


LABEL = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP"}


class Smoke:
    """The suite against one target; :meth:`run` prints one line per step and returns the outcomes."""

    def __init__(
        self,
        *,
        base_url: str | None = None,
        stage: str | None = None,
        env: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        email: bool = True,
        out: Callable[[str], None] = print,
        http: requests.Session | None = None,
        cognito: Callable[[Target], CognitoCall] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if (base_url is None) == (stage is None):
            raise ValueError("give a base URL or a stage")
        self.base_url, self.stage = base_url, stage
        self.env = dict(env or {})
        self.timeout, self.email, self.out, self.clock = timeout, email, out, clock
        self.http = http or requests.Session()
        self.cognito = cognito or (lambda t: http_cognito(self.http, t.auth_endpoint))
        self.report = Report()
        self.target: Target | None = None
        self.tokens: dict[str, str] = {}
        self.intake_id: str | None = None
        self.report_id: str | None = None

    # ------------------------------------------------------------------ plumbing
    def step(self, name: str, fn: Callable[[], str], needs: tuple[str, ...] = ()) -> bool:
        done = {o.name: o.status for o in self.report.outcomes}
        blocked = [n for n in needs if done.get(n) != "passed"]
        start = time.monotonic()
        if blocked:
            outcome = Outcome(name, "skipped", f"needs {', '.join(blocked)}", 0.0)
        else:
            try:
                outcome = Outcome(name, "passed", fn(), 0.0)
            except Exception as e:  # every failure is this step's result, the run goes on
                outcome = Outcome(name, "failed", str(e) or type(e).__name__, 0.0)
            outcome.seconds = time.monotonic() - start
        self.report.outcomes.append(outcome)
        took = f" ({outcome.seconds:.1f} s)" if outcome.status != "skipped" else ""
        self.out(f"{LABEL[outcome.status]}  {name}: {outcome.detail}{took}")
        return outcome.status == "passed"

    def api(
        self,
        method: str,
        path: str,
        role: str,
        *,
        body: Any = None,
        accept: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        assert self.target is not None
        h = {"Authorization": f"Bearer {self.tokens[role]}", "Accept": accept, **(headers or {})}
        return self.http.request(
            method,
            urljoin(self.target.base_url, path.lstrip("/")),
            json=body,
            headers=h,
            timeout=REQUEST_TIMEOUT,
        )

    @staticmethod
    def expect(resp: requests.Response, status: int) -> Any:
        if resp.status_code != status:
            raise SmokeError(
                f"{resp.request.method} {urlsplit(resp.url).path}: {resp.status_code} {resp.text[:300]}"
            )
        ctype = resp.headers.get("Content-Type", "")
        return resp.json() if ctype.startswith("application/json") else resp.content

    # ------------------------------------------------------------------ steps
    def find_target(self) -> str:
        if self.stage:
            self.target = stage_target(self.stage, self.http)
            return self.target.describe()
        self.target = local_target(str(self.base_url), self.http)
        waited = wait_until_loaded(self.target.base_url, self.http)
        return self.target.describe() + (f" (demo scenario loaded after {waited:.0f} s)" if waited else "")

    def log_in(self, role: str) -> str:
        assert self.target is not None
        creds = credentials(role, self.env, local=self.target.local)
        token = login(self.cognito(self.target), self.target.client_id, creds, self.clock)
        self.tokens[role] = token
        extra = f", school {school_of(token)}" if role == "school" else ""
        return f"{creds.username}{extra}"

    def submit(self) -> str:
        assert self.target is not None
        today = local_date(datetime.fromtimestamp(self.clock(), UTC))
        form = smoke_form(school_of(self.tokens["school"]), today, self.target.consent_text_version)
        resp = self.api(
            "POST", "/intakes", "school", body=form, headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        self.intake_id = str(self.expect(resp, 201)["intake_id"])
        return f"intake {self.intake_id} ({form['school_id']}, {form['school_year']})"

    def wait_decided(self) -> str:
        deadline = time.monotonic() + self.timeout
        status = None
        while True:
            view = self.expect(self.api("GET", f"/intakes/{self.intake_id}", "school"), 200)
            status = view.get("status")
            if status in DECIDED:
                return str(status)
            if time.monotonic() >= deadline:
                raise SmokeError(
                    f"still {status!r} after {self.timeout:.0f} s (expected {' or '.join(DECIDED)})"
                )
            time.sleep(POLL_INTERVAL)

    def order_report(self) -> str:
        body = {"report_type": "weekly", "period": "this_week", "email": self.email}
        out = self.expect(self.api("POST", "/reports", "office", body=body), 201)
        self.report_id = str(out["report_id"])
        missing = [f for f in MEDIA_TYPES if f not in out.get("formats", [])]
        if missing:
            raise SmokeError(
                f"report {self.report_id} lacks {', '.join(missing)}: {out.get('unavailable') or {}}"
            )
        if self.email and not out.get("emailed"):
            raise SmokeError(f"report {self.report_id} stored but not e-mailed")
        mailed = ", e-mailed" if out.get("emailed") else ""
        return f"report {self.report_id} ({out.get('period_label')}; {', '.join(out['formats'])}{mailed})"

    def download(self, fmt: str) -> str:
        resp = self.api("GET", f"/reports/{self.report_id}/files/{fmt}", "office", accept=MEDIA_TYPES[fmt])
        if resp.status_code != 200:
            raise SmokeError(f"GET …/files/{fmt}: {resp.status_code} {resp.text[:300]}")
        ctype = resp.headers.get("Content-Type", "").split(";")[0].strip()
        if ctype != MEDIA_TYPES[fmt]:
            raise SmokeError(f"Content-Type {ctype!r}, expected {MEDIA_TYPES[fmt]}")
        return (check_pdf if fmt == "pdf" else check_xlsx)(resp.content)

    def dead_letters(self) -> str:
        assert self.target is not None
        if self.target.stage:
            from avdual import ops

            health = ops.health(ops.aws_target(self.target.stage))
        else:
            resp = self.http.get(urljoin(self.target.base_url, "_ops/health"), timeout=REQUEST_TIMEOUT)
            health = self.expect(resp, 200)
        queues = sum(len(names) for names in health["dead_letter_queues"].values())
        if not health["healthy"]:
            full = [
                f"{name}: {n}"
                for names in health["dead_letter_queues"].values()
                for name, n in names.items()
                if n
            ]
            raise SmokeError(f"{health['dead_letters']} dead letter(s): {'; '.join(full)}")
        return f"{queues} DLQs empty"

    def withdraw(self) -> str:
        resp = self.api(
            "POST", f"/intakes/{self.intake_id}/withdraw", "school", body={"reason": "entered_in_error"}
        )
        view = self.expect(resp, 200)
        return f"status {view.get('status')}"

    def erased(self) -> str:
        view = self.expect(self.api("GET", f"/intakes/{self.intake_id}", "school"), 200)
        left = [k for k in ("student", "consent", "remark") if view.get(k)]
        if view.get("status") != "withdrawn" or not view.get("erased_at") or left:
            raise SmokeError(
                f"status {view.get('status')!r}, erased_at {view.get('erased_at')!r}, still holds {left}"
            )
        return f"withdrawn, personal data erased at {view['erased_at']}"

    # ------------------------------------------------------------------ the suite
    def run(self) -> Report:
        s = self.step
        s("target", self.find_target)
        s("school login", lambda: self.log_in("school"), ("target",))
        s("office login", lambda: self.log_in("office"), ("target",))
        s("submit intake", self.submit, ("school login",))
        s("assigned or waitlisted", self.wait_decided, ("submit intake",))
        s("order report", self.order_report, ("office login",))
        s("download pdf", lambda: self.download("pdf"), ("order report",))
        s("download xlsx", lambda: self.download("xlsx"), ("order report",))
        s("dead-letter queues empty", self.dead_letters, ("target",))
        s("withdraw intake", self.withdraw, ("submit intake",))
        s("intake erased", self.erased, ("withdraw intake",))
        self.out(self.report.summary())
        return self.report
