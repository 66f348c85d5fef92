"""Every API decides before Powertools looks at the request (common/routes.py): 401/403 for a caller who may
not use the route whatever the body or query, 404 for a path id that is not exactly an id (and nothing
changes), media types case-insensitive, tokens of another app client of the pool refused by the function."""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from avdual.runtime import LocalRuntime
from common.errors import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED
from contracts.topology import ROUTES, Route
from tests.conftest import VALID_FORM, companion, new_form
from tests.integration.test_intake_api import OFFICE, SCHOOL, companion_claims

#: Callers by role; ``None`` sends a token the authorizer refuses. ``none``: verified, but no identity;
#: ``other client``: an ID token of another app client of the pool; ``access token``: not an ID token.
CALLERS: dict[str, dict[str, str] | None] = {
    "office": OFFICE,
    "school": SCHOOL,
    "companion": companion_claims("B01"),
    "none": {},
    "other client": {**OFFICE, "aud": "another-app-client"},
    "access token": {**OFFICE, "token_use": "access"},
    "bad token": None,
}
FORBIDDEN_CALLS = [
    (r, who) for r in ROUTES if not r.public for who in CALLERS if who not in r.roles
]  # every route × every caller who may not use it
QUERY_NAMES = [
    "limit",
    "cursor",
    "school_id",
    "school_year",
    "status",
    "dry_run",
    "from",
    "to",
    "companion_id",
    "q",
    "sector",
    "x",
]
#: Examples per sweep (each a real API Gateway event through the local runtime).
SWEEP_ROLES = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SWEEP_IDS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=15,
)
bodies = st.one_of(
    st.none(),
    st.sampled_from(["", "{}", "[]", "null", "{", '{"school_id": "RFS"', "[" * 40 + "]" * 40]),
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.just("x" * (100 * 1024 + 1)),
    st.just(json.dumps(VALID_FORM)),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "Application/JSON; Charset=UTF-8",
        "text/plain",
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
    ]
)
queries = st.dictionaries(st.sampled_from(QUERY_NAMES), st.text(max_size=30), max_size=4)
segments = st.one_of(
    st.just("01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    st.just("B01"),
    st.text(min_size=1, max_size=40).map(lambda t: quote(t, safe="")),
)


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="entry", log_level="ERROR") as rt:
        yield rt


def path_of(route: Route, segment: str) -> str:
    return "/".join(segment if part.startswith("{") else part for part in route.path.split("/"))


@SWEEP_ROLES
@given(
    call=st.sampled_from(FORBIDDEN_CALLS),
    segment=segments,
    body=bodies,
    content_type=content_types,
    query=queries,
)
@example(
    call=(next(r for r in ROUTES if (r.method, r.path) == ("POST", "/companions")), "school"),
    segment="x",
    body="{}",
    content_type="application/json",
    query={},
)
def test_a_caller_who_may_not_use_a_route_learns_nothing_about_it(
    runtime: LocalRuntime,
    call: tuple[Route, str],
    segment: str,
    body: str | None,
    content_type: str | None,
    query: dict[str, str],
) -> None:
    route, who = call
    claims = CALLERS[who]
    headers = {"Content-Type": content_type} if content_type else {}
    calls_before = sum(runtime.api_calls.values())
    r = runtime.api(
        route.method,
        path_of(route, segment),
        raw_body=body,
        headers=headers,
        query=query or None,
        claims=claims,
        token=None if claims is not None else "not-a-token",
    )
    expected = (403, FORBIDDEN) if who in ("office", "school", "companion") else (401, UNAUTHENTICATED)
    assert (r.status, r.json()) == (expected[0], {"message": expected[1], "errors": []}), (route, who)
    assert sum(runtime.api_calls.values()) == calls_before  # no handler ran: nothing read, nothing written


# --------------------------------------------------------------------------- path ids
#: Appended to a real id: encodings API Gateway passes on decoded in ``pathParameters``, separators, NUL,
#: white space, double encoding.
SUFFIXES = ["%0A", "%0D%0A", "%2F", "%2f", "%00", ".", "%20", "%09", "%2Fwithdraw", "%3F", "%23", "%250A"]
#: Characters that look like ASCII letters/digits of an id (fullwidth, Cyrillic, Greek, mathematical, ...).
LOOKALIKES = {
    "0": ["\uff10", "\u041e", "\u039f", "\U0001d7ce"],
    "1": ["\uff11", "\u0661", "l"],
    "A": ["\u0410", "\u0391", "\uff21"],
    "B": ["\u0412", "\u0392", "\uff22"],
    "E": ["\u0415", "\u0395"],
    "K": ["\u041a", "\u039a"],
    "M": ["\u041c", "\u039c"],
    "T": ["\u0422", "\u03a4"],
    "X": ["\u0425", "\u03a7"],
    "p": ["\u0440", "\uff50"],
    "d": ["\u0501", "\uff44"],
    "f": ["\uff46"],
}


