"""Request and response models of the reporting API (they also drive the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from common.field_errors import declared_title
from contracts.reference import SchoolYear

Display = int | str
"""A published count: a number, ``"<3"`` (1 or 2) or ``"x"`` (withheld so that no 1–2 can be computed)."""


class ReportRequest(BaseModel):
    """``POST /reports``: render a report now."""

    model_config = ConfigDict(extra="forbid", field_title_generator=declared_title)
    report_type: Literal["weekly", "school_year"] = Field(
        title="Berichtsart", description="weekly = Wochenbericht, school_year = Schuljahresbericht"
    )
    school_year: SchoolYear | None = Field(default=None, description="Default: the school year of today")
    period: Literal["this_week", "last_week"] = Field(
        default="this_week",
        title="Zeitraum",
        description="Weekly report: the running week so far, or the last complete week",
    )
    email: bool = Field(
        default=True, title="per E-Mail senden", description="Also email the report to the office mailbox"
    )


class ReportOut(BaseModel):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str
    generated_at: datetime
    period_label: str
    formats: list[str]
    links: dict[str, str] = Field(default_factory=dict, description="Time-limited download links per format")
    links_valid_until: datetime | None = None
    emailed: bool = False


class ReportListItem(BaseModel):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str
    generated_at: datetime
    period_label: str
    formats: list[str]


class StatTable(BaseModel):
    """A statistical table as published (small counts suppressed)."""

    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[Display]]
    row_totals: list[Display] | None
    col_totals: list[Display] | None
    grand_total: Display | None


class Kpi(BaseModel):
    label: str
    current: Display
    previous: Display | None
    delta: str


class WaitlistEntryOut(BaseModel):
    ref: str
    school: str
    school_name: str
    class_name: str
    since: str
    days: int
    reason: str


class WaitlistSummary(BaseModel):
    waiting: int
    longer_than_14_days: int
    longest_days: int | None
    entries: list[WaitlistEntryOut]


class CompanionLoad(BaseModel):
    companion_id: str
    label: str
    schools: str
    assigned: int
    capacity: int | None
    fte: float | None
    active: bool


class SchoolCaseload(BaseModel):
    school: str
    school_id: str
    assigned: Display
    fte: float | None


class WeekOut(BaseModel):
    label: str
    start: str
    end: str


class DashboardSummary(BaseModel):
    """Current figures for the office dashboard. Tables are statistics (suppressed); waitlist and caseload
    are office-internal working figures without names."""

    school_year: str
    as_of: datetime
    week: WeekOut
    kpis: list[Kpi]
    status_by_school: StatTable
    new_this_week: StatTable
    waitlist: WaitlistSummary
    companions: list[CompanionLoad]
    schools_caseload: list[SchoolCaseload]
    target_per_fte: int
    charts: dict[str, str | None] = Field(default_factory=dict, description="PNG charts as data: URIs")
