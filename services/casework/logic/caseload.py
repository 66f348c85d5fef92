"""The caseload, learnt from events (casework never asks matching or intake): who is whose companion since
when, handovers, a return to the waitlist, the exit with its destination, a withdrawal (erasure), and the
substitutes of a leave.

Order-tolerant and idempotent: a student's history is a *set* of facts (one per event), the status and the
companion are read off it in time order (after ``ended`` only a withdrawal counts; ``withdrawn`` is final),
the class is last-writer-wins by the time of its fact, and the case is written only when it changed, with
the next ``version`` conditional on the one read (a concurrent delivery makes the write fail and retry).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from common.events import OutgoingEvent
from contracts.events import (
    AssignmentEndedData,
    CompanionAssignedData,
    CompanionReassignedData,
    CompanionUpdatedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
    Metadata,
    StudentWaitlistedData,
)
from contracts.retention import expires_at
from services.casework.dal.store import CaseworkStore, StaleCaseError
from services.casework.logic import events
from services.casework.models.casework import CaseChange, CaseExit, Internship, StudentCase

MAX_ATTEMPTS = 5
#: Changes at the same instant: matching waitlists a student and lets them in at once when a companion of a
#: connected school has room (both facts carry the same time), so "waitlisted" comes before "assigned".
_KIND_ORDER = {"waitlisted": 0, "assigned": 1, "reassigned": 2, "ended": 3, "withdrawn": 4}


def _sort_key(c: CaseChange) -> tuple[datetime, int, str]:
    return (c.at, _KIND_ORDER[c.kind], c.companion_id or "")


def derive(case: StudentCase) -> StudentCase:
    """Status, companion and "since" read off the history (a new object)."""
    status, companion, since = "waitlisted", None, None
    for c in sorted(case.history, key=_sort_key):
        if status == "withdrawn" or (status == "ended" and c.kind != "withdrawn"):
            continue
        if c.kind in ("assigned", "reassigned"):
            if companion != c.companion_id or status != "assigned":
                since = c.at
            status, companion = "assigned", c.companion_id
        elif c.kind == "waitlisted":
            status, companion, since = "waitlisted", None, None
        elif c.kind == "ended":
            status, companion = "ended", c.companion_id or companion
        else:
            status = "withdrawn"
    return case.model_copy(update={"status": status, "companion_id": companion, "since": since})


def with_change(case: StudentCase, change: CaseChange) -> StudentCase:
    if change in case.history:
        return case
    return derive(case.model_copy(update={"history": sorted([*case.history, change], key=_sort_key)}))


def former_internship_company(company_id: str | None, internships: list[Internship]) -> bool:
    """The Klebeeffekt: the exit company is one the student did (or does) an internship with."""
    return company_id is not None and any(
        i.company_id == company_id and i.end_reason != "not_started" for i in internships
    )


def _retention(case: StudentCase) -> StudentCase:
    exit_date = case.exit.exit_date if case.exit else None
    return case.model_copy(update={"expires_at": expires_at(case.school_year, exit_date)})


def learn(
    store: CaseworkStore,
    intake_id: str,
    new_case: Callable[[], StudentCase],
    change: Callable[[StudentCase, list[Internship]], tuple[StudentCase, list[OutgoingEvent]]],
    *,
    create: bool = True,
    first: bool = False,
) -> StudentCase | None:
    """Read the case (``new_case()`` if there is none and ``create``), apply ``change``, write it if it
    changed
    (with the events ``change`` returns); retried when a concurrent write came first.

    ``first``: the fact normally opens the case (a student's first assignment or waitlisting), so it is
    written as a new case without reading first, conditional on no case existing — the same write the read
    would lead to, one call less (docs/performance.md, "Design floor"). If a case exists (a redelivery, a
    student waitlisted again, an erased student), that write fails and the fact is read and applied as
    always."""
    if first:
        new, outgoing = change(new_case(), [])
        new = _retention(new).model_copy(update={"version": 1})
        try:
            store.save(new, read_version=None, events=outgoing)
            return new
        except StaleCaseError:
            pass
    for _ in range(MAX_ATTEMPTS):
        old, internships, _meetings = store.partition(intake_id)
        if old is None and not create:
            return None
        if old is not None and old.status == "withdrawn":
            return old  # erased: late facts change nothing
        base = old or new_case()
        new, outgoing = change(base, internships)
        new = _retention(new)
        if old is not None and new == old:
            return old
        new = new.model_copy(update={"version": (old.version if old else 0) + 1})
        try:
            store.save(new, read_version=old.version if old else None, events=outgoing)
        except StaleCaseError:
            continue
        if old is not None and old.expires_at != new.expires_at and new.expires_at is not None:
            store.set_expiry(intake_id, new.expires_at)
        return new
    raise StaleCaseError("case kept changing")


def _fresh(intake_id: str, school_id: str, school_year: str) -> Callable[[], StudentCase]:
    return lambda: StudentCase(intake_id=intake_id, school_id=school_id, school_year=school_year)


def _with_class(case: StudentCase, class_name: str, at: datetime) -> StudentCase:
    if case.profile_at is not None and case.profile_at >= at:
        return case
    return case.model_copy(update={"class_name": class_name, "profile_at": at})


# ------------------------------------------------------------------------------------------ reactions
def on_companion_assigned(meta: Metadata, data: CompanionAssignedData, *, store: CaseworkStore) -> None:
    change = CaseChange(at=data.assigned_at, kind="assigned", companion_id=data.companion_id)
    learn(
        store,
        data.intake_id,
        _fresh(data.intake_id, data.school_id, data.school_year),
        lambda c, _i: (with_change(_with_class(c, data.class_name, data.assigned_at), change), []),
        first=not data.from_waitlist,  # from the waitlist: the waitlisting opened the case
    )


def on_companion_reassigned(meta: Metadata, data: CompanionReassignedData, *, store: CaseworkStore) -> None:
    """A handover (or any move): the new companion sees everything, the history keeps the old one."""
    change = CaseChange(
        at=data.reassigned_at,
        kind="reassigned",
        companion_id=data.to_companion_id,
        from_companion_id=data.from_companion_id,
        cause=getattr(data, "cause", None),
    )
    learn(
        store,
        data.intake_id,
        _fresh(data.intake_id, data.school_id, data.school_year),
        lambda c, _i: (with_change(c, change), []),
    )


def on_student_waitlisted(meta: Metadata, data: StudentWaitlistedData, *, store: CaseworkStore) -> None:
    change = CaseChange(at=data.waitlisted_at, kind="waitlisted")
    learn(
        store,
        data.intake_id,
        _fresh(data.intake_id, data.school_id, data.school_year),
        lambda c, _i: (with_change(_with_class(c, data.class_name, data.waitlisted_at), change), []),
        first=True,
    )


def on_intake_updated(meta: Metadata, data: IntakeUpdatedData, *, store: CaseworkStore) -> None:
    """A corrected class (or school) of a student casework knows."""

    def change(c: StudentCase, _i: list[Internship]) -> tuple[StudentCase, list[OutgoingEvent]]:
        if c.profile_at is not None and c.profile_at >= data.updated_at:
            return c, []
        return c.model_copy(
            update={"class_name": data.class_name, "school_id": data.school_id, "profile_at": data.updated_at}
        ), []

    learn(
        store, data.intake_id, _fresh(data.intake_id, data.school_id, data.school_year), change, create=False
    )


def on_assignment_ended(meta: Metadata, data: AssignmentEndedData, *, store: CaseworkStore) -> None:
    """The exit with its destination; a named company is compared with the internships (Klebeeffekt) and
    the comparison published (``DestinationCompanyRecorded``)."""
    change = CaseChange(at=data.ended_at, kind="ended", companion_id=data.companion_id)

    def apply(c: StudentCase, internships: list[Internship]) -> tuple[StudentCase, list[OutgoingEvent]]:
        new = with_change(c, change)
        if c.exit is not None and c.exit.ended_at >= data.ended_at:
            return new, []
        new = new.model_copy(
            update={
                "exit": CaseExit(
                    exit_date=data.exit_date,
                    reason=data.reason,
                    destination=data.destination,
                    company_id=data.company_id,
                    former_internship_company=former_internship_company(data.company_id, internships),
                    ended_at=data.ended_at,
                )
            }
        )
        out = []
        if data.company_id is not None and new.companion_id is not None:
            out.append(events.destination_company_recorded(new, meta.correlation_id, data.ended_at))
        return new, out

    learn(store, data.intake_id, _fresh(data.intake_id, data.school_id, data.school_year), apply)


def on_intake_withdrawn(meta: Metadata, data: IntakeWithdrawnData, *, store: CaseworkStore) -> None:
    """Erasure: every internship, meeting and note of the student goes; a tombstone without data stays so
    that late facts change nothing."""
    old = store.get_case(data.intake_id)
    tombstone = StudentCase(
        intake_id=data.intake_id,
        school_id=data.school_id,
        school_year=data.school_year,
        status="withdrawn",
        history=[CaseChange(at=data.withdrawn_at, kind="withdrawn")],
        version=(old.version if old else 0) + 1,
        expires_at=expires_at(data.school_year),
    )
    store.erase(data.intake_id, tombstone)


def on_companion_updated(meta: Metadata, data: CompanionUpdatedData, *, store: CaseworkStore) -> None:
    store.substitutions.apply(data.companion_id, data.substitutions, data.updated_at, data.name)
