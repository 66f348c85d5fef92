"""Reporting against moto (embedded runtime): aggregates, office alerts by SES, reports in S3, the API.

Matching facts are put on the bus directly (as matching would), so these tests exercise reporting alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from itertools import count
from pathlib import Path
from typing import Any

import boto3
import pytest

from avdual.runtime import LocalRuntime
from contracts import events as ev
from contracts.events import EventSpec
from services.reporting.dal.aggregates import AggregateStore
from tests.conftest import OFFICE
from tests.events import sqs_record

_n = count(1)
T0 = datetime(2026, 11, 30, 8, tzinfo=UTC)
PROFILE = {
    "school_id": "RFS",
    "school_year": "2026/27",
    "class_name": "AVd1a",
    "age_band": "16",
    "gender": "weiblich",
    "german_support": False,
    "career_fields": ["kfz"],
}


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="rep", log_level="ERROR", out_dir=tmp_path) as runtime:
        yield runtime


def deliver(rt: LocalRuntime, *facts: tuple[EventSpec, Any]) -> None:
    """Hand facts to the reporting consumer as one SQS batch (reporting alone: matching never sees them)."""
    records = [sqs_record(spec, data) for spec, data in facts]
    assert rt.invoke("reporting-consumer", {"Records": records}) == {"batchItemFailures": []}


def new_id() -> str:
    return f"01KR{next(_n):022d}"


def companion_updated(
    rt: LocalRuntime, cid: str, capacity: int, at: datetime = T0, fte: float | None = 1.0
) -> None:
    deliver(
        rt,
        (
            ev.COMPANION_UPDATED,
            ev.CompanionUpdatedData(
                companion_id=cid, school_ids=["RFS"], capacity=capacity, active=True, updated_at=at, fte=fte
            ),
        ),
    )


def assigned(iid: str, cid: str, at: datetime) -> tuple[EventSpec, Any]:
    return ev.COMPANION_ASSIGNED, ev.CompanionAssignedData(
        intake_id=iid, companion_id=cid, assigned_at=at, cost=1.0, **PROFILE
    )


def waitlisted(iid: str, at: datetime) -> tuple[EventSpec, Any]:
    return ev.STUDENT_WAITLISTED, ev.StudentWaitlistedData(
        intake_id=iid, waitlisted_at=at, reason="no_capacity", **PROFILE
    )


def exit_of(iid: str, cid: str, at: datetime) -> ev.AssignmentEndedData:
    return ev.AssignmentEndedData(
        intake_id=iid,
        companion_id=cid,
        school_id="RFS",
        school_year="2026/27",
        ended_at=at,
        exit_date=at.date(),
        reason="completed",
        destination="job",
    )


def submitted(iid: str, at: datetime) -> tuple[EventSpec, Any]:
    return ev.INTAKE_SUBMITTED, ev.IntakeSubmittedData(intake_id=iid, submitted_at=at, **PROFILE)


def mails(rt: LocalRuntime) -> list[EmailMessage]:
    assert rt.out_dir is not None
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted((rt.out_dir / "mail").glob("*.eml"))
    ]


def subjects(rt: LocalRuntime) -> list[str]:
    """Subjects of the mails sent so far – after every alert window that has ended sent its digest."""
    rt.advance()
    return [" ".join(str(m["Subject"]).split()) for m in mails(rt)]


def test_alerts_reach_the_office_once_whatever_the_delivery(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 2)
    a, b, c = new_id(), new_id(), new_id()
    deliver(rt, *(submitted(iid, T0 + timedelta(minutes=i)) for i, iid in enumerate((a, b, c))))
    deliver(
        rt,
        assigned(a, "B01", T0 + timedelta(minutes=5)),
        assigned(b, "B01", T0 + timedelta(minutes=6)),
        waitlisted(c, T0 + timedelta(minutes=7)),
    )
    for _ in range(2):  # the same facts again (a redelivery, a producer retry): nothing new
        deliver(rt, assigned(b, "B01", T0 + timedelta(minutes=6)), waitlisted(c, T0 + timedelta(minutes=7)))
    got = subjects(rt)
    assert sorted(got) == sorted(
        [
            "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 09:06–09:21 Uhr)",
            "[AV dual] Warteliste: 1 neu auf der Warteliste (30.11.2026, 09:07–09:22 Uhr)",
        ]
    )
    m = mails(rt)[0]
    assert m["To"] == "bildungsbuero@landkreis-ludwigsburg.example"
    assert "berichte@avdual.landkreis-ludwigsburg.example" in m["From"]
    counters = AggregateStore().counters("2026/27")
    assert counters["school#RFS#assigned"] == 2 and counters["school#RFS#waitlisted"] == 1
    assert counters["companion#B01#assigned"] == 2 and counters["school#RFS#intakes"] == 3
    # a raised capacity re-arms the alert; the waiting student is assigned → full again at 3, and the
    # office, told that the student waits, gets the all-clear
    companion_updated(rt, "B01", 3, T0 + timedelta(hours=1))
    deliver(rt, assigned(c, "B01", T0 + timedelta(hours=1, minutes=1)))
    got = subjects(rt)[2:]
    assert sorted(got) == [  # the raise re-armed the capacity alert at 10:00
        "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 10:00–10:15 Uhr)",
        "[AV dual] Warteliste: 1 inzwischen zugeordnet (30.11.2026, 10:01–10:16 Uhr)",
    ]
    clear = next(m for m in mails(rt) if "inzwischen zugeordnet" in str(m["Subject"]))
    assert c in clear.get_body(("plain",)).get_content() and "Entwarnung" in str(clear)  # type: ignore[union-attr]


def test_a_student_placed_before_the_waitlist_fact_arrives_causes_no_alert(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 5)
    iid = new_id()
    deliver(rt, assigned(iid, "B01", T0 + timedelta(minutes=2)))  # out of order: the later fact first
    deliver(rt, waitlisted(iid, T0 + timedelta(minutes=1)), submitted(iid, T0))
    assert not [s for s in subjects(rt) if "Warteliste" in s]
    counters = AggregateStore().counters("2026/27")
    assert counters["school#RFS#assigned"] == 1 and counters.get("school#RFS#waitlisted", 0) == 0


def test_the_daily_check_reports_each_long_wait_once(rt: LocalRuntime) -> None:
    now = rt.clock.now()
    iid = new_id()
    deliver(rt, submitted(iid, now), waitlisted(iid, now + timedelta(seconds=1)))
    fired = rt.advance(timedelta(days=17))
    assert [n for _, n in fired].count("waiting-check") == 17
    long_waits = [s for s in subjects(rt) if s.startswith("[AV dual] Wartezeit über 14 Tage")]
    assert long_waits == [
        "[AV dual] Wartezeit über 14 Tage: eine Schülerin/ein Schüler wartet länger als 14 Tage"
    ]
    body = next(m for m in mails(rt) if "Wartezeit" in str(m["Subject"])).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert iid in body and "15" in body


def test_on_demand_report_is_stored_announced_emailed_and_listed(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 40)
    for i in range(5):
        iid = new_id()
        deliver(
            rt,
            submitted(iid, rt.clock.now() - timedelta(hours=1)),
            assigned(iid, "B01", rt.clock.now() - timedelta(minutes=50 - i)),
        )
    r = rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE)
    assert r.status == 201, r.body
    out = r.json()
    assert out["formats"] == ["html", "pdf", "xlsx"] and out["emailed"] is True
    assert out["links"] == {f: f"/reports/{out['report_id']}/files/{f}" for f in ("html", "pdf", "xlsx")}
    with rt.lock:
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=rt.names["reports"])["Contents"]]
    assert len(keys) == 3 and all(k.startswith("reports/2026-27/weekly/") for k in keys)
    assert rt.out_dir is not None and len(list((rt.out_dir / "reports").glob(f"*{out['report_id']}*"))) == 3
    report_mail = next(m for m in mails(rt) if "Wochenbericht" in str(m["Subject"]))
    html = report_mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "Bericht herunterladen" in html and "cid:" in html and "data:image" not in html
    assert f"/dashboard#bericht={out['report_id']}&amp;format=pdf" in html  # opens the dashboard
    listed = rt.api("GET", "/reports", claims=OFFICE).json()
    assert [x["report_id"] for x in listed] == [out["report_id"]]
    one = rt.api("GET", f"/reports/{out['report_id']}", claims=OFFICE).json()
    assert one["links"] == out["links"] and "X-Amz" not in json.dumps(one)
    assert rt.api("GET", "/reports/01KNOTTHERE0000000000000000", claims=OFFICE).status == 404
    year = rt.api(
        "POST",
        "/reports",
        body={"report_type": "school_year", "school_year": "2026/27", "email": False},
        claims=OFFICE,
    )
    assert year.status == 201 and year.json()["emailed"] is False


def test_a_retried_scheduled_run_finishes_the_same_report(rt: LocalRuntime) -> None:
    at = datetime(2026, 12, 7, 6, tzinfo=UTC)
    first = rt.run_schedule("reporting-renderer", "weekly-report", at=at)
    again = rt.run_schedule("reporting-renderer", "weekly-report", at=at)
    assert first["report_id"] == again["report_id"]
    assert len([s for s in subjects(rt) if "Wochenbericht AV dual KW 49/2026" in s]) == 1


def test_reporting_routes_are_for_the_office(rt: LocalRuntime) -> None:
    school = {"sub": "s", "cognito:groups": "school-RFS"}
    assert rt.api("GET", "/dashboard/summary", claims=school).status == 403
    assert rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=school).status == 403
    assert rt.api("GET", "/reports").status == 401
    assert rt.api("POST", "/reports", body={"report_type": "monthly"}, claims=OFFICE).status == 422
    page = rt.api("GET", "/dashboard")
    assert page.status == 200 and "text/html" in page.headers["Content-Type"]
    assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    assert "<h1>Dashboard des Bildungsbüros</h1>" in page.body and "/*SCRIPT*/" not in page.body


def test_dashboard_summary_shows_current_figures(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 40, fte=0.5)
    for i in range(4):
        iid = new_id()
        deliver(
            rt,
            submitted(iid, rt.clock.now() - timedelta(hours=2)),
            assigned(iid, "B01", rt.clock.now() - timedelta(hours=1, minutes=i)),
        )
    s = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()
    assert s["status_by_school"]["grand_total"] == 4
    assert s["companions"] == [
        {
            "companion_id": "B01",
            "name": "B01",  # no name heard yet (the event without one): the code stands in
            "label": "B01",
            "schools": "Robert-Franck-Schule Ludwigsburg",
            "school_codes": "RFS",
            "assigned": 4,
            "capacity": 40,
            "fte": 0.5,
            "active": True,
        }
    ]
    assert s["charts"]["caseload"].startswith("data:image/png;base64,")
    assert s["status_by_school"]["col_totals"][1] == 4  # exact: the office's own view


def test_full_alert_is_rearmed_only_after_a_real_drop(rt: LocalRuntime) -> None:
    companion_updated(rt, "B01", 10)
    ids = [new_id() for _ in range(10)]
    deliver(rt, *(assigned(iid, "B01", T0 + timedelta(minutes=i)) for i, iid in enumerate(ids)))
    ended = exit_of(ids[0], "B01", T0 + timedelta(days=1))
    deliver(rt, (ev.ASSIGNMENT_ENDED, ended))  # 9/10: the office was told already, no news when refilled
    deliver(rt, assigned(new_id(), "B01", T0 + timedelta(days=1, minutes=1)))
    assert [s for s in subjects(rt) if "Auslastung" in s] == [
        "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 09:09–09:24 Uhr)"
    ]
    for i, iid in enumerate(
        ids[1:3]
    ):  # down to 8/10 (below 90 %): the all-clear; then full again: a new alert
        deliver(
            rt,
            (
                ev.ASSIGNMENT_ENDED,
                ended.model_copy(update={"intake_id": iid, "ended_at": T0 + timedelta(days=2, minutes=i)}),
            ),
        )
    subjects(rt)  # the all-clear's window ends (15 minutes later) before the day-3 facts happen
    deliver(rt, *(assigned(new_id(), "B01", T0 + timedelta(days=3, minutes=i)) for i in range(2)))
    assert [s for s in subjects(rt) if "Auslastung" in s] == [
        "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 09:09–09:24 Uhr)",
        "[AV dual] Auslastung: B01 wieder mit freien Plätzen (02.12.2026, 09:01–09:16 Uhr)",
        "[AV dual] Auslastung: B01 voll ausgelastet (03.12.2026, 09:01–09:16 Uhr)",
    ]


def test_full_alert_from_the_caseload_the_assignment_carries_reads_nothing(rt: LocalRuntime) -> None:
    """CompanionAssigned v2 carries the companion's caseload after the claim and its capacity: the "full"
    check reads neither the companion nor its counter; a v1 event (without them) still reads both, and the
    re-arm after a real drop works as before (the fact that lowered the caseload checks it)."""
    companion_updated(rt, "B01", 3)
    ids = [new_id() for _ in range(4)]

    def carried(iid: str, at: datetime, caseload: int) -> tuple[EventSpec, Any]:
        spec, data = assigned(iid, "B01", at)
        return spec, data.model_copy(update={"companion_caseload": caseload, "companion_capacity": 3})

    rt.clear_call_counts()
    deliver(rt, *(carried(iid, T0 + timedelta(minutes=i), i + 1) for i, iid in enumerate(ids[:3])))
    assert "dynamodb.BatchGetItem" not in rt.api_calls_by_function["reporting-consumer"]
    assert [s for s in subjects(rt) if "Auslastung" in s] == [
        "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 09:02–09:17 Uhr)"
    ]
    rt.clear_call_counts()
    deliver(rt, carried(ids[2], T0 + timedelta(minutes=2), 3))  # redelivered: claimed already, no news
    assert rt.api_calls_by_function["reporting-consumer"].get("dynamodb.BatchGetItem") is None
    ended = exit_of(ids[0], "B01", T0 + timedelta(days=1))
    deliver(rt, (ev.ASSIGNMENT_ENDED, ended))  # 2/3, below 90 %: the all-clear, re-armed
    subjects(rt)
    rt.clear_call_counts()
    deliver(rt, assigned(ids[3], "B01", T0 + timedelta(days=3)))  # a v1 event: read, full again
    assert rt.api_calls_by_function["reporting-consumer"]["dynamodb.BatchGetItem"] == 1
    assert [s for s in subjects(rt) if "Auslastung" in s] == [
        "[AV dual] Auslastung: B01 voll ausgelastet (30.11.2026, 09:02–09:17 Uhr)",
        "[AV dual] Auslastung: B01 wieder mit freien Plätzen (01.12.2026, 09:00–09:15 Uhr)",
        "[AV dual] Auslastung: B01 voll ausgelastet (03.12.2026, 09:00–09:15 Uhr)",
    ]


def test_a_report_whose_pdf_fails_still_goes_out_with_html_and_xlsx(
    rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The PDF is one of three formats: if it cannot be laid out, the report is stored, announced and mailed
    with HTML and XLSX, and the mail, the report index and the API say that the PDF is missing."""
    from services.reporting.logic import publish
    from services.reporting.logic.pdf import PdfRenderError

    def broken(html: str) -> bytes:
        raise PdfRenderError("layout failed")

    monkeypatch.setattr(publish, "render_pdf", broken)
    companion_updated(rt, "B01", 40)
    r = rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE)
    assert r.status == 201, r.body
    out = r.json()
    assert out["formats"] == ["html", "xlsx"] and out["emailed"] is True
    assert out["unavailable"] == {"pdf": publish.PDF_UNAVAILABLE}
    with rt.lock:
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=rt.names["reports"])["Contents"]]
    assert sorted(k.rsplit(".", 1)[1] for k in keys) == ["html", "xlsx"]
    report_mail = next(m for m in mails(rt) if "Wochenbericht" in str(m["Subject"]))
    html = report_mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "PDF-Fassung konnte nicht erstellt werden" in html and "Excel" in html
    (listed,) = rt.api("GET", "/reports", claims=OFFICE).json()
    assert listed["unavailable"] == {"pdf": publish.PDF_UNAVAILABLE}


