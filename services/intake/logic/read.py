"""Use cases: read one intake, list intakes (filtered by school year and status, paginated)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from common.auth import ForbiddenError, Principal
from common.errors import DomainValidationError, FieldError
from contracts.calendar import local_date
from contracts.reference import school_year_of
from services.intake.dal.intakes import IntakeRepository, index_key_names
from services.intake.dal.paging import InvalidCursorError
from services.intake.logic import access
from services.intake.models.intake import IntakePage, IntakeStatus, IntakeSummary, IntakeView

_BAD_CURSOR = DomainValidationError([FieldError(field="cursor", message="Ungültiger Seitenzeiger.")])


def get_intake(intake_id: str, *, principal: Principal, repo: IntakeRepository, now: datetime) -> IntakeView:
    record = access.load_readable(intake_id, principal, repo, now)
    access.audit("read", principal, [record.intake_id], now)
    return access.view(record, principal)


def encode_cursor(index: str, key: dict[str, Any]) -> str:
    raw = json.dumps({"i": index, "k": key}, separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, index: str, pk: str, pk_value: str) -> dict[str, Any]:
    """The start key in ``cursor``; it must belong to the same index partition (no peeking elsewhere)."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise _BAD_CURSOR from None
    names = index_key_names(index)
    if (
        not isinstance(data, dict)
        or data.get("i") != index
        or not isinstance(data.get("k"), dict)
        or set(data["k"]) != set(names)
        or not all(isinstance(v, str) for v in data["k"].values())
        or data["k"][pk] != pk_value
    ):
        raise _BAD_CURSOR
    return dict(data["k"])


def _scope(principal: Principal, school_id: str | None) -> tuple[str, str, str]:
    """(index, partition key attribute, partition value) the caller may list."""
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
) -> IntakePage:
    year = school_year or school_year_of(local_date(now))
    index, pk, pk_value = _scope(principal, school_id)
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
    start = decode_cursor(cursor, index, pk, pk_value) if cursor else None
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
        raise _BAD_CURSOR from None
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
            submitted_at=r.submitted_at,
        )
        for r in records
    ]
    access.audit("list", principal, [i.intake_id for i in items], now)
    next_cursor = encode_cursor(index, {k: str(v) for k, v in lek.items()}) if lek else None
    return IntakePage(items=items, next_cursor=next_cursor)
