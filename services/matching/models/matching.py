"""Matching models: companion registry entries, assignment records and the API's in/out models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from common.field_errors import unknown
from contracts.events import Destination, ExitReason, Gender, StudentProfile, WaitlistReason
from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS
from contracts.topology import COMPANION_ID


def _schools(v: list[str]) -> list[str]:
    if any(s not in SCHOOLS for s in v):
        raise ValueError(unknown("unbekannte Schule", SCHOOLS))
    return list(dict.fromkeys(v))


def _languages(v: list[str]) -> list[str]:
    if any(x not in LANGUAGES for x in v):
        raise ValueError(unknown("unbekannte Sprache", LANGUAGES))
    return list(dict.fromkeys(v))


def _fields(v: list[str]) -> list[str]:
    if any(x not in CAREER_FIELDS for x in v):
        raise ValueError(unknown("unbekanntes Berufsfeld", CAREER_FIELDS))
    return list(dict.fromkeys(v))


SchoolIds = Annotated[list[str], Field(min_length=1, max_length=6), AfterValidator(_schools)]
Languages = Annotated[list[str], Field(max_length=20), AfterValidator(_languages)]
CareerFields = Annotated[list[str], Field(max_length=13), AfterValidator(_fields)]
CompanionId = Annotated[
    str,
    Field(
        pattern=COMPANION_ID.regex,
        json_schema_extra={
            "x-rule": "erwartet ein Kürzel aus 1 bis 32 Buchstaben (ohne Umlaute), Ziffern, - oder _"
        },
    ),
]
Email = Annotated[
    str,
    Field(
        min_length=3,
        max_length=200,
        pattern=r"^[^@\s]+@[^@\s]+$",
        json_schema_extra={"x-rule": "erwartet eine E-Mail-Adresse wie name@landkreis-ludwigsburg.de"},
    ),
]
#: German labels of the fields of the matching API's request models (``common.field_errors``).
TITLES: dict[str, str] = {
    "companion_id": "Kürzel",
    "name": "Name der Begleitung",
    "email": "E-Mail",
    "school_ids": "Schulen",
    "capacity": "Kapazität",
    "fte": "Stellenanteil (VZÄ)",
    "languages": "Sprachen",
    "career_fields": "Berufsfelder",
    "gender": "Geschlecht",
    "active": "aktiv",
    "active_from": "aktiv ab",
    "active_until": "aktiv bis",
    "leave_periods": "Abwesenheiten",
    "start": "Beginn",
    "end": "Ende",
    "exit_date": "Austrittsdatum",
    "reason": "Austrittsgrund",
    "destination": "Verbleib",
    "with_former_internship_company": "bei einem früheren Praktikumsbetrieb",
}


def _title(name: str, info: object) -> str:
    return TITLES.get(name, name)  # stored-only fields (``used``) keep their name


_REQUEST = ConfigDict(extra="forbid", field_title_generator=_title)


class LeavePeriod(BaseModel):
    """An absence of a companion (leave, illness, parental leave); both days inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True, field_title_generator=_title)
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> LeavePeriod:
        if self.end < self.start:
            raise ValueError("Das Ende der Abwesenheit liegt vor ihrem Beginn.")
        return self


