"""No student name or date of birth in any report, email, dashboard answer or log (DESIGN.md §6).

Seeded intakes (Faker names) run through the whole pipeline with reports, alerts, the daily check and
an exit; then every file in ``out/reports`` and ``out/mail`` (HTML, PDF text, XLSX cells, decoded MIME
parts), the dashboard figures and everything logged are searched for the seeded names and birth dates.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from openpyxl import load_workbook

from avdual.demo import seed_companions, submit_all
from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes, load_scenario

OFFICE = {"sub": "office-privacy", "cognito:groups": "office"}
SERVICES = ("intake", "matching", "reporting")


class Capture(logging.Handler):
    """Everything the services log, formatted as their Powertools handlers format it (JSON lines)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def texts_of(out: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for p in sorted(out.rglob("*")):
        if p.suffix in (".html", ".json"):
            found[str(p)] = p.read_text(encoding="utf-8")
        elif p.suffix == ".eml":
            msg = message_from_bytes(p.read_bytes(), policy=policy.default)
            parts = [str(msg["Subject"])] + [
                part.get_content()
                for part in msg.walk()  # type: ignore[attr-defined]
                if part.get_content_maintype() == "text"
            ]
            found[str(p)] = "\n".join(parts)
        elif p.suffix == ".xlsx":
            wb = load_workbook(p, read_only=True)
            found[str(p)] = "\n".join(
                str(v) for ws in wb for row in ws.iter_rows(values_only=True) for v in row if v is not None
            )
        elif p.suffix == ".pdf" and shutil.which("pdftotext"):
            found[str(p)] = subprocess.run(
                ["pdftotext", str(p), "-"], capture_output=True, text=True, check=True
            ).stdout
    return found


def identifiers(forms: list[dict]) -> list[re.Pattern[str]]:
    pats = []
    for f in forms:
        s = f["student"]
        dob = date.fromisoformat(s["date_of_birth"])
        pats += [
            re.compile(rf"(?<!\w){re.escape(s['family_name'])}(?!\w)"),
            re.compile(rf"(?<!\w){re.escape(s['given_name'])} {re.escape(s['family_name'])}(?!\w)"),
            re.compile(re.escape(s["date_of_birth"])),
            re.compile(re.escape(dob.strftime("%d.%m.%Y"))),
        ]
    return pats


def test_no_name_or_birth_date_in_reports_mails_dashboard_or_logs(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=5) for c in scenario["companions"]]
    forms = load_intakes()[:40]
    capture = Capture()
    loggers = [logging.getLogger(name) for name in SERVICES]
    levels = [lg.level for lg in loggers]
    for lg in loggers:  # the services' loggers may exist already (and write to an earlier test's stdout)
        capture.setFormatter(lg.handlers[0].formatter if lg.handlers else None)
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
    try:
        _run(tmp_path, scenario, forms)
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(capture)
            lg.setLevel(level)
    logs = capfd.readouterr()
    texts = texts_of(tmp_path)
    texts["stdout"], texts["stderr"], texts["logs"] = logs.out, logs.err, "\n".join(capture.lines)
    kinds = {Path(k).suffix for k in texts}
    assert {".html", ".eml", ".xlsx", ".json"} <= kinds
    assert len([k for k in texts if k.endswith(".eml")]) >= 5
    assert "alert sent" in texts["logs"]  # the logs really were captured
    leaks = [
        (where, pat.pattern)
        for pat in identifiers(forms)
        for where, text in texts.items()
        if pat.search(text)
    ]
    assert leaks == []


def _run(tmp_path: Path, scenario: dict, forms: list[dict]) -> None:
    with LocalRuntime(stage="privacy", log_level="DEBUG", out_dir=tmp_path) as rt:
        seed_companions(rt, scenario)
        rt.drain()
        ids = submit_all(rt, forms, drain_every=20)
        assigned = next(a for a in rt.scan("assignments") if a["status"] == "assigned")
        exit_body = {
            "exit_date": date.today().isoformat(),
            "reason": "completed",
            "destination": "dual_training",
            "with_former_internship_company": True,
        }
        assert (
            rt.api("POST", f"/assignments/{assigned['intake_id']}/exit", body=exit_body, claims=OFFICE).status
            == 200
        )
        withdraw = rt.api(
            "POST", f"/intakes/{ids[1]}/withdraw", body={"reason": "consent_withdrawn"}, claims=OFFICE
        )
        assert withdraw.status in (200, 201, 202, 204), withdraw.body
        rt.drain()
        now = rt.clock.now()  # the scheduled jobs as of later instants: a weekly report, the 14-day check
        rt.run_schedule("reporting-renderer", "weekly-report", at=now + timedelta(days=7))
        rt.run_schedule("reporting-checks", "waiting-check", at=now + timedelta(days=16))
        year = rt.api("POST", "/reports", body={"report_type": "school_year"}, claims=OFFICE)
        assert year.status == 201
        (tmp_path / "dashboard.json").write_text(
            rt.api("GET", "/dashboard/summary", claims=OFFICE).body, encoding="utf-8"
        )
