"""Reporting counts the casework from casework's events (never its data): internships per student, students
without an internship by month, goal-agreement meetings done vs due per companion, the Klebeeffekt — on the
dashboard and the Wochenbericht as counted, in the Schuljahresbericht suppressed."""

from __future__ import annotations

import io

import boto3
from openpyxl import load_workbook

from avdual.runtime import LocalRuntime
from contracts.calendar import local_date
from tests.conftest import OFFICE
from tests.integration.test_casework import World, internship
from tests.integration.test_intake_api import companion_claims


def test_the_dashboard_shows_internships_goal_meetings_and_the_klebeeffekt(rt: LocalRuntime) -> None:
    world = World(rt)
    a = world.students["B01"]
    me = companion_claims("B01")
    assert (
        rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=me).status == 201
    )
    second = internship(
        world.company, start_date="2026-11-02", model="block", weekdays=[], end_date="2026-11-13"
    )
    assert rt.api("POST", f"/students/{a}/internships", body=second, claims=me).status == 201
    goal = {"meeting_date": "2026-10-20", "meeting_type": "goal_agreement", "participants": ["student"]}
    assert rt.api("POST", f"/students/{a}/meetings", body=goal, claims=me).status == 201
    rt.drain()
    before = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()["casework"]
    per_student = before["internships_per_student"]
    rfs = per_student["row_labels"].index("Robert-Franck-Schule Ludwigsburg")
    assert per_student["cells"][rfs] == [1, 0, 1, 0]  # b without, a with two internships
    goals = {g["companion_id"]: g for g in before["goal_meetings"]}
    assert (goals["B01"]["students"], goals["B01"]["done"]) == (1, 1)
    assert (goals["B02"]["students"], goals["B02"]["done"]) == (1, 0)
    months = before["without_internship_by_month"]
    assert months["col_labels"] == ["in Begleitung", "davon ohne Praktikum"]
    assert months["row_labels"][-1].endswith(str(local_date(rt.clock.now()).year))
    assert before["klebeeffekt"]["training_starts"] == 0
    exit_body = {
        "exit_date": world.today(),
        "reason": "completed",
        "destination": "dual_training",
        "company_id": world.company,
    }
    assert rt.api("POST", f"/assignments/{a}/exit", body=exit_body, claims=me).status == 200
    rt.drain()
    after = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()["casework"]
    assert after["klebeeffekt"] == {
        "training_starts": 1,
        "in_former_internship_company": 1,
        "share": "100,0 %",
    }
    assert "B01" not in {g["companion_id"] for g in after["goal_meetings"]}  # no student with B01 now
    assert rt.dead_letters == []
    # the Wochenbericht stays in the office: exact; the Schuljahresbericht leaves it: suppressed (ADR 0016)
    for kind in ("weekly", "school_year"):
        r = rt.api("POST", "/reports", body={"report_type": kind, "email": False}, claims=OFFICE)
        assert r.status == 201, r.body
        html, xlsx = (_object(rt, r.json()["report_id"], ext) for ext in ("html", "xlsx"))
        page = html.decode()
        start = page.index('id="begleitung"')
        section = page[start : page.index("</section>", start)]
        book = load_workbook(io.BytesIO(xlsx))
        rows = {r[0]: r[1] for r in book["Klebeeffekt"].iter_rows(values_only=True)}
        assert "Klebeeffekt" in section
        if kind == "weekly":
            assert "100,0 %" in section and "&lt;3" not in section
            assert rows["davon im früheren Praktikumsbetrieb"] == 1
            assert rows["Anteil Klebeeffekt"] == "100,0 %"
        else:
            assert "&lt;3" in section and "100,0 %" not in section
            assert rows["davon im früheren Praktikumsbetrieb"] == "<3" and rows["Anteil Klebeeffekt"] == "x"


def _object(rt: LocalRuntime, report_id: str, ext: str) -> bytes:
    s3 = boto3.client("s3")
    bucket = rt.names["reports"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    (key,) = [k for k in keys if report_id in k and k.endswith(f".{ext}")]
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def test_casework_facts_reach_reporting_without_a_read_of_the_companion(rt: LocalRuntime) -> None:
    """An internship or a meeting changes no caseload: reporting writes its fact and checks no companion's
    places (the "full" alert is checked on the facts that change a caseload)."""
    world = World(rt)
    me = companion_claims("B01")
    rt.drain()
    rt.clear_call_counts()
    a = world.students["B01"]
    assert (
        rt.api("POST", f"/students/{a}/internships", body=internship(world.company), claims=me).status == 201
    )
    goal = {"meeting_date": "2026-10-20", "meeting_type": "goal_agreement", "participants": ["student"]}
    assert rt.api("POST", f"/students/{a}/meetings", body=goal, claims=me).status == 201
    rt.drain()
    reporting = dict(rt.api_calls_by_function["reporting-consumer"])
    assert reporting == {"dynamodb.TransactWriteItems": 2}, reporting  # one write per fact, no read
