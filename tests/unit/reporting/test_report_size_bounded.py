"""A report's size does not grow with the county (docs/performance.md): the weekly report lists the longest
waits, the most loaded companions and the companions most behind with their goal-agreement meetings up to
their limits in every format (HTML, XLSX), while its counts (waiting longer than 14 days, the caseload and
goal-agreement totals) still cover everyone; the Schuljahresbericht shows goal agreements per school only."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from services.reporting.logic.casework_figures import GOAL_LIST_LIMIT
from services.reporting.logic.figures import (
    COMPANION_LIST_LIMIT,
    WAITLIST_LIST_LIMIT,
    Inputs,
    school_year_context,
    weekly_context,
)
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.publish import casework_context
from services.reporting.logic.report import render_html, render_xlsx
from services.reporting.logic.waitlist import long_waits, waitlist_rows
from services.reporting.models.aggregates import CompanionGoals, CompanionInfo, WaitlistItem

AS_OF = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
WAITING, COMPANIONS = 3 * WAITLIST_LIST_LIMIT, 2 * COMPANION_LIST_LIMIT


def _inputs() -> Inputs:
    waitlist = [
        WaitlistItem(
            intake_id=f"01KB{i:022d}",
            school_id="RFS",
            school_year="2026/27",
            class_name="AV1",
            reason="no_capacity",
            periods=[(AS_OF - timedelta(days=1 + i % 40, minutes=i), None)],
        )
        for i in range(WAITING)
    ]
    companions = {
        f"B{c:03d}": CompanionInfo(companion_id=f"B{c:03d}", school_ids=["RFS"], capacity=40, fte=1.0)
        for c in range(COMPANIONS)
    }
    counters = {f"companion#B{c:03d}#assigned": c % 41 for c in range(COMPANIONS)}
    counters["school#RFS#assigned"] = sum(counters.values())  # the students with a companion now
    counters["school#RFS#intakes"] = WAITING + counters["school#RFS#assigned"]
    return Inputs(school_year="2026/27", counters=counters, companions=companions, waitlist=waitlist)


def test_the_weekly_report_lists_the_longest_waits_and_counts_everyone() -> None:
    inputs, week = _inputs(), ReportWeek.of(AS_OF, "last_week")
    ctx = weekly_context(inputs, week, report_id="01T", generated_at=AS_OF, with_charts=False)
    everyone = waitlist_rows(inputs.waitlist, week.end_instant)
    assert ctx["waitlist"] == everyone[:WAITLIST_LIST_LIMIT] and ctx["waitlist_count"] == len(everyone)
    assert ctx["long_wait_count"] == long_waits(inputs.waitlist, week.end_instant) > WAITLIST_LIST_LIMIT
    assert len(ctx["companions"]) == COMPANION_LIST_LIMIT and ctx["companions_count"] == COMPANIONS
    assert ctx["companions_total"]["assigned"] == sum(c % 41 for c in range(COMPANIONS))
    assert ctx["companions_total"]["capacity"] == 40 * COMPANIONS

    html = render_html("weekly", ctx)
    assert f"<strong>{ctx['long_wait_count']} Schüler/innen warten länger als 14 Tage" in html
    assert f"Insgesamt (alle {COMPANIONS})" in html
    wb = load_workbook(io.BytesIO(render_xlsx("weekly", ctx)))
    assert wb["Warteliste"].max_row == 1 + WAITLIST_LIST_LIMIT
    companions = list(wb["Begleiter"].iter_rows(values_only=True))
    assert len(companions) == 1 + COMPANION_LIST_LIMIT + 1
    label, _code, _schools, assigned, capacity = companions[-1][:5]
    assert (label, assigned, capacity) == (
        f"Insgesamt (alle {COMPANIONS})",
        ctx["companions_total"]["assigned"],
        40 * COMPANIONS,
    )


def _goal_inputs() -> Inputs:
    """Twice as many companions with students as the goal-agreement list shows, ties in how far behind."""
    goals = [
        CompanionGoals(f"B{c:03d}", students=10 + c % 7, done=c % 11, due=(10, 10 + c % 7, 0))
        for c in range(2 * GOAL_LIST_LIMIT)
    ]
    counters = {
        "goalschool#RFS#students": sum(g.students for g in goals),
        "goalschool#RFS#done": sum(g.done for g in goals),
        **{f"goalschool#RFS#due#{k}": sum(g.due[k] for g in goals) for k in range(3)},
    }
    companions = {
        g.companion_id: CompanionInfo(companion_id=g.companion_id, name=f"Name {g.companion_id}")
        for g in goals
    }
    return Inputs(school_year="2026/27", counters=counters, companions=companions, companion_goals=goals)


def test_the_goal_agreement_list_shows_the_companions_most_behind_and_totals_everyone() -> None:
    inputs, week = _goal_inputs(), ReportWeek.of(AS_OF, "last_week")  # two due days have passed
    ctx = weekly_context(inputs, week, report_id="01T", generated_at=AS_OF, with_charts=False)
    ctx["casework"] = casework_context(inputs, AS_OF, suppressed=False)
    rows = ctx["casework"]["goal_meetings"]
    assert len(rows) == GOAL_LIST_LIMIT
    ranked = sorted(inputs.companion_goals, key=lambda g: (-g.behind(2), g.companion_id))
    assert [r["companion_id"] for r in rows] == [g.companion_id for g in ranked[:GOAL_LIST_LIMIT]]
    assert rows[0]["name"] == f"Name {rows[0]['companion_id']}"
    total = ctx["casework"]["goal_meetings_total"]
    assert total == {
        "students": sum(g.students for g in inputs.companion_goals),
        "done": sum(g.done for g in inputs.companion_goals),
        "due": sum(g.due_by(2) for g in inputs.companion_goals),
    }

    html = render_html("weekly", ctx)
    section = html[html.index("Zielvereinbarungsgespräche je Begleitung") :]
    section = section[: section.index("</table>")]
    assert section.count("<tr") == 1 + GOAL_LIST_LIMIT + 1  # header, the list, the totals
    assert "Insgesamt (alle Begleitungen)" in section
    wb = load_workbook(io.BytesIO(render_xlsx("weekly", ctx)))
    listed = [r for r in wb["Zielvereinbarungen"].iter_rows(values_only=True) if r[0] is not None]
    assert listed[0][:2] == ("Begleiter/in", "Kürzel") and len(listed) >= 1 + GOAL_LIST_LIMIT + 1
    totals = next(r for r in listed if r[0] == "Insgesamt (alle Begleitungen)")
    assert totals[2:5] == (total["students"], total["done"], total["due"])
    assert [r[1] for r in listed[1 : 1 + GOAL_LIST_LIMIT]] == [
        g.companion_id for g in ranked[:GOAL_LIST_LIMIT]
    ]


def test_the_school_year_report_shows_goal_agreements_per_school_only() -> None:
    inputs = _goal_inputs()
    ctx = school_year_context(inputs, report_id="01T", generated_at=AS_OF, with_charts=False)
    ctx["casework"] = casework_context(inputs, AS_OF, suppressed=True)
    assert ctx["casework"]["goal_meetings"] == []
    html = render_html("school_year", ctx)
    assert "Zielvereinbarungsgespräche je Schule" in html and "je Begleitung" not in html
    assert not any(f">{g.companion_id}<" in html for g in inputs.companion_goals)
    wb = load_workbook(io.BytesIO(render_xlsx("school_year", ctx)))
    assert "Zielvereinbarungen" not in wb.sheetnames and "Zielvereinbarungen je Schule" in wb.sheetnames
