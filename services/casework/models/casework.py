"""Casework models: the stored student case (learnt from events), internships, meetings and contacts, the
company directory, and the API's in/out models (docs/adr/0022-casework.md).

Personal data: the learning task, the company's contact person of an internship and a meeting's note are
about the student (erased with the student, never in events or logs). The directory holds company data only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from common.field_errors import unknown
from common.model import Model
from common.text import Email, IsoDate, Phone, multi_line, single_line
from contracts.casework import (
    INTERNSHIP_TARGET_DAYS,
    InternshipEndReason,
    InternshipModel,
    MeetingType,
    ParticipantRole,
    Weekday,
)
from contracts.events import Destination, ExitReason
from contracts.reference import CAREER_FIELDS
from contracts.topology import ULID_PATTERN, ULID_RULE

Ulid = Annotated[
    str, StringConstraints(pattern=f"^{ULID_PATTERN}$"), Field(json_schema_extra={"x-rule": ULID_RULE})
]


def _career_field(v: str) -> str:
    if v not in CAREER_FIELDS:
        raise ValueError(unknown("unbekanntes Berufsfeld", CAREER_FIELDS))
    return v


CareerField = Annotated[
    str, AfterValidator(_career_field), Field(json_schema_extra={"enum": list(CAREER_FIELDS)})
]
CompanyText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), AfterValidator(single_line)
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(single_line)
]
LearningTask = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(multi_line)
]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000), AfterValidator(multi_line)]
CaseStatus = Literal["assigned", "waitlisted", "ended", "withdrawn"]


#: German labels of the request fields (field messages name them; common/field_errors.py).
TITLES: dict[str, str] = {
    "name": "Name des Betriebs",
    "town": "Ort",
    "sector": "Branche",
    "contact_person": "Ansprechperson",
    "phone": "Telefon",
    "email": "E-Mail",
    "company_id": "Betrieb",
    "career_field": "Berufsfeld",
    "model": "Modell",
    "weekdays": "Praktikumstage",
    "start_date": "Beginn",
    "end_date": "Ende",
    "days_completed": "absolvierte Tage",
    "learning_task": "Lernaufgabe",
    "end_reason": "Grund des Endes",
    "meeting_date": "Datum",
    "meeting_type": "Art",
    "participants": "Beteiligte",
    "note": "Notiz",
}


def _title(name: str, info: object) -> str:
    return TITLES.get(name, name)


class _In(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, field_title_generator=_title)


# ----------------------------------------------------------------------------------------- companies
class CompanyIn(_In):
    """``POST /companies``: a company of the directory (Betrieb). No student data."""

    name: CompanyText = Field(description="Name des Betriebs")
    town: ShortText = Field(description="Ort")
    sector: CareerField = Field(description="Branche (Berufsfeld)")
    contact_person: ShortText | None = Field(default=None, description="Ansprechperson im Betrieb")
    phone: Phone | None = Field(default=None, description="Telefon des Betriebs")
    email: Email | None = Field(default=None, description="E-Mail des Betriebs")


class CompanyPatch(_In):
    """``PATCH /companies/{company_id}``: only the given fields change (``null`` clears an optional one)."""

    name: CompanyText | None = None
    town: ShortText | None = None
    sector: CareerField | None = None
    contact_person: ShortText | None = None
    phone: Phone | None = None
    email: Email | None = None


class Company(CompanyIn):
    company_id: str
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------------------- internships
class InternshipIn(_In):
    """``POST /students/{intake_id}/internships``: a planned or running internship. ``weekly_days``: the
    weekdays in the company (usually two); ``block``: every working day from ``start_date`` to
    ``end_date``."""

    company_id: Ulid = Field(description="Betrieb aus dem Betriebsverzeichnis")
    career_field: CareerField = Field(description="Berufsfeld")
    model: InternshipModel = Field(description="Modell: Tage pro Woche oder Block")
    weekdays: list[Weekday] = Field(default_factory=list, max_length=5, description="Praktikumstage")
    start_date: IsoDate = Field(description="Beginn")
    end_date: IsoDate | None = Field(default=None, description="Ende (geplant); beim Block Pflicht")
    days_completed: int = Field(default=0, ge=0, le=366, description="Bisher absolvierte Praktikumstage")
    learning_task: LearningTask | None = Field(default=None, description="Lernaufgabe")
    contact_person: ShortText | None = Field(default=None, description="Ansprechperson im Betrieb")

    @model_validator(mode="after")
    def _model(self) -> InternshipIn:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("Das Ende des Praktikums liegt vor seinem Beginn.")
        if self.model == "block" and self.end_date is None:
            raise ValueError("Ein Blockpraktikum braucht Beginn und Ende.")
        if self.model == "weekly_days" and not self.weekdays:
            raise ValueError("Bitte die Praktikumstage der Woche wählen.")
        self.weekdays = sorted(set(self.weekdays), key=["mo", "di", "mi", "do", "fr"].index)  # type: ignore[assignment]
        return self


class InternshipPatch(_In):
    """``PATCH …/internships/{internship_id}``: only the given fields change (``null`` clears the end, the
    learning task or the contact person); the result is checked as a new internship."""

    company_id: Ulid | None = None
    career_field: CareerField | None = None
    model: InternshipModel | None = None
    weekdays: list[Weekday] | None = Field(default=None, max_length=5)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    days_completed: int | None = Field(default=None, ge=0, le=366)
    learning_task: LearningTask | None = None
    contact_person: ShortText | None = None


class InternshipEndIn(_In):
    """``POST …/internships/{internship_id}/end``: the last day, the days completed, the reason."""

    end_date: IsoDate = Field(description="Letzter Praktikumstag")
    days_completed: int = Field(ge=0, le=366, description="Absolvierte Praktikumstage")
    end_reason: InternshipEndReason = Field(description="Grund des Endes")


class Internship(Model):
    internship_id: str
    intake_id: str
    company_id: str
    career_field: str
    model: InternshipModel
    weekdays: list[Weekday] = Field(default_factory=list)
    start_date: date
    end_date: date | None = None
    days_completed: int = 0
    learning_task: str | None = None
    contact_person: str | None = None
    ended: bool = False
    end_reason: InternshipEndReason | None = None
    revision: int = 1
    recorded_at: datetime
    updated_at: datetime
    recorded_by: str = Field(description="Kürzel der Begleitung oder „office“")


class InternshipView(Internship):
    company_name: str | None = Field(default=None, description="Name aus dem Betriebsverzeichnis")
    company_town: str | None = None


# ------------------------------------------------------------------------------------------ meetings
class MeetingIn(_In):
    """``POST /students/{intake_id}/meetings``: a meeting or contact; the note is seen only by the student's
    companion(s) and the office."""

    meeting_date: IsoDate = Field(description="Datum")
    meeting_type: MeetingType = Field(description="Art")
    participants: list[ParticipantRole] = Field(
        default_factory=list, max_length=8, description="Beteiligte (Rollen, keine Namen)"
    )
    note: Note | None = Field(default=None, description="Kurze Notiz (personenbezogen)")

    @model_validator(mode="after")
    def _unique(self) -> MeetingIn:
        self.participants = list(dict.fromkeys(self.participants))
        return self


class Meeting(MeetingIn):
    meeting_id: str
    intake_id: str
    recorded_at: datetime
    recorded_by: str


# -------------------------------------------------------------------------------------- student case
class CaseChange(Model):
    """One fact of the student's assignment learnt from an event (the history: handovers stay visible)."""

    model_config = ConfigDict(frozen=True)
    at: datetime
    kind: Literal["assigned", "reassigned", "waitlisted", "ended", "withdrawn"]
    companion_id: str | None = None
    from_companion_id: str | None = None
    cause: str | None = None


