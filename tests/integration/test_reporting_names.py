"""The office reads names, not codes: a companion's name travels with ``CompanionUpdated`` (staff, not student
data) from matching to reporting, which never imports matching; school names come from the reference data.
Dashboard, reports (HTML, XLSX), e-mails and the CLI show the names, codes only in a secondary column."""

from __future__ import annotations

import io
from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from openpyxl import load_workbook
from rich.console import Console

from avdual.matching_cli import print_rebalance, print_registry
from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes
from tests.conftest import OFFICE, companion


def test_names_reach_the_dashboard_the_reports_and_the_mails(tmp_path: Path) -> None:
    forms = [f for f in load_intakes() if f["school_id"] == "RFS"][:2]
    with LocalRuntime(stage="names", log_level="ERROR", out_dir=tmp_path) as rt:
        body = companion("B01", ["RFS", "MPS"], 1, name="Sabine Krämer")
        assert rt.api("POST", "/companions", body=body, claims=OFFICE).status == 200
        rt.drain()
        for form in forms:  # the second one waits: Sabine Krämer is full
            group = {"sub": "school-RFS", "cognito:groups": "school-RFS"}
            assert rt.api("POST", "/intakes", body=form, claims=group).status == 201
        rt.drain()
        summary = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()
        report = rt.api("POST", "/reports", body={"report_type": "weekly"}, claims=OFFICE).json()
        rt.advance(timedelta(minutes=16))  # the alert window ends: its digest goes out
    (comp,) = summary["companions"]
    assert (comp["name"], comp["label"], comp["companion_id"]) == ("Sabine Krämer", "Sabine Krämer", "B01")
    assert comp["schools"] == "Robert-Franck-Schule Ludwigsburg, Mathilde-Planck-Schule Ludwigsburg"
    assert summary["waitlist"]["entries"][0]["school_name"] == "Robert-Franck-Schule Ludwigsburg"
    html = next(tmp_path.glob(f"reports/*{report['report_id']}.html")).read_text(encoding="utf-8")
    assert '<th scope="row">Sabine Krämer</th><td class="code">B01</td>' in html
    assert '<td>Robert-Franck-Schule Ludwigsburg</td><td class="code">RFS</td>' in html
    ws = load_workbook(next(tmp_path.glob(f"reports/*{report['report_id']}.xlsx")))["Begleiter"]
    assert [c.value for c in ws[1]][:3] == ["Begleiter/in", "Kürzel", "Schulen"]
    assert [c.value for c in ws[2]][:2] == ["Sabine Krämer", "B01"]
    subjects = [
        str(message_from_bytes(p.read_bytes(), policy=policy.default)["Subject"])
        for p in (tmp_path / "mail").glob("*.eml")
    ]
    full = [s for s in subjects if "ausgelastet" in s]
    assert full and all("Sabine Krämer (B01)" in s for s in full)


def test_the_cli_names_companions_and_schools(monkeypatch: pytest.MonkeyPatch) -> None:
    out = Console(record=True, width=200, file=io.StringIO())
    print_rebalance(
        {
            "dry_run": True,
            "moves": [
                {
                    "intake_id": "01KX",
                    "school_id": "OWS",
                    "from_companion_id": "B05",
                    "to_companion_id": "B06",
                    "cost_before": 2.0,
                    "cost_after": 1.0,
                    "cost_change": -1.0,
                }
            ],
            "students": 1,
            "companions": 2,
            "assigned_before": 1,
            "assigned_after": 1,
            "total_cost_before": 2.0,
            "total_cost_after": 1.0,
            "cost_change": -1.0,
        },
        out,
        names={"B05": "Thomas Wieland", "B06": "Rania Haddad"},
    )
    text = out.export_text()
    assert "Thomas Wieland (B05)" in text and "Rania Haddad (B06)" in text and "Oscar-Walcker-Schule" in text
    monkeypatch.setattr("avdual.matching_cli.console", out)
    print_registry(
        [
            {
                "companion_id": "B05",
                "name": "Thomas Wieland",
                "school_ids": ["OWS"],
                "capacity": 40,
                "used": 3,
                "active": True,
            }
        ]
    )
    row = next(line for line in out.export_text().splitlines() if "Thomas Wieland" in line)
    assert row.index("Thomas Wieland") < row.index("B05") < row.index("Oscar-Walcker-Schule")
