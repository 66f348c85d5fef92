"""Roles and isolation: tokens verified like API Gateway's Cognito authorizer; a school sees only its own
students (another school's id → 404), a companion only assigned ones, the office all."""

from __future__ import annotations

import time

import pytest

from avdual.runtime import LocalRuntime
from tests.conftest import companion
from tests.integration.test_intake_api import OFFICE, OTHER_SCHOOL, SCHOOL, companion_claims, intakes, post


def seed(rt: LocalRuntime, *companions: dict) -> None:
    for c in companions:
        assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
    rt.drain()


def submit(rt: LocalRuntime, form: dict, claims: dict = SCHOOL) -> str:
    r = post(rt, form, claims=claims)
    assert r.status == 201, r.body
    return str(r.json()["intake_id"])


# --------------------------------------------------------------------------- authentication
def test_no_token_is_401_and_reaches_no_handler(rt: LocalRuntime, form: dict) -> None:
    r = rt.api("POST", "/intakes", body=form)
    assert r.status == 401 and r.json()["message"] == "Bitte anmelden."
    assert rt.api("GET", "/intakes").status == 401
    assert intakes(rt) == []


@pytest.mark.parametrize("bad", ["not-a-jwt", "a.b.c", "Bearer", ""])
def test_malformed_token_is_401(rt: LocalRuntime, bad: str) -> None:
    assert rt.api("GET", "/intakes", headers={"Authorization": bad}).status == 401


def test_token_path_verifies_against_the_pool_and_passes_the_claims(rt: LocalRuntime, form: dict) -> None:
    token = rt.cognito.token("school", school="RFS")
    r = rt.api("POST", "/intakes", body=form, token=token)
    assert r.status == 201, r.body
    assert intakes(rt)[0]["submitted_by"] == "schule-rfs"  # cognito:username from the verified claims
    # the same token as an Authorization header (what the local gateway and the web form send)
    assert rt.api("GET", "/intakes", headers={"Authorization": f"Bearer {token}"}).status == 200
    # a token with a broken signature, another pool's token, an access token: 401
    head, payload, sig = token.split(".")
    assert rt.api("GET", "/intakes", token=f"{head}.{payload}.{sig[:-4]}AAAA").status == 401
    claims = rt.cognito.verify(token)
    assert claims["cognito:groups"] == "school-RFS" and claims["token_use"] == "id"  # noqa: S105
    assert claims["exp"].endswith(time.strftime("%Y", time.gmtime())) and "UTC" in claims["exp"]


def test_expired_and_foreign_tokens_are_rejected(rt: LocalRuntime) -> None:
    from avdual.auth import InvalidTokenError, LocalCognito

    token = rt.cognito.token("office")
    with pytest.raises(InvalidTokenError, match="expired"):
        rt.cognito.verify(token, now=time.time() + 2 * 3600)
    other = LocalCognito("otherstage", "eu-central-1").create()
    foreign = other.token("office")
    assert rt.api("GET", "/intakes", token=foreign).status == 401
    access = rt.cognito.client.admin_initiate_auth(
        UserPoolId=rt.cognito.pool_id,
        ClientId=rt.cognito.client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "buero", "PASSWORD": "Lokal-Passwort-1"},
    )["AuthenticationResult"]["AccessToken"]
    assert rt.api("GET", "/intakes", token=access).status == 401


def test_tokens_of_another_process_are_valid_for_the_same_stage(rt: LocalRuntime) -> None:
    """``avdual token`` runs in its own process: same stage → same pool/client ids, moto's signing key."""
    from moto import mock_aws

    from avdual.auth import LocalCognito

    rt.cognito.ensure()
    with mock_aws():  # a second, independent moto backend (like a separate process)
        token = LocalCognito(rt.stage, "eu-central-1").create().token("school", school="MPS")
    assert rt.api("GET", "/intakes", token=token).status == 200


def test_a_user_without_a_role_group_is_403(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form, claims={"sub": "nobody", "cognito:groups": "school-XYZ"}).status == 403
    assert rt.api("GET", "/intakes", claims={"sub": "nobody"}).status == 403


def test_companion_may_not_submit(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form, claims=companion_claims("A")).status == 403


