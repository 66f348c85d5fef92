"""A withdrawal removes the student's row from every stored report that lists it (docs/datenschutz.md:
report-index references) – HTML, PDF and XLSX – and from the report index; the counts stay."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from openpyxl import load_workbook

from avdual.runtime import LocalRuntime
from services.reporting.logic.waitlist import ref_of
from tests.conftest import OFFICE, companion, new_form

SCHOOL = {"sub": "school-redaction", "cognito:groups": "school-RFS"}

ACCEPT_PDF = {"Accept": "application/pdf"}


def _files(rt: LocalRuntime, report_id: str) -> dict[str, bytes]:
    from services.reporting.dal.aggregates import AggregateStore

    s3 = boto3.client("s3")
    with rt.lock:
        record = AggregateStore().get_report(report_id)
        assert record is not None
        return {
            k.rsplit(".", 1)[-1]: s3.get_object(Bucket=rt.names["reports"], Key=k)["Body"].read()
            for k in record.object_keys
        }


def _texts(files: dict[str, bytes]) -> dict[str, str]:
    wb = load_workbook(io.BytesIO(files["xlsx"]), read_only=True)
    out = {
        "html": files["html"].decode(),
        "xlsx": "\n".join(
            str(c) for c in wb["Warteliste"].iter_rows(values_only=True) for c in c if c is not None
        ),
    }
    if shutil.which("pdftotext"):
        out["pdf"] = subprocess.run(
            ["pdftotext", "-", "-"], input=files["pdf"], capture_output=True, check=True
        ).stdout.decode()
    return out


def _index(rt: LocalRuntime, report_id: str) -> dict:
    from services.reporting.dal.aggregates import AggregateStore

    with rt.lock:
        record = AggregateStore().get_report(report_id)
    assert record is not None
    return {"subject_ids": record.subject_ids, "redacted_rows": record.redacted_rows}


def test_withdrawal_removes_the_row_from_stored_reports(tmp_path: Path) -> None:
    with LocalRuntime(stage="redact", log_level="ERROR", out_dir=tmp_path, duplicate=True) as rt:
        assert rt.api("POST", "/companions", body=companion("A", ["RFS"], 1), claims=OFFICE).status == 200
        rt.drain()
        ids = []
        for _ in range(3):
            r = rt.api("POST", "/intakes", body=new_form(), claims=SCHOOL)
            assert r.status == 201
            ids.append(r.json()["intake_id"])
            rt.drain()
        _assigned, gone, stays = ids
        report = rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE).json()
        before = _texts(_files(rt, report["report_id"]))
        for text in before.values():  # both waiting students are listed in every format
            assert ref_of(gone) in text and ref_of(stays) in text
        assert _index(rt, report["report_id"]) == {"subject_ids": sorted([gone, stays]), "redacted_rows": 0}
        # handing out pseudonymous rows is audited: a download of a report file, the dashboard's waitlist
        pdf = rt.api("GET", f"/reports/{report['report_id']}/files/pdf", claims=OFFICE, headers=ACCEPT_PDF)
        assert pdf.status == 200 and pdf.data is not None and pdf.data.startswith(b"%PDF")
        assert rt.api("GET", "/dashboard/summary", claims=OFFICE).status == 200
        log = rt.api("GET", "/audit", claims=OFFICE).json()["items"]
        assert [(e["action"], sorted(e["intake_ids"])) for e in log if e["service"] == "reporting"] == [
            ("list", sorted([gone, stays])),
            ("read", sorted([gone, stays])),
        ]

        assert rt.api("POST", f"/intakes/{gone}/withdraw", claims=SCHOOL).status == 200
        rt.drain()  # every message twice: the redaction is idempotent

        files = _files(rt, report["report_id"])
        for fmt, text in _texts(files).items():
            assert ref_of(gone) not in text, fmt
            assert ref_of(stays) in text, fmt
        # one row from the HTML (the PDF is rendered from it again) and one from the XLSX
        assert _index(rt, report["report_id"]) == {"subject_ids": [stays], "redacted_rows": 2}
        exported = next((tmp_path / "reports").glob(f"*{report['report_id']}.html")).read_text()
        assert ref_of(gone) not in exported  # the local copy follows the bucket
        listed = rt.api("GET", f"/reports/{report['report_id']}", claims=OFFICE).json()
        assert set(listed["links"]) == {"html", "pdf", "xlsx"}
        again = rt.api("GET", listed["links"]["pdf"], claims=OFFICE, headers=ACCEPT_PDF)
        assert again.data == files["pdf"]  # the download serves the redacted file


def test_a_report_being_redacted_is_busy_and_retried_later(rt: LocalRuntime) -> None:
    from services.reporting.dal.aggregates import AggregateStore, ReportStore
    from services.reporting.logic import redact
    from services.reporting.models.aggregates import ReportRecord

    now = datetime.now(UTC)
    with rt.lock:
        store = AggregateStore()
        store.put_report(
            ReportRecord(
                report_id="R1",
                report_type="weekly",
                school_year="2026/27",
                generated_at=now,
                subject_ids=["X"],
            )
        )
        assert store.acquire("report#R1", seconds=60, now=now)
        with pytest.raises(redact.ReportBusyError):
            redact.erase_from_reports("X", store=store, reports=ReportStore(), now=now)
        assert not store.acquire("report#R1", seconds=60, now=now)  # still held
        store.release("report#R1")
        assert redact.erase_from_reports("X", store=store, reports=ReportStore(), now=now) == 0  # no files
        record = store.get_report("R1")
        assert record is not None and record.subject_ids == []
        assert store.reports_listing("X") == []
        # an expired lease (a consumer that died) can be taken over
        assert store.acquire("report#R2", seconds=1, now=now)
        assert store.acquire("report#R2", seconds=60, now=now.replace(year=now.year + 1))
