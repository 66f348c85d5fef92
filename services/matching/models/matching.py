"""Matching models: companion registry entries, assignment records and the API's in/out models."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from common.field_errors import unknown
from common.model import Model
from contracts.events import Destination, ExitReason, Gender, StudentProfile, WaitlistReason
from contracts.reference import CAREER_FIELDS, DESTINATIONS_WITH_COMPANY, LANGUAGES, SCHOOLS
from contracts.topology import COMPANION_ID, ULID_PATTERN, ULID_RULE

ULID_PATTERN_ANCHORED = f"^{ULID_PATTERN}$"


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


MAX_CAPACITY = 200


Capacity = Annotated[
    int,
    Field(ge=0, le=MAX_CAPACITY, description="Maximum number of students (target about 40)"),
]
Fte = Annotated[float, Field(gt=0, le=1.0, description="Full-time equivalent share")]
SchoolIds = Annotated[list[str], Field(min_length=1, max_length=6), AfterValidator(_schools)]
Languages = Annotated[list[str], Field(max_length=20), AfterValidator(_languages)]
CareerFields = Annotated[list[str], Field(max_length=13), AfterValidator(_fields)]
CompanionId = Annotated[
    str,
    Field(
        pattern=COMPANION_ID.regex,
        json_schema_extra={"x-rule": COMPANION_ID.rule},
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
    "substitute_id": "Vertretung",
    "company_id": "Betrieb",
    "exit_date": "Austrittsdatum",
    "reason": "Austrittsgrund",
    "destination": "Verbleib",
    "with_former_internship_company": "bei einem früheren Praktikumsbetrieb",
}


def _title(name: str, info: object) -> str:
    return TITLES.get(name, name)  # stored-only fields (``used``) keep their name


_REQUEST = ConfigDict(extra="forbid", field_title_generator=_title)


class LeavePeriod(Model):
    """An absence of a companion (leave, illness, parental leave); both days inclusive. A ``substitute_id``
    reads the companion's students read-only during it (``CompanionUpdated.substitutions``)."""

    model_config = ConfigDict(extra="forbid", frozen=True, field_title_generator=_title)
    start: date
    end: date
    substitute_id: CompanionId | None = Field(
        default=None, description="Vertretung: Kürzel der Kollegin / des Kollegen, die lesend vertritt"
    )

    @model_validator(mode="after")
    def _ordered(self) -> LeavePeriod:
        if self.end < self.start:
            raise ValueError("Das Ende der Abwesenheit liegt vor ihrem Beginn.")
        return self


class _CompanionFields(Model):
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
    capacity: Capacity
    fte: Fte = 1.0
    languages: Languages = Field(default_factory=list)
    career_fields: CareerFields = Field(default_factory=list)
    gender: Gender = "keine_angabe"
    active: bool = True
    active_from: date | None = Field(default=None, description="First working day in the programme")
    active_until: date | None = Field(default=None, description="Last working day in the programme")
    leave_periods: list[LeavePeriod] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _not_own_substitute(self) -> CompanionIn:
        if any(p.substitute_id == self.companion_id for p in self.leave_periods):
            raise ValueError("Eine Begleitung kann sich nicht selbst vertreten.")
        return self


