"""A report's size does not grow with the county (docs/performance.md): the weekly report lists the longest
waits and the most loaded companions up to their limits in every format (HTML, XLSX), while its counts
(waiting longer than 14 days, the caseload totals) still cover everyone."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook

from services.reporting.logic.figures import COMPANION_LIST_LIMIT, WAITLIST_LIST_LIMIT, Inputs, weekly_context
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.report import render_html, render_xlsx
from services.reporting.logic.waitlist import long_waits, waitlist_rows
from services.reporting.models.aggregates import CompanionInfo, WaitlistItem

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
    counters["school#RFS#intakes"] = WAITING + sum(counters.values())
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
