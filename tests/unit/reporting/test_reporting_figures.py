"""Report figures from aggregates: suppression on crafted data never reveals a count below 3."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import count, pairwise

import pytest
from reporting_contexts import environment

from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    DestinationCompanyRecordedData,
    IntakeSubmittedData,
    IntakeWithdrawnData,
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
from services.reporting.logic.labels import STATUS_LABELS
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
            )
        )
        facts.append(
            DestinationCompanyRecordedData(
                intake_id=iid,
                companion_id=companion,
                school_id=school,
                school_year="2026/27",
                company_id="01ARZ3NDEKTSV4RRFFQ69G5FAV",
                destination=destination,  # type: ignore[arg-type]
                former_internship_company=with_company,
                recorded_at=at + timedelta(days=3),
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
def test_the_office_sees_exact_counts() -> None:
    pop = base_population()
    pop += many("RFS", 1, status="waitlisted")  # a cell of 1 …
    pop += many("MPS", 2, status="waitlisted")  # … and of 2: inside the office they are shown as they are
    pop += many("OWS", 1, status="ended")
    f = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF, "last_week"))
    t: SuppressedTable = f["status_by_school"]
    assert t.cell(SCHOOL_NAME["RFS"], "Warteliste") == 1 and t.cell(SCHOOL_NAME["MPS"], "Warteliste") == 2
    assert t.cell(SCHOOL_NAME["OWS"], "beendet") == 1 and not t.has_suppression
    kpi = {k["key"]: k for k in f["kpis"]}
    assert kpi["intakes"]["end"] == t.grand_total == 184
    assert kpi["waitlisted"]["end"] == t.col_total("Warteliste") == 3 == len(f["waitlist"])


def test_kpis_are_stocks_and_flows_of_the_report_week() -> None:
    pop = base_population()  # KW 38
    pop += many("RFS", 5, at=T0 + timedelta(days=7))  # KW 39
    pop += many("MPS", 4, status="waitlisted", at=T0 + timedelta(days=8))  # KW 39
    f = weekly_figures(inputs_for(pop), ReportWeek.of(AS_OF, "last_week"))  # report on KW 39
    assert f["week"]["label"] == "KW 39/2026"
    kpi = {k["key"]: k for k in f["kpis"]}
    assert kpi["intakes"] == {
        "key": "intakes",
        "label": "Anmeldungen insgesamt",
        "start": 180,
        "inflow": 9,
        "outflow": 0,
        "end": 189,
        "change": 9,
    }
    assert (kpi["waitlisted"]["start"], kpi["waitlisted"]["inflow"], kpi["waitlisted"]["end"]) == (0, 4, 4)
    assert (kpi["assigned"]["start"], kpi["assigned"]["inflow"], kpi["assigned"]["end"]) == (180, 5, 185)
    new: SuppressedTable = f["new_this_week"]
    assert (
        new.cell(SCHOOL_NAME["RFS"], "neu angemeldet") == 5
        and new.cell(SCHOOL_NAME["RFS"], "zugeordnet") == 5
    )
    assert new.cell(SCHOOL_NAME["MPS"], "auf die Warteliste") == 4
    assert new.row_totals is None  # a student can count in several columns
    assert any(
        n.startswith("Anmeldungen insgesamt: 180 zu Wochenbeginn + 9 neu = 189") for n in f["movement_notes"]
    )


def three_weeks() -> list[list[Fact]]:
    """KW 38: 180 intakes (all assigned) and 6 waiting; KW 39: nothing new, 2 move up from the waitlist
    after 2 exits; KW 40: 3 new intakes, 1 withdrawn."""
    pop = base_population() + many("RFS", 6, status="waitlisted")
    waiting = [facts for facts in pop if any(isinstance(f, StudentWaitlistedData) for f in facts)]
    assigned = [facts for facts in pop if not any(isinstance(f, StudentWaitlistedData) for f in facts)]
    week2 = T0 + timedelta(days=8)
    for facts, w in zip(assigned[:2], waiting[:2], strict=True):
        first = facts[-1]
        assert isinstance(first, CompanionAssignedData)
        facts.append(ended(first, week2))
        p = {k: getattr(first, k) for k in ("school_id", "school_year", "class_name", "age_band", "gender")}
        w.append(
            CompanionAssignedData(
                intake_id=w[0].intake_id,
                companion_id="B01",
                assigned_at=week2 + timedelta(hours=1),
                cost=1,
                **p,
            )
        )
    pop += many("OWS", 3, at=T0 + timedelta(days=15))
    withdrawn = assigned[5]
    withdrawn.append(
        IntakeWithdrawnData(
            intake_id=withdrawn[0].intake_id,
            school_id=withdrawn[0].school_id,
            school_year="2026/27",
            withdrawn_at=T0 + timedelta(days=16),
            reason="entered_in_error",
        )
    )
    return pop


def ended(a: CompanionAssignedData, at: datetime) -> AssignmentEndedData:
    return AssignmentEndedData(
        intake_id=a.intake_id,
        companion_id=a.companion_id,
        school_id=a.school_id,
        school_year=a.school_year,
        ended_at=at,
        exit_date=at.date(),
        reason="completed",
        destination="dual_training",
    )


def test_week_over_week_figures_are_right_across_weeks() -> None:
    inputs = inputs_for(three_weeks())
    reports = [
        weekly_figures(inputs, ReportWeek.of(T0 + timedelta(days=7 * k, hours=23), "last_week"))
        for k in (1, 2, 3)
    ]
    assert [r["week"]["label"] for r in reports] == ["KW 38/2026", "KW 39/2026", "KW 40/2026"]
    for before, after in pairwise(reports):
        for a, b in zip(before["kpis"], after["kpis"], strict=True):
            assert b["start"] == a["end"], (
                b["label"],
                after["week"]["label"],
            )  # a week's end is the next start
    for r in reports:
        status: SuppressedTable = r["status_by_school"]
        for k in r["kpis"]:
            if k["inflow"] is not None:
                assert k["start"] + k["inflow"] - k["outflow"] == k["end"], k
            assert k["change"] == k["end"] - k["start"]
        kpi = {k["key"]: k for k in r["kpis"]}
        assert kpi["intakes"]["end"] == status.grand_total
        for key in ("assigned", "waitlisted", "ended", "withdrawn"):
            assert kpi[key]["end"] == status.col_total(STATUS_LABELS[key])
        assert kpi["waitlisted"]["end"] == len(r["waitlist"])
    week2 = {k["key"]: k for k in reports[1]["kpis"]}
    # not "Vorwoche 186, neu 0, Veränderung −186": a week without new intakes changes nothing
    assert (week2["intakes"]["start"], week2["intakes"]["inflow"], week2["intakes"]["change"]) == (186, 0, 0)
    assert (week2["waitlisted"]["start"], week2["waitlisted"]["outflow"], week2["waitlisted"]["end"]) == (
        6,
        2,
        4,
    )
    assert (week2["assigned"]["inflow"], week2["assigned"]["outflow"]) == (2, 2)
    new2: SuppressedTable = reports[1]["new_this_week"]
    assert new2.col_total("davon von der Warteliste") == 2 and new2.col_total("neu angemeldet") == 0
    week3 = {k["key"]: k for k in reports[2]["kpis"]}
    assert (week3["intakes"]["inflow"], week3["withdrawn"]["inflow"], week3["assigned"]["outflow"]) == (
        3,
        1,
        1,
    )
    notes = " ".join(reports[1]["movement_notes"])
    assert "auf der Warteliste: 6 zu Wochenbeginn + 0 Zugänge − 2 Abgänge (zugeordnet 2) = 4." in notes


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
    kpi = {k["key"]: k for k in later["kpis"]}
    assert kpi["long_waits"]["end"] == 3
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


def test_staff_per_school_counts_only_active_companions_with_capacity() -> None:
    """A companion with capacity 0 or inactive is on the register but accompanies nobody: not staff."""
    comps = {
        "B01": CompanionInfo(companion_id="B01", school_ids=["RFS"], capacity=40, fte=1.0),
        "B02": CompanionInfo(companion_id="B02", school_ids=["RFS"], capacity=0, fte=1.0),
        "B03": CompanionInfo(companion_id="B03", school_ids=["MPS"], capacity=35, fte=0.5, active=False),
        "B04": CompanionInfo(companion_id="B04", school_ids=["MPS"], capacity=0, fte=0.5),
    }
    f = weekly_figures(inputs_for(many("RFS", 5), comps), ReportWeek.of(AS_OF, "this_week"))
    per_school = {s["school_id"]: s["fte"] for s in f["schools_caseload"]}
    assert per_school["RFS"] == 1.0 and per_school["MPS"] is None


def test_weekly_report_renders_exact_figures() -> None:
    pop = base_population() + many("RFS", 1, status="waitlisted") + many("CSS", 2, status="ended")
    ctx = weekly_context(
        inputs_for(pop),
        ReportWeek.of(AS_OF, "last_week"),
        report_id="01T",
        generated_at=AS_OF,
        with_charts=False,
    )
    html = environment().get_template("weekly.html.j2").render(**ctx)
    numbers = stat_numbers(html)
    assert "1" in numbers and "2" in numbers and "KW 39/2026" in html
    assert not {"&lt;3", "x"} & set(numbers)
    assert "Wochenbeginn + Zugänge − Abgänge = Stand" in html


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
    assert training["count"] in (16, SECONDARY) and training["share"] in (16 / 23, SECONDARY)
    assert {k["label"]: k["value"] for k in f["summary"]}["Austritte"] == 23


def test_school_year_report_renders_and_compares_with_the_previous_year() -> None:
    pop = base_population() + many("RFS", 5, status="ended", destination="dual_training")
    inputs = inputs_for(pop)
    prev = inputs_for(base_population()[:100] + many("MPS", 8, status="ended", destination="dual_training"))
    inputs.previous_school_year, inputs.previous_counters = "2025/26", prev.counters
    ctx = school_year_context(inputs, report_id="01Y", generated_at=AS_OF, with_charts=False)
    cohort = {c["label"]: c for c in ctx["cohort"]}
    assert cohort["Teilnehmende"]["previous"] == 108 and cohort["Teilnehmende"]["current"] == 185
    share = cohort["Anteil Übergang in Ausbildung"]
    assert share["delta"] == round(100 * (5 / 5 - 8 / 8), 1) == 0.0 and share["unit"] == "percent"
    html = environment().get_template("school_year.html.j2").render(**ctx)
    assert "±0,0 Prozentpunkte" in html and "100,0 %" in html
    assert "im Vergleich zu 2025/26" in html and "Berufsfelder" in html and "Wartezeit" in html
    assert not [c for c in stat_numbers(html) if c in ("1", "2")]


def test_too_few_participants_for_any_table() -> None:
    f = school_year_figures(inputs_for(many("RFS", 2)))
    assert f["by_gender"] is None and any("zu klein" in n for n in f["notes"])
    assert {k["label"]: k["value"] for k in f["summary"]}["Teilnehmende"] == SMALL


@pytest.mark.parametrize("period", ["this_week", "last_week"])
def test_dashboard_summary_is_json_with_exact_counts(period: str) -> None:
    pop = base_population() + many("RFS", 1, status="waitlisted")
    s = dashboard_summary(inputs_for(pop), ReportWeek.of(AS_OF, period), with_charts=False)  # type: ignore[arg-type]
    assert s["status_by_school"]["grand_total"] == 181
    assert s["waitlist"]["waiting"] == 1 and s["waitlist"]["entries"][0]["since"] == "2026-09-14"
    kpi = {k["key"]: k for k in s["kpis"]}
    assert kpi["waitlisted"]["end"] == s["waitlist"]["waiting"] == s["status_by_school"]["col_totals"][2]