class CaseExit(Model):
    exit_date: date
    reason: ExitReason
    destination: Destination
    company_id: str | None = None
    former_internship_company: bool = Field(
        default=False, description="Ausbildung/Arbeit in einem früheren Praktikumsbetrieb (abgeleitet)"
    )
    ended_at: datetime


class GoalMeetings(Model):
    done: int = Field(ge=0, description="Zielvereinbarungsgespräche in diesem Schuljahr (höchstens 3 zählen)")
    due: int = Field(ge=0, description="Bis heute fällig")
    next_due: date | None = Field(default=None, description="Das nächste ist fällig bis")


class InternshipBrief(Model):
    """What the caseload list shows of an internship, kept on the case (no reads of every internship)."""

    internship_id: str
    company_id: str
    start_date: date
    end_date: date | None = None
    days_completed: int = 0
    ended: bool = False
    end_reason: InternshipEndReason | None = None


class StudentCase(Model):
    """The stored case of one student: placement and companion learnt from events, the history, the exit,
    and what the caseload list shows without reading every internship and meeting."""

    intake_id: str
    school_id: str
    school_year: str
    class_name: str | None = None
    profile_at: datetime | None = None
    companion_id: str | None = None
    since: datetime | None = Field(default=None, description="Bei der aktuellen Begleitung seit")
    status: CaseStatus = "waitlisted"
    history: list[CaseChange] = Field(default_factory=list)
    exit: CaseExit | None = None
    internships: list[InternshipBrief] = Field(default_factory=list)
    goal_meeting_dates: list[date] = Field(default_factory=list)
    last_meeting: date | None = None
    version: int = 0
    expires_at: int | None = None


class CurrentInternship(Model):
    internship_id: str
    company_id: str
    company_name: str | None = None
    start_date: date
    end_date: date | None = None
    days_completed: int


class StudentSummary(Model):
    """One row of "Meine Schülerinnen und Schüler" (names come from intake: the page composes)."""

    intake_id: str
    school_id: str
    school_name: str
    school_year: str
    class_name: str | None
    companion_id: str | None
    since: datetime | None
    status: CaseStatus
    read_only: bool = Field(description="Vertretung: nur lesen")
    internships: int
    internship_days: int = Field(description="Absolvierte Praktikumstage im Schuljahr")
    internship_target: int = INTERNSHIP_TARGET_DAYS
    current_internship: CurrentInternship | None = None
    goal_meetings: GoalMeetings
    last_meeting: date | None = None
    destination: Destination | None = None


class StudentPage(Model):
    items: list[StudentSummary]
    substituting_for: list[str] = Field(
        default_factory=list, description="Begleitungen, die heute vertreten werden (nur lesen)"
    )
    companion_names: dict[str, str] = Field(
        default_factory=dict,
        description="Namen der genannten Begleitungen (die eigene, die vertretenen, die der Zeilen), soweit "
        "bekannt",
    )


class StudentDetail(Model):
    """``GET /students/{intake_id}``: the case, its internships, meetings and contacts (with notes)."""

    summary: StudentSummary
    history: list[CaseChange]
    exit: CaseExit | None
    exit_company_name: str | None = Field(default=None, description="Betrieb des Austritts")
    internships: list[InternshipView]
    meetings: list[Meeting]
    companion_names: dict[str, str] = Field(
        default_factory=dict,
        description="Namen der genannten Begleitungen (Zuordnung, Verlauf), soweit bekannt",
    )