def test_report_files_are_downloaded_through_the_api(rt: LocalRuntime) -> None:
    """``GET /reports/{id}/files/{format}``: the stored bytes with their media type and file name, for the
    office only. As API Gateway does for a binary media type, the bytes come back only when ``Accept`` names
    the file's type; with any other ``Accept`` the client gets the base64 text the function returned."""
    import base64

    companion_updated(rt, "B01", 40)
    out = rt.api("POST", "/reports", body={"report_type": "weekly", "email": False}, claims=OFFICE).json()
    rid = out["report_id"]
    pdf = rt.api("GET", out["links"]["pdf"], claims=OFFICE, headers={"Accept": "application/pdf"})
    assert pdf.status == 200 and pdf.data is not None and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith('attachment; filename="Wochenbericht-')
    as_text = rt.api("GET", out["links"]["pdf"], claims=OFFICE, headers={"Accept": "*/*"})
    assert as_text.data is None and base64.b64decode(as_text.body) == pdf.data
    xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    xlsx = rt.api("GET", out["links"]["xlsx"], claims=OFFICE, headers={"Accept": xlsx_type})
    assert xlsx.data is not None and xlsx.data.startswith(b"PK") and xlsx.headers["Content-Type"] == xlsx_type
    html = rt.api("GET", out["links"]["html"], claims=OFFICE, headers={"Accept": "text/html"})
    assert html.headers["Content-Type"].startswith("text/html") and "Wochenbericht AV dual" in html.body
    assert rt.api("GET", f"/reports/{rid}/files/docx", claims=OFFICE).status == 404  # not a declared format
    assert rt.api("GET", "/reports/01KNOTTHERE0000000000000000/files/pdf", claims=OFFICE).status == 404
    assert (
        rt.api("GET", out["links"]["pdf"], claims={"sub": "s", "cognito:groups": "school-RFS"}).status == 403
    )
    assert rt.api("GET", out["links"]["pdf"]).status == 401