class CompanionPatch(_CompanionFields):
    """``PATCH /companions/{companion_id}`` body: only the given fields change (``null`` clears the
    optional dates)."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    email: Email | None = None
    school_ids: SchoolIds | None = None
    capacity: Capacity | None = None
    fte: Fte | None = None
    languages: Languages | None = None
    career_fields: CareerFields | None = None
    gender: Gender | None = None
    active: bool | None = None
    active_from: date | None = None
    active_until: date | None = None
    leave_periods: list[LeavePeriod] | None = Field(default=None, max_length=50)


class Companion(CompanionIn):
    """Stored companion with the atomic capacity counter ``used``, the ``revision`` of its registry entry
    (every registry change raises it; a decision made on an older entry cannot be written) and the
    ``version`` of the whole item (every write raises it; a registry change is planned on one version)."""

    used: int = Field(default=0, ge=0)
    revision: int = Field(default=0, ge=0, description="Änderungsstand des Registereintrags")
    version: int = Field(default=0, ge=0, description="Änderungsstand von Eintrag und Belegung")

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)


AssignmentStatus = Literal["assigned", "waitlisted", "ended", "withdrawn"]


class ExitIn(Model):
    """``POST /assignments/{intake_id}/exit`` body: exit date, reason and destination (Verbleib); for a
    training place, EQ, BQdual or a job the company from the company directory (``GET /companies``).
    Whether it is a former internship company is not typed: casework compares it with the internships."""

    model_config = _REQUEST
    exit_date: date
    reason: ExitReason
    destination: Destination
    company_id: (
        Annotated[str, Field(pattern=ULID_PATTERN_ANCHORED, json_schema_extra={"x-rule": ULID_RULE})] | None
    ) = Field(
        default=None,
        title="Betrieb",
        description="Ausbildungs- bzw. Arbeitsbetrieb aus dem Betriebsverzeichnis (ULID)",
    )

    @model_validator(mode="after")
    def _company(self) -> ExitIn:
        if self.company_id is not None and self.destination not in DESTINATIONS_WITH_COMPANY:
            raise ValueError("Ein Betrieb passt nur zu Ausbildung, EQ, BQdual oder Arbeit.")
        return self


class ExitRecord(ExitIn):
    recorded_at: datetime
    recorded_by: str = Field(description="Role of the person who recorded it (office / companion)")


OfficeReason = Literal[
    "handover",
    "continuity",
    "parent_language",
    "class_cohesion",
    "career_fields",
    "student_request",
    "school_request",
    "workload",
    "other",
]
"""Why the office chose a companion (``POST /assignments/{intake_id}/companion``)."""

ChangeCause = Literal[
    "intake",
    "waitlist",
    "rebalance",
    "make_room",
    "registry_change",
    "office_choice",
    "handover",
    "school_change",
]
"""What changed a student's companion: the admission (``intake``), working off the waitlist (``waitlist``), or
one of the :data:`~contracts.events.ReassignmentCause` (which also send a student back to the waitlist)."""

MAX_HISTORY = 30
"""The newest entries of an assignment's history that are kept."""


class AssignmentChange(Model):
    """One change of a student's companion (history of the assignment): ``None`` = the waitlist."""

    at: datetime
    from_companion_id: str | None = None
    to_companion_id: str | None = None
    cause: ChangeCause
    by: Literal["system", "office"] = "system"
    reason: OfficeReason | None = Field(default=None, description="The office's reason (its own choice)")
    note: str | None = Field(
        default=None, max_length=300, description="The office's note (personal data: erased with the profile)"
    )
    cost: float | None = Field(default=None, description="Cost of the new assignment under the model")
    why: str | None = Field(
        default=None, description="Why the companion changed (German), for an automatic move"
    )


class Assignment(Model):
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
    history: list[AssignmentChange] = Field(
        default_factory=list, description="Changes of the companion, oldest first (the newest are kept)"
    )
    updated_at: datetime
    expires_at: int | None = Field(default=None, description="Epoch seconds: deleted after (TTL)")


class WaitlistEntry(Model):
    """One waiting student (``GET /waitlist``): position per school, longest waiting first."""

    position: int
    intake_id: str
    school_id: str
    school_year: str
    class_name: str
    submitted_at: datetime | None
    waited_days: int
    reason: WaitlistReason | None


class MoveOut(Model):
    """One proposed/applied change of a plan (rebalance, re-solve, registry change); ``None`` = without
    companion (the waitlist). Costs under the matching model, without the move penalty."""

    intake_id: str
    school_id: str
    class_name: str = ""
    from_companion_id: str | None
    to_companion_id: str | None
    cost_before: float | None
    cost_after: float | None
    cost_change: float
    explanation: dict[str, float] = Field(
        default_factory=dict, description="Criterion → cost of the new assignment (sums to cost_after)"
    )
    why: str = Field(default="", description="Why this move (German)")
    applied: bool = False
    skipped_reason: str | None = None


