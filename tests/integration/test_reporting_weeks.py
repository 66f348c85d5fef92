"""Week over week, right across weeks: three simulated weeks on the runtime's clock, the scheduled Monday
Wochenbericht of each, read back from its XLSX. Each week's "Wochenbeginn" is the previous week's "Stand",
Wochenbeginn + Zugänge − Abgänge = Stand in every row, the key figures equal the status table's totals and
the waitlist sheet (less a student erased later), and both equal what matching holds (ground truth) at the
end of the week – never "Vorwoche 440, neu 0, Veränderung −440"."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from avdual.runtime import LocalRuntime
from avdual.scenario import load_intakes
from tests.conftest import OFFICE, companion

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 9, 22, 9, 0, tzinfo=BERLIN)  # Tuesday of KW 39 (the scenario's consents are older)


def submit(rt: LocalRuntime, forms: list[dict[str, Any]]) -> list[str]:
    ids = []
    for form in forms:
        group = f"school-{form['school_id']}"
        r = rt.api("POST", "/intakes", body=form, claims={"sub": group, "cognito:groups": group})
        assert r.status == 201, r.body
        ids.append(r.json()["intake_id"])
    rt.drain()
    return ids


def truth(rt: LocalRuntime) -> dict[str, int]:
    statuses = [a["status"] for a in rt.scan("assignments")]
    return {s: statuses.count(s) for s in ("assigned", "waitlisted", "ended", "withdrawn")} | {
        "intakes": len(statuses)
    }


def to_monday_report(rt: LocalRuntime) -> None:
    """On to Monday 07:01: the scheduled Wochenbericht of the week that ended."""
    now = rt.clock.now().astimezone(BERLIN)
    monday = (now + timedelta(days=7 - now.weekday())).replace(hour=7, minute=1, second=0, microsecond=0)
    rt.advance(monday - rt.clock.now())


def kennzahlen(path: Path) -> dict[str, dict[str, Any]]:
    wb = load_workbook(path)
    rows = list(wb["Kennzahlen"].iter_rows(values_only=True))
    header = rows[0]
    out = {}
    for r in rows[1:]:
        if r[0] is None:
            break
        out[r[0]] = dict(zip(header[1:], r[1:], strict=True))
    total = next(r for r in wb["Stand nach Schule"].iter_rows(values_only=True) if r[0] == "Insgesamt")
    head = next(wb["Stand nach Schule"].iter_rows(values_only=True))
    out["_status_totals"] = dict(zip(head, total, strict=True))
    waiting = [r for r in wb["Warteliste"].iter_rows(min_row=2, values_only=True) if r[0]]
    out["_waitlist_rows"] = {"n": len([r for r in waiting if str(r[0]).startswith("…")])}
    return out


def test_three_weeks_of_weekly_reports_agree_with_each_other_and_with_matching(tmp_path: Path) -> None:
    forms = [f for f in load_intakes() if f["school_id"] == "RFS"][:11]
    with LocalRuntime(stage="weeks", log_level="ERROR", out_dir=tmp_path, clock_start=START) as rt:
        for c in (companion("B01", ["RFS"], 4), companion("B02", ["RFS"], 4)):
            assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
        rt.drain()
        # KW 39: 8 intakes → 8 assigned; 0 waiting
        week1 = submit(rt, forms[:8])
        truths = [truth(rt)]
        to_monday_report(rt)
        # KW 40: 2 more → waitlisted; one exit → the first waiting moves up
        rt.advance(timedelta(days=1))
        submit(rt, forms[8:10])
        exit_body = {
            "exit_date": rt.clock.now().astimezone(BERLIN).date().isoformat(),
            "reason": "completed",
            "destination": "dual_training",
        }
        r = rt.api("POST", f"/assignments/{week1[0]}/exit", body=exit_body, claims=OFFICE)
        assert r.status == 200, r.body
        rt.drain()
        truths.append(truth(rt))
        to_monday_report(rt)
        # KW 41: a new intake waits; the one still waiting is withdrawn by the school
        rt.advance(timedelta(days=2))
        submit(rt, forms[10:11])
        waiting = rt.api("GET", "/waitlist", claims=OFFICE).json()
        school = {"sub": "school-RFS", "cognito:groups": "school-RFS"}
        r = rt.api("POST", f"/intakes/{waiting[0]['intake_id']}/withdraw", body={}, claims=school)
        assert r.status == 200, r.body
        rt.drain()
        truths.append(truth(rt))
        to_monday_report(rt)
        reports = sorted(
            (x for x in rt.api("GET", "/reports", claims=OFFICE).json() if x["report_type"] == "weekly"),
            key=lambda x: x["generated_at"],
        )
    assert [x["period_label"] for x in reports] == ["KW 39/2026", "KW 40/2026", "KW 41/2026"]
    weeks = [kennzahlen(next(tmp_path.glob(f"reports/*{x['report_id']}.xlsx"))) for x in reports]
    assert truths == [
        {"assigned": 8, "waitlisted": 0, "ended": 0, "withdrawn": 0, "intakes": 8},
        {"assigned": 8, "waitlisted": 1, "ended": 1, "withdrawn": 0, "intakes": 10},
        {"assigned": 8, "waitlisted": 1, "ended": 1, "withdrawn": 1, "intakes": 11},
    ]
    labels = {
        "intakes": "Anmeldungen insgesamt",
        "assigned": "zugeordnet",
        "waitlisted": "auf der Warteliste",
        "ended": "beendet (Austritt)",
        "withdrawn": "zurückgezogen",
    }
    status_columns = {"assigned": "zugeordnet", "waitlisted": "Warteliste", "ended": "beendet"}
    for n, (week, t) in enumerate(zip(weeks, truths, strict=True)):
        for key, label in labels.items():
            row = week[label]
            assert row["Stand"] == t[key], (n, label)  # the report = matching at the end of the week
            assert row["Wochenbeginn"] + row["Zugänge"] - row["Abgänge"] == row["Stand"], (n, label)
            assert row["Veränderung"] == row["Stand"] - row["Wochenbeginn"]
            if n:
                assert row["Wochenbeginn"] == weeks[n - 1][label]["Stand"], (n, label)
        assert week["_status_totals"]["Insgesamt"] == t["intakes"]
        for key, column in status_columns.items():
            assert week["_status_totals"][column] == t[key]
        # the student waiting in week 2 was withdrawn in week 3: erased from the stored report, counted still
        assert week["_waitlist_rows"]["n"] == (0 if n == 1 else t["waitlisted"]), n
    # the week without new intakes … and the exact flows of the second week
    assert weeks[1]["Anmeldungen insgesamt"] == {
        "Wochenbeginn": 8,
        "Zugänge": 2,
        "Abgänge": 0,
        "Stand": 10,
        "Veränderung": 2,
    }
    assert (weeks[1]["auf der Warteliste"]["Zugänge"], weeks[1]["auf der Warteliste"]["Abgänge"]) == (2, 1)
    assert (weeks[1]["zugeordnet"]["Zugänge"], weeks[1]["zugeordnet"]["Abgänge"]) == (1, 1)