# --------------------------------------------------------------------------- isolation
def test_cross_school_read_and_change_is_404_never_the_record(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    for method, path, body in (
        ("GET", f"/intakes/{iid}", None),
        ("PATCH", f"/intakes/{iid}", {"class_name": "X"}),
        ("POST", f"/intakes/{iid}/withdraw", {}),
    ):
        r = rt.api(method, path, body=body, claims=OTHER_SCHOOL)
        assert r.status == 404, (method, r.body)
        assert "Zeynep" not in r.body and iid not in r.body
    assert rt.api("GET", f"/intakes/{iid}", claims=SCHOOL).status == 200
    assert rt.api("GET", f"/intakes/{iid}", claims=OFFICE).status == 200
    assert intakes(rt)[0]["class_name"] == "AVd1a" and intakes(rt)[0]["status"] == "submitted"


def test_unknown_and_malformed_ids_are_404(rt: LocalRuntime) -> None:
    for iid in (
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "nope",
        "outbox%23IntakeSubmitted%3A01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "x" * 300,  # longer than any id: not an id either
    ):
        assert rt.api("GET", f"/intakes/{iid}", claims=OFFICE).status == 404


def test_a_school_cannot_submit_for_another_school(rt: LocalRuntime, form: dict) -> None:
    form["school_id"] = "MPS"
    assert post(rt, form, claims=SCHOOL).status == 403
    assert post(rt, form, claims=OFFICE).status == 201


def test_a_school_cannot_move_an_intake_to_another_school(rt: LocalRuntime, form: dict) -> None:
    iid = submit(rt, form)
    r = rt.api("PATCH", f"/intakes/{iid}", body={"school_id": "MPS"}, claims=SCHOOL)
    assert r.status == 422 and r.json()["errors"][0]["field"] == "school_id"


def test_lists_are_scoped(rt: LocalRuntime, form: dict) -> None:
    rfs = submit(rt, form)
    form["school_id"] = "MPS"
    mps = submit(rt, form, claims=OTHER_SCHOOL)

    def ids(claims: dict, **query: str) -> set[str]:
        r = rt.api("GET", "/intakes", claims=claims, query=query or None)
        assert r.status == 200, r.body
        return {i["intake_id"] for i in r.json()["items"]}

    assert ids(SCHOOL) == {rfs}
    assert ids(OTHER_SCHOOL) == {mps}
    assert ids(OFFICE) == {rfs, mps}
    assert ids(OFFICE, school_id="MPS") == {mps}
    assert rt.api("GET", "/intakes", claims=SCHOOL, query={"school_id": "MPS"}).status == 403
    assert ids(companion_claims("A")) == set()


def test_companion_reads_only_assigned_students_and_only_they_see_the_remark(
    rt: LocalRuntime, form: dict
) -> None:
    seed(rt, companion("A", ["RFS"], capacity=1), companion("B", ["MPS"], capacity=1))
    form["remark"] = "Braucht Unterstützung bei Bewerbungen."
    mine = submit(rt, form)
    form["school_id"] = "MPS"
    other = submit(rt, form, claims=OTHER_SCHOOL)
    rt.drain()
    a = companion_claims("A")
    r = rt.api("GET", f"/intakes/{mine}", claims=a)
    assert r.status == 200 and r.json()["status"] == "assigned" and r.json()["companion_id"] == "A"
    assert r.json()["remark"] == "Braucht Unterstützung bei Bewerbungen."
    assert rt.api("GET", f"/intakes/{other}", claims=a).status == 404  # not assigned to A
    listed = rt.api("GET", "/intakes", claims=a).json()["items"]
    assert [i["intake_id"] for i in listed] == [mine]
    # the school sees who accompanies the student by name (learnt from CompanionUpdated), not only the code
    school_view = rt.api("GET", f"/intakes/{mine}", claims=SCHOOL).json()
    assert (school_view["companion_id"], school_view["companion_name"]) == ("A", "Begleitung A")
    school_row = rt.api("GET", "/intakes", claims=SCHOOL).json()["items"][0]
    assert (school_row["companion_id"], school_row["companion_name"]) == ("A", "Begleitung A")
    for claims in (SCHOOL, OFFICE):  # remark: only the assigned companion
        view = rt.api("GET", f"/intakes/{mine}", claims=claims).json()
        assert view["remark"] is None and view["has_remark"] is True
    assert rt.api("PATCH", f"/intakes/{mine}", body={"class_name": "X"}, claims=a).status == 403


def test_every_access_to_personal_data_is_in_the_audit_log_table(
    rt: LocalRuntime, form: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    iid = submit(rt, form)
    rt.api("GET", f"/intakes/{iid}", claims=OFFICE)
    rt.api("GET", "/intakes", claims=SCHOOL)
    rt.api("POST", f"/intakes/{iid}/withdraw", claims=SCHOOL)
    assert rt.api("GET", "/audit", claims=SCHOOL).status == 403  # the office reads the log
    page = rt.api("GET", "/audit", claims=OFFICE)
    assert page.status == 200, page.body
    entries = page.json()["items"]
    assert [(e["action"], e["actor"], e["role"], e["intake_ids"]) for e in entries] == [
        ("withdraw", "school-user", "school", [iid]),
        ("list", "school-user", "school", [iid]),
        ("read", "office-user", "office", [iid]),
        ("create", "school-user", "school", [iid]),
    ]
    assert all(e["at"] and e["purpose"] for e in entries)  # when and why
    assert "Löschung" in entries[0]["purpose"]
    assert "Zeynep" not in page.body  # no student data in the log

    # filters and pages
    only_reads = rt.api("GET", "/audit", claims=OFFICE, query={"action": "read", "intake_id": iid}).json()
    assert [e["action"] for e in only_reads["items"]] == ["read"]
    unknown = rt.api("GET", "/audit", claims=OFFICE, query={"intake_id": "01NOTANINTAKE00000000000000"})
    assert unknown.json() == {"items": [], "next_cursor": None}
    seen, cursor = [], None
    for _ in range(10):
        p = rt.api(
            "GET", "/audit", claims=OFFICE, query={"limit": "1", **({"cursor": cursor} if cursor else {})}
        )
        seen += p.json()["items"]
        cursor = p.json()["next_cursor"]
        if not cursor:
            break
    assert [e["entry_id"] for e in seen] == [e["entry_id"] for e in entries]
    bad = rt.api("GET", "/audit", claims=OFFICE, query={"from": "2026-01-01", "to": "2026-03-01"})
    assert bad.status == 422 and bad.json()["errors"][0]["field"] == "from"

    # no entry, no data: a read whose audit entry cannot be written fails without the data
    from common.audit_store import AuditLog

    def broken(self: AuditLog, *args: object, **kwargs: object) -> None:
        raise RuntimeError("audit table unavailable")

    other = submit(rt, form)
    monkeypatch.setattr(AuditLog, "append", broken)
    r = rt.api("GET", f"/intakes/{other}", claims=OFFICE)
    assert r.status == 500 and "Zeynep" not in r.body


def test_the_audit_log_reads_the_days_of_the_county_not_utc_days(form: dict) -> None:
    """An access at 00:30 in Ludwigsburg (23:30 UTC the day before) is on today's page, one at 23:30 local
    time the evening before is not; the two pages together page through both UTC partitions."""
    from datetime import UTC, datetime, timedelta

    with LocalRuntime(
        stage="test", log_level="ERROR", clock_start=datetime(2026, 12, 7, 22, 30, tzinfo=UTC)
    ) as rt:
        iid = submit(rt, form)  # 7 December, 23:30 in Ludwigsburg
        rt.advance(timedelta(hours=1))
        rt.api("GET", f"/intakes/{iid}", claims=OFFICE)  # 8 December, 00:30 in Ludwigsburg

        def actions(**query: str) -> list[str]:
            page = rt.api("GET", "/audit", claims=OFFICE, query=query)
            assert page.status == 200, page.body
            return [e["action"] for e in page.json()["items"]]

        assert actions() == ["read"]  # today, 8 December
        assert actions(**{"from": "2026-12-08", "to": "2026-12-08"}) == ["read"]
        assert actions(**{"from": "2026-12-07", "to": "2026-12-07"}) == ["create"]
        assert actions(**{"from": "2026-12-06", "to": "2026-12-06"}) == []
        seen, cursor = [], None
        for _ in range(5):  # one entry a page, across the partitions 2026-12-08, -07 and -06
            query = {"from": "2026-12-06", "to": "2026-12-08", "limit": "1"}
            page = rt.api(
                "GET", "/audit", claims=OFFICE, query={**query, **({"cursor": cursor} if cursor else {})}
            )
            assert page.status == 200, page.body
            seen += [e["action"] for e in page.json()["items"]]
            cursor = page.json()["next_cursor"]
            if not cursor:
                break
        assert seen == ["read", "create"]
