"""Pure building blocks of the matching use cases: the day the eligibility rules are checked on,
waitlist order, the claim a snapshot leads to, the waiting record. No I/O."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from ulid import ULID

from contracts import retention
from contracts.calendar import local_date
from contracts.events import IntakeSubmittedData, IntakeUpdatedData, StudentProfile
from services.matching.logic import choose
from services.matching.logic import cost as cm
from services.matching.models.matching import MAX_HISTORY, Assignment, AssignmentChange, Companion

MAX_RACE_RETRIES = 5
"""How often a use case re-reads and decides again when its conditional write lost a race."""


# ----------------------------------------------------------------------------------------- pure helpers
def reference_day(profile: StudentProfile, at: datetime) -> date:
    """The day the leave / active-period rule is checked on for an assignment made at ``at``: the student's
    start date (without one: 1 August of the school year), but never a day already past in the county — a
    companion back from leave takes a student whose start date fell into the leave from that day on."""
    return cm.start_day(profile, local_date(at))


def waitlist_key(submitted_at: datetime | None, intake_id: str, *, at: datetime) -> str:
    """Sort key of the waitlist: submission time (UTC, ISO 8601), ties by intake id; without a submission
    time the one in the intake's ULID (else ``at``)."""
    when = (submitted_at or submitted_at_of(intake_id, fallback=at)).astimezone(UTC)
    return f"{when.isoformat()}#{intake_id}"


def submitted_at_of(intake_id: str, *, fallback: datetime) -> datetime:
    """The submission time encoded in the intake's ULID (for an update that overtook its submission);
    ``fallback`` for an id that is no ULID."""
    try:
        return ULID.from_str(intake_id).datetime
    except ValueError:
        return fallback


def profile_of(data: IntakeSubmittedData | IntakeUpdatedData) -> StudentProfile:
    return StudentProfile.model_validate(data.model_dump(include=set(StudentProfile.model_fields)))


def prepare_claim(
    intake_id: str,
    profile: StudentProfile,
    companions: Iterable[Companion],
    classmates: Iterable[str],
    *,
    at: datetime,
    base: Assignment | None = None,
    submitted_at: datetime | None = None,
) -> Assignment | None:
    """The assignment the model chooses from this snapshot (best companion, deterministic), or
    ``None`` if no companion is eligible. Pure: writing it is :meth:`MatchingStore.claim`'s job,
    which re-checks capacity atomically — a claim prepared from a stale snapshot never overbooks."""
    context = cm.class_context(profile.school_id, profile.class_name, classmates)
    ranked = choose.rank(profile, companions, context, day=reference_day(profile, at))
    if not ranked:
        return None
    best = ranked[0]
    keep = base.model_dump(include={"submitted_at", "waitlisted_at", "profile_updated_at"}) if base else {}
    keep.setdefault("submitted_at", submitted_at)
    change = AssignmentChange(
        at=at,
        to_companion_id=best.companion.companion_id,
        cause="waitlist" if base is not None else "intake",
        cost=best.cost,
    )
    return Assignment(
        history=[*(base.history if base else []), change][-MAX_HISTORY:],
        intake_id=intake_id,
        status="assigned",
        profile=profile,
        companion_id=best.companion.companion_id,
        cost=best.cost,
        explanation=best.explanation,
        assigned_at=at,
        updated_at=at,
        expires_at=retention.expires_at(profile.school_year),
        **keep,
    )


def has_room(companions: Iterable[Companion]) -> bool:
    return any(c.active and c.free > 0 for c in companions)


def waiting_state(
    intake_id: str,
    profile: StudentProfile,
    reason: str,
    *,
    at: datetime,
    submitted_at: datetime | None,
    profile_updated_at: datetime | None,
) -> Assignment:
    return Assignment(
        intake_id=intake_id,
        status="waitlisted",
        profile=profile,
        submitted_at=submitted_at,
        waitlisted_at=waitlist_key(submitted_at, intake_id, at=at),
        waitlist_school=profile.school_id,
        waitlist_reason=reason,
        profile_updated_at=profile_updated_at,
        updated_at=at,
        expires_at=retention.expires_at(profile.school_year),
    )  # type: ignore[arg-type]