def _lookalike(value: str, data: st.DataObject) -> str:
    spots = [i for i, c in enumerate(value) if c in LOOKALIKES]
    i = data.draw(st.sampled_from(spots))
    return value[:i] + data.draw(st.sampled_from(LOOKALIKES[value[i]])) + value[i + 1 :]


@pytest.fixture(scope="module")
def seeded(runtime: LocalRuntime) -> dict[str, str]:
    """An intake (assigned to companion B01) and a rendered report: the real ids the sweep mutates."""
    assert runtime.api("POST", "/companions", body=companion("B01", ["RFS"], 5), claims=OFFICE).status == 200
    created = runtime.api("POST", "/intakes", body=new_form(), claims=SCHOOL)
    assert created.status == 201, created.body
    runtime.drain()
    report = runtime.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE)
    assert report.status == 201, report.body
    intake_id = created.json()["intake_id"]
    company = runtime.api("POST", "/companies", body=COMPANY, claims=OFFICE)
    assert company.status == 201, company.body
    internship = runtime.api(
        "POST",
        f"/students/{intake_id}/internships",
        body={**INTERNSHIP, "company_id": company.json()["company_id"]},
        claims=OFFICE,
    )
    assert internship.status == 201, internship.body
    return {
        "intake_id": intake_id,
        "companion_id": "B01",
        "report_id": report.json()["report_id"],
        "file_format": "pdf",
        "company_id": company.json()["company_id"],
        "internship_id": internship.json()["internship_id"],
    }


COMPANY = {"name": "Autohaus Probe", "town": "Ludwigsburg", "sector": "kfz"}
INTERNSHIP = {"career_field": "kfz", "model": "weekly_days", "weekdays": ["mo"], "start_date": "2026-09-14"}


BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/intakes/{intake_id}"): {"class_name": "GEAENDERT"},
    ("POST", "/intakes/{intake_id}/withdraw"): {"reason": "consent_withdrawn"},
    ("PATCH", "/companions/{companion_id}"): {"capacity": 1},
    ("POST", "/assignments/{intake_id}/exit"): {
        "exit_date": "2026-10-01",
        "reason": "completed",
        "destination": "dual_training",
    },
    ("PATCH", "/students/{intake_id}/internships/{internship_id}"): {"days_completed": 9},
    ("POST", "/students/{intake_id}/internships/{internship_id}/end"): {
        "end_date": "2026-10-01",
        "days_completed": 5,
        "end_reason": "completed",
    },
    ("POST", "/students/{intake_id}/meetings"): {"meeting_date": "2026-10-01", "meeting_type": "parents"},
    ("PATCH", "/companies/{company_id}"): {"town": "Asperg"},
}
#: AWS operations that only read (``dynamodb.GetItem``, ``s3.ListObjectsV2``, …): all a refused id may call.
READS = ("Get", "BatchGet", "Query", "Scan", "List", "Head", "Describe")
#: Every path parameter of every route: the one the sweep mutates (the others are real ids).
ID_PARAMETERS = [(r, p.name) for r in ROUTES if r.parameters for p in r.parameters]


def test_a_path_id_that_is_not_exactly_an_id_is_404_and_changes_nothing(
    runtime: LocalRuntime, seeded: dict[str, str]
) -> None:
    """Every example is refused without a write: the functions' AWS calls for it, if any, only read (an id
    that passes its pattern is looked up). After the sweep the seeded records read back unchanged."""

    @SWEEP_IDS
    @given(case=st.sampled_from(ID_PARAMETERS), data=st.data())
    def sweep(case: tuple[Route, str], data: st.DataObject) -> None:
        route, name = case
        real = seeded[name]
        kind = data.draw(st.sampled_from(["suffix", "prefix", "lookalike", "overlong", "lower", "text"]))
        if kind == "suffix":
            segment = quote(real) + data.draw(st.sampled_from(SUFFIXES))
        elif kind == "prefix":
            segment = data.draw(st.sampled_from(SUFFIXES)) + quote(real)
        elif kind == "lookalike":
            segment = quote(_lookalike(real, data))
        elif kind == "overlong":
            segment = real + data.draw(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1))
        elif kind == "lower":
            segment = real.lower() + "x"
        else:
            segment = quote(real + data.draw(st.text(min_size=1, max_size=12)), safe="")
        values = {p.name: quote(seeded[p.name]) for p in route.parameters} | {name: segment}
        path = "/".join(
            values[part[1:-1]] if part.startswith("{") else part for part in route.path.split("/")
        )
        calls_before = runtime.api_calls.copy()
        r = runtime.api(route.method, path, body=BODIES.get((route.method, route.path)), claims=OFFICE)
        assert (r.status, r.json()) == (404, {"message": NOT_FOUND, "errors": []}), segment
        calls = runtime.api_calls - calls_before
        assert all(call.split(".", 1)[1].startswith(READS) for call in calls), (segment, calls)

    sweep()
    intake = runtime.api("GET", f"/intakes/{seeded['intake_id']}", claims=OFFICE).json()
    assert intake["class_name"] == VALID_FORM["class_name"] and intake["status"] != "withdrawn"
    assert runtime.api("GET", "/companions/B01", claims=OFFICE).json()["capacity"] == 5
    assignment = runtime.api("GET", f"/assignments/{seeded['intake_id']}", claims=OFFICE).json()
    assert assignment["status"] == "assigned"
    case = runtime.api("GET", f"/students/{seeded['intake_id']}", claims=OFFICE).json()
    assert [(i["days_completed"], i["ended"]) for i in case["internships"]] == [(0, False)]
    assert case["meetings"] == []
    assert runtime.api("GET", "/companies", claims=OFFICE).json()[0]["town"] == "Ludwigsburg"


