"""No student name or date of birth outside the intakes table: not in any event (archive, queues, outbox
streams), other table, report, email, dashboard answer or log (docs/architecture.md; docs/datenschutz.md).

Seeded intakes (Faker names) run through the whole pipeline with reports, alerts, the daily check and
an exit; then every file in ``out/reports`` and ``out/mail`` (HTML, PDF text, XLSX cells, decoded MIME
parts), the dashboard figures and everything logged are searched for the seeded names and birth dates.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from avdual.demo import seed_companions, submit_all
from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes, load_scenario
from contracts import calendar
from tests.privacy import captured_service_logs, everything_stored, identifiers, leaks, texts_of

OFFICE = {"sub": "office-privacy", "cognito:groups": "office"}


def test_no_name_or_birth_date_outside_the_intakes_table(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=5) for c in scenario["companions"]]
    forms = load_intakes()[:40]
    with captured_service_logs() as capture:
        stored = _run(tmp_path, scenario, forms)
    logs = capfd.readouterr()
    # events (archive, queues, outbox tables and their streams), every other table, bucket objects, mails
    assert leaks(identifiers(forms), {"intakes": stored.pop("table:intakes")})  # the search finds them there
    # staff names (the companions), which may share a family name with a student
    del stored["table:companions"]
    texts = {**texts_of(tmp_path), **stored}
    texts["stdout"], texts["stderr"], texts["logs"] = logs.out, logs.err, "\n".join(capture.lines)
    kinds = {Path(k).suffix for k in texts}
    assert {".html", ".eml", ".xlsx", ".json"} <= kinds
    assert len([k for k in texts if k.endswith(".eml")]) >= 5
    assert "alert sent" in texts["logs"]  # the logs really were captured
    staff = tuple(c["name"] for c in scenario["companions"])  # named in reports, e-mails and the dashboard
    assert leaks(identifiers(forms, staff=staff), texts) == []


def _run(tmp_path: Path, scenario: dict, forms: list[dict]) -> dict[str, str]:
    with LocalRuntime(stage="privacy", log_level="DEBUG", out_dir=tmp_path) as rt:
        seed_companions(rt, scenario)
        rt.drain()
        ids = submit_all(rt, forms, drain_every=20)
        assigned = next(a for a in rt.scan("assignments") if a["status"] == "assigned")
        exit_body = {
            "exit_date": calendar.local_date(rt.clock.now()).isoformat(),  # the county's day
            "reason": "completed",
            "destination": "dual_training",
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
        return everything_stored(rt)
