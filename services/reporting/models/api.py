"""Request and response models of the reporting API (they also drive the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from common.field_errors import declared_title
from common.model import Model
from common.text import SchoolYear

Display = int | str
"""A published count: a number, ``"<3"`` (1 or 2) or ``"x"`` (withheld so that no 1–2 can be computed)."""


class ReportRequest(Model):
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


class ReportOut(Model):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str
    generated_at: datetime
    period_label: str
    formats: list[str]
    links: dict[str, str] = Field(default_factory=dict, description="Time-limited download links per format")
    links_valid_until: datetime | None = None
    emailed: bool = False
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="Formats missing from this report, with the reason (German)"
    )


class ReportListItem(Model):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str
    generated_at: datetime
    period_label: str
    formats: list[str]
    unavailable: dict[str, str] = Field(
        default_factory=dict, description="Formats missing from this report, with the reason (German)"
    )


class StatTable(Model):
    """A statistical table as published (small counts suppressed)."""

    row_labels: list[str]
    col_labels: list[str]
    cells: list[list[Display]]
    row_totals: list[Display] | None
    col_totals: list[Display] | None
    grand_total: Display | None


class Movement(Model):
    """A key figure of the week as stock and flows: ``start + inflow - outflow = end``."""

    key: str = Field(description="intakes, assigned, waitlisted, submitted, ended, withdrawn, long_waits")
    label: str
    start: int = Field(description="Stand zu Wochenbeginn (Monday 0:00)")
    inflow: int | None = Field(description="Zugänge in the week (None: not a flow figure)")
    outflow: int | None = Field(description="Abgänge in the week (None: not a flow figure)")
    end: int = Field(description="Stand now (running week)")
    change: int = Field(description="end - start")


class WaitlistEntryOut(Model):
    ref: str
    intake_id: str = Field(description="Opens the intake (GET /intakes/{intake_id}, audited): office view")
    school: str
    school_name: str
    class_name: str
    since: str
    days: int
    reason: str


class WaitlistSummary(Model):
    waiting: int
    longer_than_14_days: int
    longest_days: int | None
    entries: list[WaitlistEntryOut]


class CompanionLoad(Model):
    companion_id: str = Field(description="Kürzel (secondary: people read the name)")
    name: str = Field(description="The companion's name (the id until reporting has heard the name)")
    label: str = Field(description="The name, marked '(inaktiv)' for an inactive companion")
    schools: str = Field(description="School names")
    school_codes: str = Field(description="School codes")
    assigned: int
    capacity: int | None
    fte: float | None
    active: bool


class SchoolCaseload(Model):
    school: str
    school_id: str
    assigned: Display
    fte: float | None


class WeekOut(Model):
    label: str
    start: str
    end: str


class GoalMeetingsOut(Model):
    companion_id: str
    name: str = Field(description="Wie das Bildungsbüro die Begleitung nennt (sonst das Kürzel)")
    students: Display
    done: Display = Field(description="Zielvereinbarungsgespräche im Schuljahr (höchstens 3 je Schüler/in)")
    due: Display = Field(description="Bis heute fällig")
    behind: int = Field(description="Rückstand: fällig − geführt")
    share: str


class KlebeeffektOut(Model):
    training_starts: Display = Field(description="Ausbildungsbeginne (duale Ausbildung)")
    in_former_internship_company: Display = Field(description="davon im früheren Praktikumsbetrieb")
    share: str


class CaseworkSummary(Model):
    """Internships, goal-agreement meetings and the Klebeeffekt (the office's own view: counts as they
    are)."""

    internships_per_student: StatTable | None
    without_internship_by_month: StatTable | None
    goal_meetings: list[GoalMeetingsOut] = Field(
        description="Die Begleitungen mit dem größten Rückstand (höchstens goal_meetings_limit)"
    )
    goal_meetings_limit: int
    goal_meetings_by_school: StatTable | None
    goal_meetings_total: dict[str, Display] = Field(description="students, done, due über alle Begleitungen")
    goal_meetings_share: str
    with_internship: Display = Field(description="Schüler/innen mit mindestens einem Praktikum")
    participants: Display = Field(description="Schüler/innen in Begleitung (mit oder nach Austritt)")
    klebeeffekt: KlebeeffektOut


class DashboardSummary(Model):
    """Current figures for the office dashboard: exact counts (office-internal), lists without names."""

    school_year: str
    as_of: datetime
    week: WeekOut
    kpis: list[Movement]
    movement_notes: list[str] = Field(description="Each stock as start + inflow − outflow = end, in German")
    status_by_school: StatTable
    new_this_week: StatTable
    waitlist: WaitlistSummary
    companions: list[CompanionLoad]
    schools_caseload: list[SchoolCaseload]
    target_per_fte: int
    charts: dict[str, str | None] = Field(default_factory=dict, description="PNG charts as data: URIs")
    casework: CaseworkSummary | None = Field(
        default=None, description="Praktika, Zielvereinbarungen, Klebeeffekt"
    )
