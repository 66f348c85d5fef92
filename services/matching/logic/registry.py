"""Companion registry use cases (office): create/replace, change, read. Changes emit ``CompanionUpdated``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from common.errors import DomainValidationError, FieldError, NotFoundError
from services.matching.dal.store import CapacityBelowUseError, MatchingStore
from services.matching.logic import events
from services.matching.models.matching import Companion, CompanionIn, CompanionPatch

#: Fields a PATCH may clear with ``null``; every other field needs a value.
CLEARABLE = frozenset({"active_from", "active_until"})


def _capacity_error(used: int) -> DomainValidationError:
    return DomainValidationError(
        [
            FieldError(
                field="capacity",
                message=f"Die Kapazität darf nicht unter der Zahl der aktuell zugeordneten "
                f"Schüler/innen ({used}) liegen. Erst Austritte erfassen oder umverteilen (Rebalance).",
            )
        ]
    )


def _save(
    companion_id: str,
    fields: dict[str, Any],
    after: Companion,
    before: Companion | None,
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> Companion:
    increased = before is None or after.capacity > before.capacity
    event = events.companion_updated(after, correlation_id, capacity_increased=increased, at=at)
    try:
        store.save_companion(fields, companion_id, events=[event])
    except CapacityBelowUseError as e:
        raise _capacity_error(e.used) from None
    saved = store.get_companion(companion_id)
    assert saved is not None
    return saved


def save_companion(
    body: CompanionIn, *, store: MatchingStore, correlation_id: str, at: datetime
) -> Companion:
    """Create or replace a companion (the live ``used`` counter is kept), as of ``at`` (the request time)."""
    before = store.get_companion(body.companion_id)
    used = before.used if before else 0
    if body.capacity < used:
        raise _capacity_error(used)
    fields = body.model_dump(mode="json", exclude={"companion_id"})
    after = Companion(**body.model_dump(), used=used)
    return _save(body.companion_id, fields, after, before, store=store, correlation_id=correlation_id, at=at)


def patch_companion(
    companion_id: str, patch: CompanionPatch, *, store: MatchingStore, correlation_id: str, at: datetime
) -> Companion:
    """Change only the given fields; ``NotFoundError`` for an unknown companion."""
    before = store.get_companion(companion_id)
    if before is None:
        raise NotFoundError(companion_id)
    changes = patch.model_dump(mode="json", exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k not in CLEARABLE]
    if nulls:
        raise DomainValidationError(
            [FieldError(field=k, message="Darf nicht leer sein.") for k in sorted(nulls)]
        )
    try:
        merged = CompanionIn.model_validate({**before.model_dump(mode="json", exclude={"used"}), **changes})
    except ValidationError as e:  # cross-field rules on the merged record (e.g. the active period)
        raise DomainValidationError(
            [
                FieldError(
                    field=".".join(str(p) for p in err["loc"]) or "body",
                    message=str((err.get("ctx") or {}).get("error") or "Ungültiger Wert."),
                )
                for err in e.errors()
            ]
        ) from None
    if merged.capacity < before.used:
        raise _capacity_error(before.used)
    after = Companion(**merged.model_dump(), used=before.used)
    return _save(companion_id, changes, after, before, store=store, correlation_id=correlation_id, at=at)


def get_companion(companion_id: str, *, store: MatchingStore) -> Companion:
    c = store.get_companion(companion_id)
    if c is None:
        raise NotFoundError(companion_id)
    return c
