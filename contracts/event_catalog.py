"""The platform's events by name: detail-type, source, schema version and description of each, and the name of
its data model in :mod:`contracts.events` – without pydantic.

Every event on the platform bus is declared here exactly once as an :class:`EventSpec`. Detail-type strings
are explicit constants (past-tense facts, see the glossary in docs/architecture.md), never derived from class
names. Sources follow ``avdual.<service>``. The topology, the outbox relays and the subscriptions need only
these names; the data model (pydantic) is imported when a spec's :attr:`EventSpec.data_model` is first read,
so a function that only moves events (the outbox relays) starts without pydantic (docs/performance.md).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import BaseModel


class Source(StrEnum):
    """EventBridge ``source`` per producing service (``avdual.<service>``)."""

    INTAKE = "avdual.intake"
    MATCHING = "avdual.matching"
    REPORTING = "avdual.reporting"
    CASEWORK = "avdual.casework"


@dataclass(frozen=True)
class EventSpec:
    """One event of the platform: detail-type constant, source, schema version, the name of the detail data
    model in :mod:`contracts.events`, description."""

    detail_type: str
    source: Source
    version: int
    data_model_name: str
    description: str

    @property
    def data_model(self) -> type[BaseModel]:
        """The detail's data model (``contracts.events``), imported on first use."""
        model: type[BaseModel] = getattr(importlib.import_module("contracts.events"), self.data_model_name)
        return model

    def envelope_model(self) -> type[BaseModel]:
        from contracts.events import Envelope

        return Envelope[self.data_model]  # type: ignore[name-defined]


INTAKE_SUBMITTED = EventSpec(
    "IntakeSubmitted", Source.INTAKE, 1, "IntakeSubmittedData", "A school submitted a student intake form."
)
INTAKE_UPDATED = EventSpec(
    "IntakeUpdated", Source.INTAKE, 1, "IntakeUpdatedData", "A school corrected an intake form."
)
INTAKE_WITHDRAWN = EventSpec(
    "IntakeWithdrawn",
    Source.INTAKE,
    2,  # v2: reason codes of the withdrawal dialog, required
    "IntakeWithdrawnData",
    "An intake was withdrawn (e.g. consent withdrawn): erase personal data.",
)
COMPANION_ASSIGNED = EventSpec(
    "CompanionAssigned",
    Source.MATCHING,
    2,  # v2: the companion's caseload and capacity after the claim, optional (a v1 event still validates)
    "CompanionAssignedData",
    "A student was assigned to a companion (AV dual-Begleiter).",
)
STUDENT_WAITLISTED = EventSpec(
    "StudentWaitlisted",
    Source.MATCHING,
    1,
    "StudentWaitlistedData",
    "No companion could take the student; the student waits on the waitlist.",
)
COMPANION_REASSIGNED = EventSpec(
    "CompanionReassigned",
    Source.MATCHING,
    2,
    "CompanionReassignedData",
    "A student moved to another companion (rebalance, making room for a waiting student, a registry change, "
    "the office's choice or a handover).",
)
ASSIGNMENT_ENDED = EventSpec(
    "AssignmentEnded",
    Source.MATCHING,
    2,
    "AssignmentEndedData",
    "A student left the programme (exit with destination / Verbleib).",
)
COMPANION_UPDATED = EventSpec(
    "CompanionUpdated",
    Source.MATCHING,
    4,
    "CompanionUpdatedData",
    "The office created or changed a companion (capacity, schools, leave and its substitutes).",
)
REPORT_PUBLISHED = EventSpec(
    "ReportPublished",
    Source.REPORTING,
    1,
    "ReportPublishedData",
    "A report was rendered and stored in the report bucket.",
)

INTERNSHIP_STARTED = EventSpec(
    "InternshipStarted",
    Source.CASEWORK,
    1,
    "InternshipStartedData",
    "A companion entered (or changed) a student's internship: company id, career field, model, dates.",
)
INTERNSHIP_ENDED = EventSpec(
    "InternshipEnded",
    Source.CASEWORK,
    1,
    "InternshipEndedData",
    "An internship ended: last day, days completed, the reason (a code).",
)
MEETING_RECORDED = EventSpec(
    "MeetingRecorded",
    Source.CASEWORK,
    1,
    "MeetingRecordedData",
    "A meeting or contact of a student's casework was recorded (kind and roles only, never the note).",
)
DESTINATION_COMPANY_RECORDED = EventSpec(
    "DestinationCompanyRecorded",
    Source.CASEWORK,
    1,
    "DestinationCompanyRecordedData",
    "A student's exit company was compared with the student's internships (Klebeeffekt).",
)

EVENTS: dict[str, EventSpec] = {
    spec.detail_type: spec
    for spec in (
        INTAKE_SUBMITTED,
        INTAKE_UPDATED,
        INTAKE_WITHDRAWN,
        COMPANION_ASSIGNED,
        STUDENT_WAITLISTED,
        COMPANION_REASSIGNED,
        ASSIGNMENT_ENDED,
        COMPANION_UPDATED,
        REPORT_PUBLISHED,
        INTERNSHIP_STARTED,
        INTERNSHIP_ENDED,
        MEETING_RECORDED,
        DESTINATION_COMPANY_RECORDED,
    )
}
