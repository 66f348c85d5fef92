"""The company directory (Betriebe) the office keeps and companions add to while entering an internship:
company data only, never a student."""

from __future__ import annotations

from datetime import datetime

from pydantic import ValidationError
from ulid import ULID

from common.errors import DomainValidationError, FieldError, NotFoundError
from services.casework.dal.store import CaseworkStore, StaleCaseError
from services.casework.models.casework import Company, CompanyIn, CompanyPatch

MAX_RESULTS = 50


def search(
    store: CaseworkStore, *, q: str | None, sector: str | None, limit: int = MAX_RESULTS
) -> list[Company]:
    """Companies whose name or town contains ``q`` (any case), of ``sector``; by name."""
    needle = (q or "").strip().casefold()
    found = [
        c
        for c in store.all_companies()
        if (not needle or needle in c.name.casefold() or needle in c.town.casefold())
        and (sector is None or c.sector == sector)
    ]
    return sorted(found, key=lambda c: (c.name.casefold(), c.town.casefold(), c.company_id))[:limit]


def create(store: CaseworkStore, body: CompanyIn, *, now: datetime) -> Company:
    """A new company; the same name in the same town is refused (pick it instead)."""
    key = (body.name.casefold(), body.town.casefold())
    if any((c.name.casefold(), c.town.casefold()) == key for c in store.all_companies()):
        raise DomainValidationError(
            [FieldError(field="name", message="Diesen Betrieb gibt es in diesem Ort schon: bitte auswählen.")]
        )
    company = Company(
        **body.model_dump(), company_id=str(ULID.from_datetime(now)), created_at=now, updated_at=now
    )
    store.put_company(company, new=True)
    return company


def patch(store: CaseworkStore, company_id: str, body: CompanyPatch, *, now: datetime) -> Company:
    old = store.get_company(company_id)
    if old is None:
        raise NotFoundError(company_id)
    changes = body.model_dump(exclude_unset=True)
    required = [k for k in ("name", "town", "sector") if k in changes and changes[k] is None]
    if required:
        raise DomainValidationError([FieldError(field=k, message="Darf nicht leer sein.") for k in required])
    try:
        merged = CompanyIn.model_validate({**old.model_dump(include=set(CompanyIn.model_fields)), **changes})
    except ValidationError:  # pragma: no cover - every field was validated on its own
        raise DomainValidationError([FieldError(field="body", message="Ungültiger Wert.")]) from None
    new = Company(**merged.model_dump(), company_id=company_id, created_at=old.created_at, updated_at=now)
    try:
        store.put_company(new, new=False)
    except StaleCaseError:
        raise NotFoundError(company_id) from None
    return new
