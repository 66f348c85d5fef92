"""Pure projection rules: which fact moves a student to which status, and the counter deltas.

Order tolerance: a fact older than (or as old as) the newest applied one is ignored;
``withdrawn`` is terminal. Idempotency: applying the same fact twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from services.reporting.models.aggregates import Projection, Status


def school_counter(school_id: str, status: str) -> str:
    return f"school#{school_id}#{status}"


def companion_counter(companion_id: str) -> str:
    return f"companion#{companion_id}#assigned"


def apply(current: Projection | None, *, intake_id: str, school_id: str, school_year: str, status: Status,
          companion_id: str | None, occurred_at: datetime) -> tuple[Projection, Counter[str]] | None:
    """New projection and counter deltas, or None when the fact changes nothing."""
    if current is not None:
        if current.status == "withdrawn" or occurred_at <= current.as_of:
            return None
    new = Projection(intake_id=intake_id, school_id=school_id, school_year=school_year, status=status,
                     companion_id=companion_id if status == "assigned" else None, as_of=occurred_at)
    deltas: Counter[str] = Counter()
    if current is None:
        deltas[school_counter(school_id, "intakes")] += 1
    else:
        deltas[school_counter(current.school_id, current.status)] -= 1
        if current.companion_id:
            deltas[companion_counter(current.companion_id)] -= 1
    deltas[school_counter(school_id, status)] += 1
    if new.companion_id:
        deltas[companion_counter(new.companion_id)] += 1
    return new, Counter({k: v for k, v in deltas.items() if v})
