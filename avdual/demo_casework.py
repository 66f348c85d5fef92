"""The demo's casework: companions record internships, companies, meetings and exits through the casework and
matching APIs as the page ``/begleitung`` does, so the page, the dashboard and the reports show real content.

Deterministic (a seeded ``random.Random`` and Faker ``de_DE``): about two thirds of the assigned students
get an internship (weekly days or a block) at a company of the directory, most get a goal-agreement meeting,
some a parents' meeting or company contact; three students leave, two of them into training at their
internship company (the Klebeeffekt is derived by casework, not typed) and one into training elsewhere.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from avdual.runtime import LocalRuntime
from contracts.calendar import local_date
from contracts.reference import CAREER_FIELDS

OFFICE = {"sub": "office-demo", "cognito:groups": "office"}
#: Towns of the county (Landkreis Ludwigsburg) for the companies of the directory.
TOWNS = (
    "Ludwigsburg",
    "Kornwestheim",
    "Bietigheim-Bissingen",
    "Asperg",
    "Markgröningen",
    "Remseck",
    "Freiberg",
)
COMPANIES = 14
SEED = 12
#: Students whose casework is recorded between two deliveries: on AWS the events of the entries are delivered
#: while the companions type, so the queues never hold the whole day's events at once (docs/performance.md).
DRAIN_EVERY = 25


def companion_claims(companion_id: str) -> dict[str, str]:
    return {
        "sub": f"begleitung-{companion_id.lower()}",
        "cognito:groups": "companion",
        "custom:companion_id": companion_id,
    }


@dataclass
class CaseworkStep:
    companies: int = 0
    internships: int = 0
    students_with_internship: int = 0
    meetings: Counter[str] = field(default_factory=Counter)
    exits_in_internship_company: int = 0
    exits: int = 0
    dashboard: dict[str, Any] = field(default_factory=dict)
    report_files: list[Path] = field(default_factory=list)
    report_klebeeffekt: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _create_companies(rt: LocalRuntime, rng: random.Random, step: CaseworkStep) -> list[dict[str, Any]]:
    from faker import Faker

    fake = Faker("de_DE")
    fake.seed_instance(SEED)
    out = []
    fields = list(CAREER_FIELDS)
    for n in range(COMPANIES):
        body = {
            "name": fake.unique.company(),
            "town": TOWNS[n % len(TOWNS)],
            "sector": fields[n % len(fields)],
            "contact_person": fake.name(),
            "phone": f"07141 {rng.randint(100000, 999999)}",
        }
        r = rt.api("POST", "/companies", body=body, claims=OFFICE)
        if r.status != 201:
            step.problems.append(f"company {body['name']}: {r.status} {r.body}")
            continue
        out.append(r.json())
    step.companies = len(out)
    return out


def _internship(rng: random.Random, company: dict[str, Any], field_: str, today: Any) -> dict[str, Any]:
    start = today - timedelta(days=rng.randint(7, 60))
    if rng.random() < 0.75:
        return {
            "company_id": company["company_id"],
            "career_field": field_,
            "model": "weekly_days",
            "weekdays": rng.choice([["mo", "di"], ["di", "mi"], ["do", "fr"]]),
            "start_date": start.isoformat(),
            "days_completed": rng.randint(2, 16),
            "learning_task": "Arbeitsabläufe im Betrieb kennenlernen und ein Wochenprotokoll führen",
        }
    return {
        "company_id": company["company_id"],
        "career_field": field_,
        "model": "block",
        "start_date": start.isoformat(),
        "end_date": (start + timedelta(days=11)).isoformat(),
        "days_completed": 10,
    }


def simulate_casework(rt: LocalRuntime, out_dir: Path) -> CaseworkStep:
    """Record the scenario's casework as the companions would; returns what was recorded, the dashboard's
    casework figures afterwards and the school-year report the office orders then (files in ``out_dir``)."""
    rng = random.Random(SEED)
    step = CaseworkStep()
    today = local_date(rt.clock.now())
    companies = _create_companies(rt, rng, step)
    if not companies:
        return step
    assigned = sorted(
        (a for a in rt.scan("assignments") if a["status"] == "assigned"), key=lambda a: a["intake_id"]
    )
    placed: list[tuple[dict[str, Any], dict[str, Any]]] = []
    for n, a in enumerate(assigned, 1):
        if n % DRAIN_EVERY == 0:
            rt.drain()
        who = companion_claims(a["companion_id"])
        path = f"/students/{a['intake_id']}"
        if rng.random() < 0.67:
            fields_ = a["profile"].get("career_fields") or list(CAREER_FIELDS)
            matching = [c for c in companies if c["sector"] in fields_] or companies
            company = rng.choice(matching)
            body = _internship(rng, company, company["sector"], today)
            r = rt.api("POST", f"{path}/internships", body=body, claims=who)
            if r.status != 201:
                step.problems.append(f"internship of {a['intake_id']}: {r.status} {r.body}")
            else:
                step.internships += 1
                step.students_with_internship += 1
                placed.append((a, company))
        for kind, share in (("goal_agreement", 0.8), ("parents", 0.3), ("company", 0.25)):
            if rng.random() < share:
                body = {
                    "meeting_date": (today - timedelta(days=rng.randint(0, 20))).isoformat(),
                    "meeting_type": kind,
                    "participants": ["student", "companion", "guardian"]
                    if kind != "company"
                    else ["companion", "company"],
                    "note": "Ziele für das nächste Halbjahr besprochen.",
                }
                r = rt.api("POST", f"{path}/meetings", body=body, claims=who)
                if r.status != 201:
                    step.problems.append(f"meeting of {a['intake_id']}: {r.status} {r.body}")
                else:
                    step.meetings[kind] += 1
    rt.drain()
    _exits(rt, placed, companies, today, step)
    rt.drain()
    summary = rt.api("GET", "/dashboard/summary", claims=OFFICE).json()
    step.dashboard = summary.get("casework") or {}
    klebe = step.dashboard.get("klebeeffekt", {})
    if klebe.get("in_former_internship_company") != step.exits_in_internship_company:
        step.problems.append(
            f"dashboard Klebeeffekt {klebe.get('in_former_internship_company')!r} != "
            f"{step.exits_in_internship_company} exits into training at an internship company"
        )
    _school_year_report(rt, out_dir, step)
    return step


def _school_year_report(rt: LocalRuntime, out_dir: Path, step: CaseworkStep) -> None:
    """The office orders the Schuljahresbericht; its XLSX sheet "Klebeeffekt" as label → value."""
    from openpyxl import load_workbook

    r = rt.api("POST", "/reports", body={"report_type": "school_year"}, claims=OFFICE)
    if r.status != 201:
        step.problems.append(f"school-year report: {r.status} {r.body}")
        return
    step.report_files = sorted(out_dir.glob(f"reports/*-{r.json()['report_id']}.*"))
    xlsx = [p for p in step.report_files if p.suffix == ".xlsx"]
    if not xlsx:
        step.problems.append("school-year report: no XLSX in out/reports")
        return
    wb = load_workbook(xlsx[0], read_only=True)
    if "Klebeeffekt" not in wb.sheetnames:
        step.problems.append("school-year report: no sheet Klebeeffekt")
        return
    rows = list(wb["Klebeeffekt"].iter_rows(values_only=True))[1:4]
    step.report_klebeeffekt = {str(k): v for k, v, *_ in rows if k}


def _exits(
    rt: LocalRuntime,
    placed: list[tuple[dict[str, Any], dict[str, Any]]],
    companies: list[dict[str, Any]],
    today: Any,
    step: CaseworkStep,
) -> None:
    """Two students start training at their internship company, one elsewhere (companion records it)."""
    for n, (a, company) in enumerate(placed[:3]):
        elsewhere = next(c for c in companies if c["company_id"] != company["company_id"])
        body = {
            "exit_date": today.isoformat(),
            "reason": "completed",
            "destination": "dual_training",
            "company_id": company["company_id"] if n < 2 else elsewhere["company_id"],
        }
        r = rt.api(
            "POST",
            f"/assignments/{a['intake_id']}/exit",
            body=body,
            claims=companion_claims(a["companion_id"]),
        )
        if r.status != 200:
            step.problems.append(f"exit of {a['intake_id']}: {r.status} {r.body}")
            continue
        step.exits += 1
        step.exits_in_internship_company += n < 2