def test_a_state_written_elsewhere_since_this_process_wrote_it_is_read_not_overwritten(
    rt: LocalRuntime,
) -> None:
    """A student's next fact starts from the state this process wrote last (no read); if another container
    wrote the state since, the conditional write fails and the stored state is read and merged – nothing is
    lost, no counter counts twice (docs/performance.md)."""
    from services.reporting.dal import aggregates

    iid = new_id()
    companion_updated(rt, "B01", 5)
    deliver(rt, submitted(iid, T0))
    [key] = [k for k in aggregates._WRITTEN if k[1] == iid]
    as_written_here = aggregates._WRITTEN[key].model_copy(deep=True)
    deliver(rt, waitlisted(iid, T0 + timedelta(minutes=1)))  # "another container": this process forgets it
    aggregates._WRITTEN[key] = as_written_here
    rt.clear_call_counts()
    deliver(rt, assigned(iid, "B01", T0 + timedelta(days=2)))
    assert rt.api_calls["dynamodb.TransactWriteItems"] == 2  # from the stale state: refused; read, merged
    state = AggregateStore().get_state(iid)
    assert state is not None and [e.kind for e in state.timeline] == ["submitted", "waitlisted", "assigned"]
    counters = AggregateStore().counters("2026/27")
    assert counters["school#RFS#assigned"] == 1 and counters.get("school#RFS#waitlisted", 0) == 0
    assert counters["companion#B01#assigned"] == 1
