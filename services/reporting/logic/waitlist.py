"""The internal waitlist: who waits since when, longest first, by a pseudonymous reference (the tail of
the intake id). Read by the weekly report (``logic.figures``), the office alerts (``logic.alerts``) and the
erasure in stored reports (``logic.redact``); apart from the report figures so that the alerts and the
erasure do not carry the chart and suppression libraries (docs/adr/0024-dependency-layers-per-function.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contracts.calendar import whole_days
from services.reporting.logic.labels import SCHOOLS, WAITLIST_REASONS
from services.reporting.logic.periods import LONG_WAIT_DAYS, local
from services.reporting.models.aggregates import WaitlistItem

#: The XLSX sheet that lists students (pseudonymously); erasure removes their rows there.
XLSX_WAITLIST_SHEET = "Warteliste"


def ref_of(intake_id: str) -> str:
    """Pseudonymous reference shown in the internal list (the tail of the intake ULID)."""
    return "…" + intake_id[-8:]


def waitlist_rows(items: Sequence[WaitlistItem], as_of: datetime) -> list[dict[str, Any]]:
    """The internal waitlist: students waiting at ``as_of``, longest waiting first."""
    rows = []
    for w in items:
        since = w.waiting_at(as_of)
        if since is None:
            continue
        rows.append(
            {
                "ref": ref_of(w.intake_id),
                "intake_id": w.intake_id,
                "school": w.school_id,
                "school_name": SCHOOLS.get(w.school_id, w.school_id),
                "class_name": w.class_name or "–",
                "since": local(since).date(),
                "days": whole_days(since, as_of),
                "reason": WAITLIST_REASONS.get(w.reason or "", "–"),
            }
        )
    return sorted(rows, key=lambda r: (-r["days"], r["intake_id"]))


def long_waits(items: Sequence[WaitlistItem], at: datetime) -> int:
    return sum(1 for r in waitlist_rows(items, at) if r["days"] > LONG_WAIT_DAYS)
