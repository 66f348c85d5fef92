"""Intake API against moto: valid intake stored + its event via the outbox; malformed input → 4xx, nothing
stored or published. Helpers here are shared by the other ``test_intake_*`` modules."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from avdual.runtime import LocalRuntime
from contracts.topology import SUBSCRIPTIONS

SCHOOL = {"sub": "school-user", "cognito:username": "schule-rfs", "cognito:groups": "school-RFS"}
OTHER_SCHOOL = {"sub": "mps-user", "cognito:username": "schule-mps", "cognito:groups": "school-MPS"}
OFFICE = {"sub": "office-user", "cognito:username": "buero", "cognito:groups": "office"}


def companion_claims(cid: str) -> dict[str, str]:
    return {
        "sub": f"c-{cid}",
        "cognito:username": f"begleitung-{cid}",
        "cognito:groups": "companion",
        "custom:companion_id": cid,
    }


def post(
    rt: LocalRuntime,
    body: Any = None,
    raw: str | None = None,
    claims: dict | None = None,
    key: str | None = None,
    headers: dict | None = None,
) -> Any:
    hdrs = {**({"Idempotency-Key": key} if key else {}), **(headers or {})}
    return rt.api("POST", "/intakes", body=body, raw_body=raw, claims=claims or SCHOOL, headers=hdrs)


def intakes(rt: LocalRuntime) -> list[dict[str, Any]]:
    """Stored intakes."""
    return rt.scan("intakes")


def outbox(rt: LocalRuntime) -> Counter[str]:
    """Events written to the intake outbox, by detail-type."""
    return Counter(i["detail_type"] for i in rt.scan("intake-outbox") if i.get("record_type") == "outbox")


def subscribers(detail_type: str) -> int:
    return sum(1 for s in SUBSCRIPTIONS.values() if any(e.detail_type == detail_type for e in s.events))


def test_valid_intake_is_stored_and_published_without_personal_data(rt: LocalRuntime, form: dict) -> None:
    r = post(rt, form)
    assert r.status == 201, r.body
    intake_id = r.json()["intake_id"]
    items = intakes(rt)
    assert [i["intake_id"] for i in items] == [intake_id]
    assert items[0]["student"]["family_name"] == "Şahin-Müller"  # byte-exact round trip
    assert items[0]["submitted_by"] == "schule-rfs"
    assert outbox(rt) == Counter({"IntakeSubmitted": 1})  # same transaction as the intake
    rt.drain()
    assert [a["status"] for a in rt.scan("assignments")] == ["waitlisted"]  # no companion seeded
    assert rt.stats.by_detail_type["IntakeSubmitted"] == subscribers("IntakeSubmitted")
    raw = json.dumps(
        rt.scan("aggregates") + rt.scan("assignments") + rt.scan("intake-outbox") + rt.scan("audit-log"),
        default=str,
        ensure_ascii=False,
    )
    assert "Zeynep" not in raw and "Şahin" not in raw and "2010-05-17" not in raw
    # the assignment status flows back to the intake (projection of StudentWaitlisted)
    assert rt.api("GET", f"/intakes/{intake_id}", claims=SCHOOL).json()["status"] == "waitlisted"


def test_the_complete_form_round_trips(rt: LocalRuntime, form: dict) -> None:
    form.update(
        track="av_dual_fsr",
        certificate_on_entry="hauptschulabschluss",
        vabo_before=True,
        wished_job="Pflegefachfrau",
        internship_model="weekly_days",
        internship_days_per_week=2,
        preferences={"companion_gender": "weiblich", "previous_companion_id": "C03"},
        remark="Spricht gern über Pflegeberufe.\nMutter bevorzugt Türkisch.",
    )
    form["student"].update(phone="+49 7141 12345", email="zeynep@example.org")
    form["consent"].update(
        data_transfer_county=True,
        company_contact=True,
        anonymised_statistics=False,
        guardian_given_on="2026-09-14",
        guardian_text_version="EV-2026-08",
    )
    r = post(rt, form)
    assert r.status == 201, r.body
    [item] = intakes(rt)
    for key in ("track", "certificate_on_entry", "vabo_before", "wished_job", "internship_model", "remark"):
        assert item[key] == form[key]
    assert item["preferences"] == form["preferences"]
    assert (
        item["consent"]["guardian_given_on"] == "2026-09-14"
        and item["consent"]["data_transfer_county"] is True
    )
    assert item["student"]["email"] == "zeynep@example.org"
    rt.drain()
    [assigned] = rt.scan("assignments")
    assert assigned["profile"]["preferred_companion_gender"] == "weiblich"


def test_guardian_consent_defaults_to_the_students_date_and_version(rt: LocalRuntime, form: dict) -> None:
    assert post(rt, form).status == 201
    [item] = intakes(rt)
    assert item["consent"]["guardian_given_on"] == form["consent"]["given_on"]
    assert item["consent"]["guardian_text_version"] == form["consent"]["text_version"]


def _without(form: dict, *path: str) -> dict:
    target = form
    for p in path[:-1]:
        target = target[p]
    del target[path[-1]]
    return form


def test_error_body_does_not_echo_personal_data(rt: LocalRuntime, form: dict) -> None:
    form["student"]["date_of_birth"] = "not-a-date-Zeynep"
    form["student"]["Zeynep-Geheim"] = "x"
    r = post(rt, form)
    assert r.status == 422
    assert "Zeynep" not in r.body and "Şahin" not in r.body and "Geheim" not in r.body


def test_unknown_route_and_method(rt: LocalRuntime) -> None:
    assert rt.api("GET", "/nothing", claims=SCHOOL).status == 404
    r = rt.api("DELETE", "/intakes", claims=SCHOOL)
    assert r.status == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "POST"}


def test_the_web_form_is_public_and_locked_down(rt: LocalRuntime) -> None:
    r = rt.api("GET", "/")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/html")
    assert '<html lang="de">' in r.body and "Anmeldung absenden" in r.body
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'sha256-" in csp and "unsafe-inline" not in csp
    config = json.loads(r.body.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert config["client_id"] == rt.cognito.client_id and config["auth_endpoint"] == "/_local/cognito"
    assert config["schools"]["RFS"].startswith("Robert-Franck")