class RebalanceResult(Model):
    """``POST /assignments/rebalance`` response. Costs exclude the move penalties."""

    dry_run: bool
    plan_id: str = Field(description="Fingerprint of the moves; applying needs the one of the preview")
    students: int
    companions: int
    assigned_before: int
    assigned_after: int
    total_cost_before: float
    total_cost_after: float
    cost_change: float
    move_penalty: float = Field(description="Cost of one move in the rebalance (continuity)")
    moves: list[MoveOut]
    applied: int = 0
    skipped: int = 0


class RegistryChange(Model):
    """What a registry change does (``dry_run``: would do) to the students: the moves it requires (students
    the changed entry can no longer have: to another companion, or back to the waitlist) and the waiting
    students who get a place it opened, each with its cost explanation and a German why."""

    companion_id: str
    kind: Literal["created", "changed", "unchanged"] = Field(description="neu / geändert / unverändert")
    changed_fields: list[str] = Field(default_factory=list)
    applied: bool
    moves: list[MoveOut] = Field(
        default_factory=list, description="Required by the change (same transaction)"
    )
    placements: list[MoveOut] = Field(
        default_factory=list,
        description="Waiting students who get a place the change opened (and who makes room)",
    )
    to_waitlist: list[str] = Field(
        default_factory=list, description="Students who would lose their companion"
    )
    needs_confirmation: bool = Field(
        default=False, description="Applying needs allow_waitlist=true (students go back to the waitlist)"
    )
    notes: list[str] = Field(
        default_factory=list, description="What the change does later or not at all (German)"
    )
    message: str = Field(description="Summary (German)")


class CompanionSaved(Companion):
    """Answer of ``POST /companions`` and ``PATCH /companions/{companion_id}`` (also with ``dry_run``): the
    entry as stored (or as it would be) and what the change does to the students."""

    change: RegistryChange


class CompanionOption(Model):
    """One companion as the office's choice for a student: allowed by the hard rules or not (and why), and
    what it would cost under the model now (criterion → cost)."""

    companion_id: str
    name: str
    school_ids: list[str]
    capacity: int
    used: int
    current: bool = Field(description="The student's companion now")
    allowed: bool = Field(
        description="Every hard rule holds (school, consent, active at the start, free place)"
    )
    violations: list[str] = Field(default_factory=list, description="Hard rules that do not hold (German)")
    cost: float = Field(description="Total cost of this choice (lower is better)")
    explanation: dict[str, float] = Field(description="Criterion → cost; sums to cost")
    best: bool = Field(default=False, description="The model's choice (cheapest allowed)")


class AssignmentOptions(Model):
    """``GET /assignments/{intake_id}/options``: the companions of the student's school as choices."""

    intake_id: str
    status: Literal["assigned", "waitlisted"]
    school_id: str
    class_name: str
    current_companion_id: str | None
    options: list[CompanionOption]
    criteria: dict[str, str] = Field(description="Criterion → German label")


class CompanionChoiceIn(Model):
    """``POST /assignments/{intake_id}/companion``: the office assigns or moves the student to a companion of
    its choice (also a handover); the reason is required."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, field_title_generator=_title)
    companion_id: CompanionId
    reason: OfficeReason = Field(title="Grund der Wahl")
    note: str | None = Field(
        default=None,
        title="Notiz",
        max_length=300,
        description="Optional note (kept on the assignment only, never in events or logs)",
    )

    @model_validator(mode="after")
    def _note_for_other(self) -> CompanionChoiceIn:
        if self.reason == "other" and not self.note:
            raise ValueError("Bei „Sonstiges“ bitte die Begründung kurz angeben (note).")
        return self


class CompanionChoice(Model):
    """Answer of ``POST /assignments/{intake_id}/companion``: the new assignment, the chosen option and the
    model's best for comparison, and the history entry written."""

    assignment: Assignment
    chosen: CompanionOption
    best: CompanionOption | None
    change: AssignmentChange