class _CompanionFields(BaseModel):
    """Registry fields shared by create (all required) and patch (all optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, field_title_generator=_title)

    @model_validator(mode="after")
    def _period(self) -> _CompanionFields:
        start, end = getattr(self, "active_from", None), getattr(self, "active_until", None)
        if start is not None and end is not None and end < start:
            raise ValueError("„aktiv bis“ liegt vor „aktiv ab“.")
        return self


class CompanionIn(_CompanionFields):
    """``POST /companions`` body (office). ``companion_id`` is chosen by the office (e.g. ``B01``).

    A companion takes new students only while ``active``, within ``active_from``/``active_until``
    (if set) and outside ``leave_periods`` — checked on the student's start date, or on the
    assignment day when the intake has none (see ``docs/matching.md``).
    """

    companion_id: CompanionId
    name: str = Field(min_length=1, max_length=100)
    email: Email
    school_ids: SchoolIds
    capacity: int = Field(ge=0, le=200, description="Maximum number of students (target about 40)")
    fte: float = Field(default=1.0, gt=0, le=1.0, description="Full-time equivalent share")
    languages: Languages = Field(default_factory=list)
    career_fields: CareerFields = Field(default_factory=list)
    gender: Gender = "keine_angabe"
    active: bool = True
    active_from: date | None = Field(default=None, description="First working day in the programme")
    active_until: date | None = Field(default=None, description="Last working day in the programme")
    leave_periods: list[LeavePeriod] = Field(default_factory=list, max_length=50)


class CompanionPatch(_CompanionFields):
    """``PATCH /companions/{companion_id}`` body: only the given fields change (``null`` clears the
    optional dates)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: Email | None = None
    school_ids: SchoolIds | None = None
    capacity: int | None = Field(default=None, ge=0, le=200)
    fte: float | None = Field(default=None, gt=0, le=1.0)
    languages: Languages | None = None
    career_fields: CareerFields | None = None
    gender: Gender | None = None
    active: bool | None = None
    active_from: date | None = None
    active_until: date | None = None
    leave_periods: list[LeavePeriod] | None = Field(default=None, max_length=50)


class Companion(CompanionIn):
    """Stored companion with the atomic capacity counter ``used``."""

    used: int = Field(default=0, ge=0)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)


AssignmentStatus = Literal["assigned", "waitlisted", "ended", "withdrawn"]


class ExitIn(BaseModel):
    """``POST /assignments/{intake_id}/exit`` body: exit date, reason and destination (Verbleib)."""

    model_config = _REQUEST
    exit_date: date
    reason: ExitReason
    destination: Destination
    with_former_internship_company: bool = Field(
        default=False, description="Training/job with a company the student did an internship with"
    )

    @model_validator(mode="after")
    def _company(self) -> ExitIn:
        if self.with_former_internship_company and self.destination not in WITH_COMPANY:
            raise ValueError(
                "„Bei einem früheren Praktikumsbetrieb“ passt nur zu Ausbildung, EQ, BQdual oder Arbeit."
            )
        return self


WITH_COMPANY: frozenset[str] = frozenset(
    {"dual_training", "school_based_training", "einstiegsqualifizierung", "bqdual", "job"}
)
"""Destinations that can be with a former internship company."""


class ExitRecord(ExitIn):
    recorded_at: datetime
    recorded_by: str = Field(description="Role of the person who recorded it (office / companion)")


class Assignment(BaseModel):
    """One item per student known to matching (no personal data: the profile has no identifiers)."""

    intake_id: str
    status: AssignmentStatus
    profile: StudentProfile | None = None
    companion_id: str | None = None
    cost: float | None = Field(default=None, description="Total cost under the matching model")
    explanation: dict[str, float] = Field(
        default_factory=dict, description="Criterion → cost; sums to ``cost``"
    )
    submitted_at: datetime | None = None
    waitlisted_at: str | None = Field(default=None, description="Waitlist sort key (submission time#id)")
    waitlist_school: str | None = None
    waitlist_reason: WaitlistReason | None = None
    assigned_at: datetime | None = None
    profile_updated_at: datetime | None = None
    exit: ExitRecord | None = None
    updated_at: datetime
    expires_at: int | None = Field(default=None, description="Epoch seconds: deleted after (TTL)")


class WaitlistEntry(BaseModel):
    """One waiting student (``GET /waitlist``): position per school, longest waiting first."""

    position: int
    intake_id: str
    school_id: str
    school_year: str
    class_name: str
    submitted_at: datetime | None
    waited_days: int
    reason: WaitlistReason | None


class MoveOut(BaseModel):
    """One proposed/applied change of a rebalance; ``None`` = without companion (waitlist)."""

    intake_id: str
    school_id: str
    from_companion_id: str | None
    to_companion_id: str | None
    cost_before: float | None
    cost_after: float | None
    cost_change: float
    applied: bool = False
    skipped_reason: str | None = None


class RebalanceResult(BaseModel):
    """``POST /assignments/rebalance`` response. Costs exclude the move penalties."""

    dry_run: bool
    students: int
    companions: int
    assigned_before: int
    assigned_after: int
    total_cost_before: float
    total_cost_after: float
    cost_change: float
    moves: list[MoveOut]
    applied: int = 0
    skipped: int = 0
