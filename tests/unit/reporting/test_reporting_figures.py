"""Report figures from aggregates: suppression on crafted data never reveals a count below 3."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from reporting_contexts import environment

from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    IntakeSubmittedData,
    StudentWaitlistedData,
)
from contracts.reference import SCHOOLS
from services.reporting.logic.figures import (
    Inputs,
    dashboard_summary,
    school_year_context,
    school_year_figures,
    weekly_context,
    weekly_figures,
)
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.projection import Fact, counters, merge_all, waitlist_item
from services.reporting.logic.suppression import SECONDARY, SMALL, SuppressedTable, reveals, reveals_linked
from services.reporting.models.aggregates import CompanionInfo, WaitlistItem

T0 = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)  # Monday of KW 38
AS_OF = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)  # Monday 08:00 local, KW 40
_ids = count(1)
SCHOOL_NAME = dict(SCHOOLS)


def student(
    school: str,
    *,
    status: str = "assigned",
    at: datetime = T0,
    companion: str = "B01",
    gender: str = "maennlich",
    age: str = "17",
    german: bool = False,
    destination: str = "job",
    with_company: bool = False,
) -> list[Fact]:
    iid = f"01K{next(_ids):023d}"
    p = {
        "school_id": school,
        "school_year": "2026/27",
        "class_name": "AV1",
        "age_band": age,
        "gender": gender,
        "german_support": german,
        "career_fields": ["kfz"],
    }
    facts: list[Fact] = [IntakeSubmittedData(intake_id=iid, submitted_at=at, **p)]  # type: ignore[arg-type]
    if status == "waitlisted":
        facts.append(
            StudentWaitlistedData(
                intake_id=iid, waitlisted_at=at + timedelta(seconds=1), reason="no_capacity", **p
            )
        )  # type: ignore[arg-type]
    if status in ("assigned", "ended"):
        facts.append(
            CompanionAssignedData(
                intake_id=iid, companion_id=companion, assigned_at=at + timedelta(seconds=1), cost=1, **p
            )
        )  # type: ignore[arg-type]
    if status == "ended":
        facts.append(
            AssignmentEndedData(
                intake_id=iid,
                companion_id=companion,
                school_id=school,
                school_year="2026/27",
                ended_at=at + timedelta(days=3),
                exit_date=(at + timedelta(days=3)).date(),
                reason="completed",
                destination=destination,  # type: ignore[arg-type]
                with_former_internship_company=with_company,
            )
        )
    return facts


def inputs_for(students: list[list[Fact]], companions: dict[str, CompanionInfo] | None = None) -> Inputs:
    total: Counter[str] = Counter()
    waiting: list[WaitlistItem] = []
    for facts in students:
        s = merge_all(None, facts)
        assert s is not None
        total.update({k: v for (_, k), v in counters(s).items()})
        w = waitlist_item(s)
        if w:
            waiting.append(w)
    comps = companions or {"B01": CompanionInfo(companion_id="B01", school_ids=["RFS"], capacity=40, fte=1.0)}
    return Inputs("2026/27", dict(total), comps, waiting)


def many(school: str, n: int, **kw: object) -> list[list[Fact]]:
    return [student(school, **kw) for _ in range(n)]  # type: ignore[arg-type]


def base_population() -> list[list[Fact]]:
    return [s for sid in SCHOOLS for s in many(sid, 30)]


def stat_numbers(html: str) -> list[str]:
    """Texts of the data cells of all statistical tables (class "stat")."""
    cells = []
    for table in re.findall(r'<table class="stat[^"]*">(.*?)</table>', html, flags=re.S):
        cells += [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", table, flags=re.S)
        ]
    return cells


def assert_no_small(table: SuppressedTable) -> None:
    assert not [v for v in table.values() if isinstance(v, int) and 1 <= v <= 2], table
    assert not reveals(table), table


# ----------------------------------------------------------------------------------------- weekly
def test_status_table_suppresses_cells_of_one_and_two_and_the_totals_that_would_reveal_them() -> None:
    pop = base_population()
    pop += many("RFS", 1, status="waitlisted")  # a cell of 1 …
    pop += many("MPS", 2, status="waitlisted")  # … and of 2
    pop += many("OWS", 1, status="ended")  # a row (OWS) whose total would reveal the single exit
    f = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF, "last_week"))
    t: SuppressedTable = f["status_by_school"]
    assert (
        t.cell(SCHOOL_NAME["RFS"], "Warteliste") == SMALL
        and t.cell(SCHOOL_NAME["MPS"], "Warteliste") == SMALL
    )
    assert t.cell(SCHOOL_NAME["OWS"], "beendet") == SMALL
    assert SECONDARY in t.values()  # secondary suppression happened
    assert_no_small(t)
    kpi = {k["label"]: k for k in f["kpis"]}
    assert kpi["Anmeldungen insgesamt"]["current"] == t.grand_total  # key figures are display totals
    assert kpi["auf der Warteliste"]["current"] == t.col_total("Warteliste")


def test_kpis_compare_with_the_start_of_the_report_week() -> None:
    pop = base_population()  # KW 38
    pop += many("RFS", 5, at=T0 + timedelta(days=7))  # KW 39
    pop += many("MPS", 4, status="waitlisted", at=T0 + timedelta(days=8))  # KW 39
    f = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF, "last_week"))  # report on KW 39
    assert f["week"]["label"] == "KW 39/2026"
    kpi = {k["label"]: k for k in f["kpis"]}
    assert kpi["Anmeldungen insgesamt"] == {
        "label": "Anmeldungen insgesamt",
        "current": 189,
        "previous": 180,
        "delta": "+9",
    }
    assert kpi["auf der Warteliste"]["previous"] == 0 and kpi["auf der Warteliste"]["current"] == 4
    assert kpi["neu angemeldet (KW 39/2026)"]["current"] == 9
    assert kpi["neu angemeldet (KW 39/2026)"]["previous"] == 180
    new: SuppressedTable = f["new_this_week"]
    assert (
        new.cell(SCHOOL_NAME["RFS"], "Anmeldungen") == 5
        and new.cell(SCHOOL_NAME["MPS"], "auf Warteliste") == 4
    )
    assert new.row_totals is None  # the columns do not add up
    assert_no_small(new)


def test_long_waits_and_the_internal_waitlist() -> None:
    pop = (
        base_population()
        + many("RFS", 3, status="waitlisted")
        + many("BSZBB", 1, status="waitlisted", at=T0 + timedelta(days=10))
    )
    f = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF, "this_week"))
    waiting = f["waitlist"]
    assert [w["days"] for w in waiting] == [13, 13, 13, 3]  # as of AS_OF: not yet over 14 days
    later = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF + timedelta(days=2), "this_week"))
    kpi = {k["label"]: k for k in later["kpis"]}
    assert kpi["länger als 14 Tage wartend"]["current"] == 3
    assert all(w["ref"].startswith("…") and len(w["ref"]) == 9 for w in waiting)
    assert {"school", "class_name", "since", "days", "reason"} <= set(waiting[0])


def test_caseload_per_companion_and_per_fte() -> None:
    comps = {
        "B01": CompanionInfo(companion_id="B01", school_ids=["RFS"], capacity=40, fte=1.0),
        "B02": CompanionInfo(companion_id="B02", school_ids=["RFS", "MPS"], capacity=20, fte=0.5),
    }
    pop = many("RFS", 38) + many("RFS", 20, companion="B02")
    f = weekly_figures(inputs_for(pop, comps), ReportWeek.of(AS_OF, "this_week"))
    rows = {c["companion_id"]: c for c in f["companions"]}
    assert rows["B01"]["assigned"] == 38 and rows["B02"]["assigned"] == 20 and rows["B02"]["capacity"] == 20
    per_school = {s["school_id"]: s for s in f["schools_caseload"]}
    assert (
        per_school["RFS"]["fte"] == 1.25
        and per_school["MPS"]["fte"] == 0.25
        and per_school["OWS"]["fte"] is None
    )
    assert per_school["RFS"]["assigned"] == 58


def test_weekly_report_renders_with_real_figures_and_no_visible_small_counts() -> None:
    pop = base_population() + many("RFS", 1, status="waitlisted") + many("CSS", 2, status="ended")
    ctx = weekly_context(
        inputs_for(pop),
        ReportWeek.of(AS_OF, "last_week"),
        report_id="01T",
        generated_at=AS_OF,
        with_charts=False,
    )
    html = environment().get_template("weekly.html.j2").render(**ctx)
    assert not [c for c in stat_numbers(html) if c in ("1", "2")]
    assert "&lt;3" in html and "KW 39/2026" in html


# ----------------------------------------------------------------------------------------- school year
def test_a_school_with_one_or_two_participants_is_merged_into_other_schools() -> None:
    pop = [s for sid in list(SCHOOLS)[:5] for s in many(sid, 25, gender="weiblich", age="16")]
    pop += [s for sid in list(SCHOOLS)[:5] for s in many(sid, 20, gender="maennlich", age="18", german=True)]
    pop += many("BSZBB", 2, gender="divers", age="19_plus")  # one school, two students, broken down 3 ways
    f = school_year_figures(inputs_for(pop))
    gender, age, german = f["by_gender"], f["by_age"], f["by_german_support"]
    assert gender.row_labels[-1] == "übrige Schulen" and SCHOOL_NAME["BSZBB"] not in gender.row_labels
    assert any("übrige Schulen" in n and SCHOOL_NAME["BSZBB"] in n for n in f["notes"])
    for t in (gender, age, german):
        assert not [v for v in t.values() if isinstance(v, int) and 1 <= v <= 2]
    assert not reveals_linked([gender, age, german], share="rows")
    assert gender.grand_total == age.grand_total == german.grand_total


def test_exits_and_destinations_with_small_cells_reveal_nothing_together() -> None:
    pop = base_population()
    pop += many("RFS", 10, status="ended", destination="dual_training", with_company=True)
    pop += many("RFS", 4, status="ended", destination="dual_training")
    pop += many("MPS", 6, status="ended", destination="bfs")
    pop += many("OWS", 1, status="ended", destination="nothing")  # one exit at a school, one destination
    pop += many("EBS", 2, status="ended", destination="school_based_training")
    f = school_year_figures(inputs_for(pop))
    exits, dest = f["exits"], f["destinations"]
    assert exits.grand_total == dest.grand_total == 23
    assert not reveals_linked([exits, dest], share="grand")
    for t in (exits, dest):
        assert not [v for v in t.values() if isinstance(v, int) and 1 <= v <= 2]
    training = {t["label"]: t for t in f["transitions"]}["Übergang in Ausbildung (dual und schulisch)"]
    assert training["count"] in (16, SECONDARY) and training["share"] in ("69,6 %", SECONDARY)
    assert {k["label"]: k["value"] for k in f["summary"]}["Austritte"] == 23


def test_school_year_report_renders_and_compares_with_the_previous_year() -> None:
    pop = base_population() + many("RFS", 5, status="ended", destination="dual_training")
    inputs = inputs_for(pop)
    prev = inputs_for(base_population()[:100] + many("MPS", 8, status="ended", destination="dual_training"))
    inputs.previous_school_year, inputs.previous_counters = "2025/26", prev.counters
    ctx = school_year_context(inputs, report_id="01Y", generated_at=AS_OF, with_charts=False)
    cohort = {c["label"]: c for c in ctx["cohort"]}
    assert cohort["Teilnehmende"]["previous"] == 108 and cohort["Teilnehmende"]["current"] == 185
    assert cohort["Anteil Übergang in Ausbildung"]["delta"].endswith("Prozentpunkte")
    html = environment().get_template("school_year.html.j2").render(**ctx)
    assert "im Vergleich zu 2025/26" in html and "Berufsfelder" in html and "Wartezeit" in html
    assert not [c for c in stat_numbers(html) if c in ("1", "2")]


def test_too_few_participants_for_any_table() -> None:
    f = school_year_figures(inputs_for(many("RFS", 2)))
    assert f["by_gender"] is None and any("zu klein" in n for n in f["notes"])
    assert {k["label"]: k["value"] for k in f["summary"]}["Teilnehmende"] == SMALL


@pytest.mark.parametrize("period", ["this_week", "last_week"])
def test_dashboard_summary_is_json_and_suppressed(period: str) -> None:
    pop = base_population() + many("RFS", 1, status="waitlisted")
    s = dashboard_summary(inputs_for(pop), ReportWeek.of(AS_OF, period), with_charts=False)  # type: ignore[arg-type]
    assert s["status_by_school"]["grand_total"] == 181
    assert s["waitlist"]["waiting"] == 1 and s["waitlist"]["entries"][0]["since"] == "2026-09-14"
    assert SMALL in s["status_by_school"]["col_totals"] or SECONDARY in s["status_by_school"]["col_totals"]
