"""Read access of a substitute: during a leave with a substitute (``LeavePeriod.substitute_id``) the
substitute reads the companion's students' assignments, read-only (docs/adr/0022-casework.md)."""

from __future__ import annotations

from datetime import datetime

from contracts.calendar import local_date
from services.matching.dal.store import MatchingStore


def read_scope(
    companion_scope: str | None, companion_id: str | None, *, store: MatchingStore, now: datetime
) -> str | None:
    """The scope a read of a student of ``companion_id`` runs under: the caller's own (``companion_scope``;
    ``None`` = the office) — or ``companion_id`` when the caller substitutes for that companion today."""
    if companion_scope is None or companion_id is None or companion_id == companion_scope:
        return companion_scope
    c = store.get_companion(companion_id)
    today = local_date(now)
    if c is not None and any(
        p.substitute_id == companion_scope and p.start <= today <= p.end for p in c.leave_periods
    ):
        return companion_id
    return companion_scope
