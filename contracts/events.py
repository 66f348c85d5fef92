"""Event contracts: detail models and the data/metadata envelope (pydantic).

Which events exist (detail-type, source, version, the name of the data model here) is declared once in
:mod:`contracts.event_catalog`, without pydantic; its names are re-exported here for the publishers and
consumers (``events.INTAKE_SUBMITTED``).

Events carry no direct identifiers (docs/architecture.md): IDs (ULIDs) plus what consumers need.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from contracts.casework import InternshipEndReason, InternshipModel, MeetingType, ParticipantRole
from contracts.event_catalog import ASSIGNMENT_ENDED as ASSIGNMENT_ENDED
from contracts.event_catalog import COMPANION_ASSIGNED as COMPANION_ASSIGNED
from contracts.event_catalog import COMPANION_REASSIGNED as COMPANION_REASSIGNED
from contracts.event_catalog import COMPANION_UPDATED as COMPANION_UPDATED
from contracts.event_catalog import DESTINATION_COMPANY_RECORDED as DESTINATION_COMPANY_RECORDED
from contracts.event_catalog import EVENTS as EVENTS
from contracts.event_catalog import INTAKE_SUBMITTED as INTAKE_SUBMITTED
from contracts.event_catalog import INTAKE_UPDATED as INTAKE_UPDATED
from contracts.event_catalog import INTAKE_WITHDRAWN as INTAKE_WITHDRAWN
from contracts.event_catalog import INTERNSHIP_ENDED as INTERNSHIP_ENDED
from contracts.event_catalog import INTERNSHIP_STARTED as INTERNSHIP_STARTED
from contracts.event_catalog import MEETING_RECORDED as MEETING_RECORDED
from contracts.event_catalog import REPORT_PUBLISHED as REPORT_PUBLISHED
from contracts.event_catalog import STUDENT_WAITLISTED as STUDENT_WAITLISTED
from contracts.event_catalog import EventSpec as EventSpec
from contracts.event_catalog import Source as Source

Gender = Literal["weiblich", "maennlich", "divers", "keine_angabe"]
AgeBand = Literal["unter_16", "16", "17", "18", "19_plus"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class Metadata(_Strict):
    """Envelope metadata. ``idempotency_key`` identifies the business fact: consumers dedupe on it,
    never on the EventBridge ``id`` (a producer retry gets a new ``id`` for the same fact)."""

    version: int = Field(ge=1, description="Schema version of ``data`` (see EventSpec.version)")
    correlation_id: str = Field(min_length=1, max_length=128)
    idempotency_key: str = Field(min_length=1, max_length=256)
    occurred_at: datetime = Field(description="When the fact happened (UTC, ISO 8601)")


class StudentProfile(_Strict):
    """Matching-relevant, non-identifying attributes of a student (no name, no date of birth)."""

    school_id: str = Field(min_length=2, max_length=16)
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])
    class_name: str = Field(min_length=1, max_length=32)
    age_band: AgeBand
    gender: Gender
    german_support: bool = False
    languages: list[str] = Field(default_factory=list, max_length=10)
    parent_contact_language: str | None = None
    career_fields: list[str] = Field(default_factory=list, max_length=3)
    preferred_companion_gender: Gender | None = None
    previous_companion_id: str | None = None
    start_date: date | None = None
    consent_present: bool = True


class IntakeSubmittedData(StudentProfile):
    intake_id: str = Field(min_length=26, max_length=26, description="ULID of the intake")
    submitted_at: datetime


class IntakeUpdatedData(StudentProfile):
    intake_id: str = Field(min_length=26, max_length=26)
    updated_at: datetime
    changed_fields: list[str] = Field(default_factory=list)
    matching_relevant: bool = Field(description="True when a field the matching model reads changed")


WithdrawReason = Literal["consent_withdrawn", "duplicate", "entered_in_error", "left_school"]
"""Why an intake was withdrawn (all erase): consent withdrawn, entered twice, entered by mistake, left the
school. A code only, never free text (it is counted by reporting)."""


class IntakeWithdrawnData(_Strict):
    intake_id: str = Field(min_length=26, max_length=26)
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    withdrawn_at: datetime
    reason: WithdrawReason = Field(description="Why the intake was withdrawn (a code, counted by reporting)")


class CompanionAssignedData(_Strict):
    intake_id: str = Field(min_length=26, max_length=26)
    companion_id: str
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    class_name: str
    age_band: AgeBand
    gender: Gender
    german_support: bool = False
    career_fields: list[str] = Field(default_factory=list)
    assigned_at: datetime
    from_waitlist: bool = False
    waited_days: int = Field(default=0, ge=0)
    cost: float = Field(description="Total cost under the matching model (lower is better)")
    # v2: the companion's places as the claim left them, so that reporting decides "companion full" without
    # reading them; absent (v1, or an assignment whose claim did not pin the caseload) reporting reads them
    companion_caseload: int | None = Field(
        default=None,
        ge=1,
        description="Places the companion has taken right after this assignment (the claim's own count)",
    )
    companion_capacity: int | None = Field(
        default=None, ge=1, description="The companion's capacity the claim was checked against"
    )


WaitlistReason = Literal["no_capacity", "no_companion_for_school", "no_consent", "no_active_companion"]
"""Why a student waits: nobody has room / no companion serves the school / consent missing / all inactive."""


class StudentWaitlistedData(_Strict):
    intake_id: str = Field(min_length=26, max_length=26)
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    class_name: str
    age_band: AgeBand
    gender: Gender
    german_support: bool = False
    career_fields: list[str] = Field(default_factory=list)
    waitlisted_at: datetime
    reason: WaitlistReason


ReassignmentCause = Literal[
    "rebalance", "make_room", "registry_change", "office_choice", "handover", "school_change"
]
"""Why a student moved: the office's rebalance / to let a waiting student in / a registry change the old
companion no longer allows / the office chose the companion / a handover between companions / the student's
school changed."""


class CompanionReassignedData(_Strict):
    intake_id: str = Field(min_length=26, max_length=26)
    from_companion_id: str
    to_companion_id: str
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    reassigned_at: datetime
    cost_change: float
    cause: ReassignmentCause = Field(default="rebalance", description="Why the student moved (v2)")


Destination = Literal[
    "dual_training",
    "school_based_training",
    "einstiegsqualifizierung",
    "bqdual",
    "bfs",
    "further_school",
    "repeat_year_vabo",
    "agency_programme",
    "job",
    "voluntary_service",
    "nothing",
    "moved_away",
    "unknown",
]


ExitReason = Literal["completed", "dropped_out", "moved_away", "withdrawn", "other"]
"""Why a student left the programme (recorded with the destination on exit)."""


class AssignmentEndedData(_Strict):
    intake_id: str = Field(min_length=26, max_length=26)
    companion_id: str
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    ended_at: datetime
    exit_date: date
    reason: ExitReason
    destination: Destination
    company_id: str | None = Field(
        default=None,
        min_length=26,
        max_length=26,
        description="The training/employing company of the casework directory (v2; replaces the typed "
        "with_former_internship_company: casework compares it with the internships, "
        "DestinationCompanyRecorded)",
    )


class Substitution(_Strict):
    """A colleague who reads a companion's caseload (read-only) from ``start`` to ``end`` (both days
    inclusive)."""

    substitute_id: str = Field(min_length=1, max_length=32)
    start: date
    end: date


class CompanionUpdatedData(_Strict):
    companion_id: str
    school_ids: list[str]
    capacity: int = Field(ge=0)
    active: bool
    updated_at: datetime
    capacity_increased: bool = False
    fte: float | None = Field(
        default=None,
        gt=0,
        le=1.0,
        description="Full-time equivalent share (v2); reports show caseload per FTE",
    )
    name: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="The companion's name as the office knows it (v3): staff, not student data; reports, "
        "alerts and the dashboard name companions by it",
    )
    substitutions: list[Substitution] = Field(
        default_factory=list,
        max_length=50,
        description="Who reads the caseload read-only while the companion is away (v4): the periods of "
        "leave that have a substitute, without the kind of absence",
    )


class ReportPublishedData(_Strict):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")
    formats: list[Literal["html", "pdf", "xlsx"]]
    object_keys: list[str] = Field(description="S3 keys in the report bucket")
    published_at: datetime


class _StudentFact(_Strict):
    """What every casework fact names: the student (pseudonymous id), the companion and the placement."""

    intake_id: str = Field(min_length=26, max_length=26)
    companion_id: str
    school_id: str
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$")


class InternshipStartedData(_StudentFact):
    """An internship was entered (or changed: a higher ``revision`` of the same ``internship_id``)."""

    internship_id: str = Field(min_length=26, max_length=26)
    revision: int = Field(ge=1, description="1 when entered; every change of the internship raises it")
    company_id: str = Field(min_length=26, max_length=26)
    career_field: str
    model: InternshipModel
    start_date: date
    end_date: date | None = Field(default=None, description="Planned or actual last day")
    recorded_at: datetime


class InternshipEndedData(_StudentFact):
    internship_id: str = Field(min_length=26, max_length=26)
    revision: int = Field(ge=1)
    end_date: date
    days_completed: int = Field(ge=0, le=366)
    end_reason: InternshipEndReason
    recorded_at: datetime


class MeetingRecordedData(_StudentFact):
    """A meeting or contact was recorded: its kind and who took part (roles), never the note."""

    meeting_id: str = Field(min_length=26, max_length=26)
    meeting_date: date
    meeting_type: MeetingType
    participants: list[ParticipantRole] = Field(default_factory=list, max_length=8)
    recorded_at: datetime


class DestinationCompanyRecordedData(_StudentFact):
    """The company a student went to on exit (training, EQ, job) compared with the student's internships:
    ``former_internship_company`` is the Klebeeffekt. Re-published when a change of the internships changes
    the comparison (the latest ``recorded_at`` holds)."""

    company_id: str = Field(min_length=26, max_length=26)
    destination: Destination
    former_internship_company: bool
    recorded_at: datetime


D = TypeVar("D", bound=BaseModel)


class Envelope(BaseModel, Generic[D]):
    """The EventBridge ``detail``: ``{"metadata": {...}, "data": {...}}`` (docs/architecture.md)."""

    model_config = ConfigDict(extra="forbid")
    metadata: Metadata
    data: D
