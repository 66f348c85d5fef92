"""Internships (Praktika): enter, change, end. Each write stores the internship, the case's summary of it
and the events in one transaction; a change of the internships that changes whether the exit company was an
internship company re-publishes the comparison (``DestinationCompanyRecorded``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from common.auth import Principal
from common.errors import (
    ConflictError,
    DomainValidationError,
    FieldError,
    NotFoundError,
    merged_record_errors,
)
from common.events import OutgoingEvent
from services.casework.dal.store import CaseworkStore, StaleCaseError, internship_item
from services.casework.logic import access, events
from services.casework.logic.caseload import MAX_ATTEMPTS, former_internship_company
from services.casework.models.casework import (
    Internship,
    InternshipBrief,
    InternshipEndIn,
    InternshipIn,
    InternshipPatch,
    InternshipView,
    StudentCase,
)

UNKNOWN_COMPANY = FieldError(
    field="company_id", message="Diesen Betrieb gibt es im Betriebsverzeichnis nicht."
)


def actor(principal: Principal) -> str:
    """Who recorded it: the companion's id, or ``office``."""
    return "office" if principal.is_office or principal.companion_id is None else principal.companion_id


def brief(i: Internship) -> InternshipBrief:
    return InternshipBrief.model_validate(i.model_dump(include=set(InternshipBrief.model_fields)))


def recompare(
    case: StudentCase, internships: list[Internship], correlation_id: str, at: datetime
) -> tuple[StudentCase, list[OutgoingEvent]]:
    """The case with the exit's Klebeeffekt compared again (and the event if it changed)."""
    x = case.exit
    if x is None or x.company_id is None:
        return case, []
    former = former_internship_company(x.company_id, internships)
    if former == x.former_internship_company:
        return case, []
    new = case.model_copy(update={"exit": x.model_copy(update={"former_internship_company": former})})
    return new, [events.destination_company_recorded(new, correlation_id, at)]


def _save(
    case: StudentCase,
    internship: Internship,
    others: list[Internship],
    outgoing: list[OutgoingEvent],
    *,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> None:
    briefs = [b for b in case.internships if b.internship_id != internship.internship_id] + [
        brief(internship)
    ]
    new = case.model_copy(
        update={
            "internships": sorted(briefs, key=lambda b: (b.start_date, b.internship_id)),
            "version": case.version + 1,
        }
    )
    new, more = recompare(new, [*others, internship], correlation_id, now)
    store.save(
        new,
        read_version=case.version,
        items=[internship_item(internship, new.expires_at)],
        conditions=[store.company_exists(internship.company_id)],
        events=[*outgoing, *more],
    )


def _view(i: Internship, store: CaseworkStore) -> InternshipView:
    c = store.get_company(i.company_id)
    return InternshipView(
        **i.model_dump(), company_name=c.name if c else None, company_town=c.town if c else None
    )


def _check_company(store: CaseworkStore, company_id: str) -> None:
    if store.get_company(company_id) is None:
        raise DomainValidationError([UNKNOWN_COMPANY])


def create_internship(
    intake_id: str,
    body: InternshipIn,
    *,
    principal: Principal,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> InternshipView:
    _check_company(store, body.company_id)
    internship_id = str(ULID.from_datetime(now))
    for _ in range(MAX_ATTEMPTS):
        stored, internships, _m = store.partition(intake_id)
        case = access.writable(stored, principal, store, now)
        i = Internship(
            internship_id=internship_id,
            intake_id=intake_id,
            **body.model_dump(),
            recorded_at=now,
            updated_at=now,
            recorded_by=actor(principal),
        )
        outgoing = [events.internship_started(case, i, correlation_id)]
        try:
            _save(case, i, internships, outgoing, store=store, correlation_id=correlation_id, now=now)
        except StaleCaseError:
            if store.get_company(body.company_id) is None:
                raise DomainValidationError([UNKNOWN_COMPANY]) from None
            continue
        access.audit("create", principal, [intake_id], now)
        return _view(i, store)
    raise ConflictError("Die Begleitung wurde gleichzeitig geändert. Bitte erneut versuchen.")


def _merged(i: Internship, changes: dict[str, Any]) -> InternshipIn:
    fields = i.model_dump(mode="json", include=set(InternshipIn.model_fields))
    try:
        return InternshipIn.model_validate({**fields, **changes})
    except ValidationError as e:  # the rules of a new internship on the merged one
        raise merged_record_errors(e) from None


def _change(
    intake_id: str,
    internship_id: str,
    update: Any,
    *,
    principal: Principal,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> InternshipView:
    """Apply ``update(internship) -> (new internship | None when unchanged, events builder)`` and store it."""
    for _ in range(MAX_ATTEMPTS):
        stored, internships, _m = store.partition(intake_id)
        case = access.writable(stored, principal, store, now)
        old = next((i for i in internships if i.internship_id == internship_id), None)
        if old is None:
            raise NotFoundError("internship")
        new = update(old)
        if new is None:
            return _view(old, store)
        new = new.model_copy(update={"revision": old.revision + 1, "updated_at": now})
        outgoing = [events.internship_started(case, new, correlation_id)]
        if new.ended:
            outgoing.append(events.internship_ended(case, new, correlation_id))
        others = [i for i in internships if i.internship_id != internship_id]
        try:
            _save(case, new, others, outgoing, store=store, correlation_id=correlation_id, now=now)
        except StaleCaseError:
            if store.get_company(new.company_id) is None:
                raise DomainValidationError([UNKNOWN_COMPANY]) from None
            continue
        access.audit("update", principal, [intake_id], now)
        return _view(new, store)
    raise ConflictError("Die Begleitung wurde gleichzeitig geändert. Bitte erneut versuchen.")


def patch_internship(
    intake_id: str,
    internship_id: str,
    patch: InternshipPatch,
    *,
    principal: Principal,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> InternshipView:
    """Change the given fields (``null`` clears the end, the learning task, the contact person)."""
    changes = patch.model_dump(mode="json", exclude_unset=True)
    required = [
        k
        for k, v in changes.items()
        if v is None and k not in ("end_date", "learning_task", "contact_person")
    ]
    if required:
        raise DomainValidationError(
            [FieldError(field=k, message="Darf nicht leer sein.") for k in sorted(required)]
        )
    if "company_id" in changes:
        _check_company(store, changes["company_id"])

    def update(old: Internship) -> Internship | None:
        merged = _merged(old, changes)
        if old.ended and merged.end_date is None:
            raise DomainValidationError(
                [FieldError(field="end_date", message="Ein beendetes Praktikum braucht sein Ende.")]
            )
        new = old.model_copy(update=merged.model_dump())
        return None if new == old else new

    return _change(
        intake_id,
        internship_id,
        update,
        principal=principal,
        store=store,
        correlation_id=correlation_id,
        now=now,
    )


def end_internship(
    intake_id: str,
    internship_id: str,
    body: InternshipEndIn,
    *,
    principal: Principal,
    store: CaseworkStore,
    correlation_id: str,
    now: datetime,
) -> InternshipView:
    """End the internship (again with other data: a correction). The same end again changes nothing."""

    def update(old: Internship) -> Internship | None:
        if body.end_date < old.start_date:
            raise DomainValidationError(
                [FieldError(field="end_date", message="Der letzte Tag liegt vor dem Beginn des Praktikums.")]
            )
        new = old.model_copy(update={**body.model_dump(), "ended": True})
        return None if new == old else new

    return _change(
        intake_id,
        internship_id,
        update,
        principal=principal,
        store=store,
        correlation_id=correlation_id,
        now=now,
    )
