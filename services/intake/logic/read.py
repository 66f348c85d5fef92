"""Use cases: read one intake, list intakes (filtered by school year and status, paginated)."""

from __future__ import annotations

from datetime import datetime

from common.auth import ForbiddenError, Principal
from common.cursor import decode_cursor, encode_cursor, invalid_cursor
from common.errors import DomainValidationError, FieldError, InvalidCursorError
from contracts.calendar import local_date
from contracts.reference import school_year_of
from services.intake.dal.intakes import IntakeRepository, index_key_names
from services.intake.logic import access
from services.intake.models.intake import IntakePage, IntakeStatus, IntakeSummary, IntakeView


def get_intake(intake_id: str, *, principal: Principal, repo: IntakeRepository, now: datetime) -> IntakeView:
    record = access.load_readable(intake_id, principal, repo, now)
    access.audit("read", principal, [record.intake_id], now)
    view = access.view(record, principal)
    if view.companion_id is None:
        return view
    return view.model_copy(
        update={"companion_name": repo.substitutions.names([view.companion_id]).get(view.companion_id)}
    )


def _start_key(cursor: str, index: str, pk: str, pk_value: str) -> dict[str, str]:
    """The start key in ``cursor``; it must belong to the same index partition (no peeking elsewhere)."""
    scope, key = decode_cursor(cursor, keys=index_key_names(index))
    if scope != index or key[pk] != pk_value:
        raise invalid_cursor()
    return key


def _scope(
    principal: Principal,
    school_id: str | None,
    companion_id: str | None,
    repo: IntakeRepository,
    now: datetime,
) -> tuple[str, str, str]:
    """(index, partition key attribute, partition value) the caller may list."""
    if companion_id is not None:
        own = companion_id == principal.companion_id
        if not (principal.is_office or own or access.substitutes(principal, companion_id, repo, now)):
            raise ForbiddenError("companion not allowed")
        return "by_companion", "companion_id", companion_id
    if school_id is not None:
        if not principal.may_access_school(school_id):
            raise ForbiddenError("school not allowed")
        return "by_school", "school_id", school_id
    if principal.is_office:
        return "by_year", "school_year", ""
    if len(principal.school_ids) == 1:
        return "by_school", "school_id", next(iter(principal.school_ids))
    if principal.school_ids:
        raise DomainValidationError([FieldError(field="school_id", message="Bitte eine Schule auswählen.")])
    if principal.companion_id:
        return "by_companion", "companion_id", principal.companion_id
    raise ForbiddenError("no scope")


def list_intakes(
    *,
    principal: Principal,
    school_year: str | None,
    status: IntakeStatus | None,
    school_id: str | None,
    limit: int,
    cursor: str | None,
    repo: IntakeRepository,
    now: datetime,
    companion_id: str | None = None,
) -> IntakePage:
    """One page of the intakes the caller may list: the office all (or one school's, one companion's), a
    school its own, a companion the own students or (``companion_id``) those of a colleague they substitute
    for today."""
    year = school_year or school_year_of(local_date(now))
    index, pk, pk_value = _scope(principal, school_id, companion_id, repo, now)
    filters: dict[str, str] = {}
    sk_prefix = None
    if index == "by_year":
        pk_value = year
    elif index == "by_school":
        sk_prefix = f"{year}#"
    else:
        filters["school_year"] = year
    if status:
        filters["status"] = status
    start = _start_key(cursor, index, pk, pk_value) if cursor else None
    try:
        records, lek = repo.query(
            index,
            pk_value,
            sk_prefix=sk_prefix,
            filters=filters,
            not_expired_at=int(now.timestamp()),
            limit=limit,
            start_key=start,
        )
    except InvalidCursorError:
        raise invalid_cursor() from None
    names = repo.substitutions.names(r.companion_id for r in records if r.companion_id)
    items = [
        IntakeSummary(
            intake_id=r.intake_id,
            school_id=r.school_id,
            school_year=r.school_year,
            class_name=r.class_name,
            given_name=r.student.given_name if r.student else None,
            family_name=r.student.family_name if r.student else None,
            status=r.status,
            companion_id=r.companion_id,
            companion_name=names.get(r.companion_id) if r.companion_id else None,
            submitted_at=r.submitted_at,
        )
        for r in records
    ]
    access.audit("list", principal, [i.intake_id for i in items], now)
    next_cursor = encode_cursor(index, lek) if lek else None
    return IntakePage(items=items, next_cursor=next_cursor)