@pytest.mark.parametrize("suffix", ["%0A", "%2F"])
def test_own_intake_with_an_encoded_suffix_is_not_found(runtime: LocalRuntime, suffix: str) -> None:
    created = runtime.api("POST", "/intakes", body=new_form(), claims=SCHOOL).json()["intake_id"]
    assert runtime.api("GET", f"/intakes/{created}{suffix}", claims=SCHOOL).status == 404
    patched = runtime.api("PATCH", f"/intakes/{created}{suffix}", body={"class_name": "X1"}, claims=SCHOOL)
    assert patched.status == 404
    assert runtime.api("GET", f"/intakes/{created}", claims=SCHOOL).json()["class_name"] == "AVd1a"


@pytest.mark.parametrize("suffix", [*SUFFIXES, "%2F", "%2Fwithdraw"])
def test_the_local_http_gateway_routes_on_the_encoded_path(runtime: LocalRuntime, suffix: str) -> None:
    """``make serve``: ``%2F`` is no path separator (API Gateway routes on the raw path as well)."""
    from werkzeug.test import Client

    from avdual.server import Gateway

    client = Client(Gateway(runtime, claims_for=lambda headers: SCHOOL))
    created = runtime.api("POST", "/intakes", body=new_form(), claims=SCHOOL).json()["intake_id"]
    assert client.get(f"/intakes/{created}").status_code == 200
    assert client.get(f"/intakes/{created}{suffix}").status_code == 404
    assert client.post(f"/intakes/{created}{suffix}", json={}).status_code in (404, 405)
    assert client.patch(f"/intakes/{created}{suffix}", json={"class_name": "X1"}).status_code in (404, 405)
    stored = runtime.api("GET", f"/intakes/{created}", claims=SCHOOL).json()
    assert stored["class_name"] == "AVd1a" and stored["status"] != "withdrawn"


# --------------------------------------------------------------------------- media types, app client
def test_media_type_names_are_case_insensitive(runtime: LocalRuntime) -> None:
    headers = {"Content-Type": "Application/JSON; Charset=UTF-8"}
    assert runtime.api("POST", "/intakes", body=new_form(), headers=headers, claims=SCHOOL).status == 201
    text = {"Content-Type": "Text/Plain"}
    r = runtime.api("POST", "/intakes", body=new_form(), headers=text, claims=SCHOOL)
    assert r.status == 415 and r.json()["errors"] == []


def test_a_token_of_another_app_client_of_the_pool_is_refused(runtime: LocalRuntime) -> None:
    """API Gateway's Cognito authorizer (and the local one) accept it: the function refuses it (401)."""
    cognito = runtime.cognito
    own = cognito.token("office")
    assert runtime.api("GET", "/companions", token=own).status == 200
    other = cognito.client.create_user_pool_client(
        UserPoolId=cognito.pool_id,
        ClientName="another-app",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_ADMIN_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    foreign = cognito.client.admin_initiate_auth(
        UserPoolId=cognito.pool_id,
        ClientId=other,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "buero", "PASSWORD": "Lokal-Passwort-1"},
    )["AuthenticationResult"]["IdToken"]
    assert cognito.verify(foreign)["aud"] == other  # the authorizer lets it through …
    r = runtime.api("GET", "/companions", token=foreign)
    assert (r.status, r.json()["message"]) == (401, UNAUTHENTICATED)  # … the function does not
