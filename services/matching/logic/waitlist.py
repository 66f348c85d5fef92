"""The waitlist view (``GET /waitlist``): per school, longest waiting first (the work-off order)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from contracts.calendar import whole_days
from services.matching.dal.store import MatchingStore
from services.matching.models.matching import WaitlistEntry


def waitlist(school_ids: Iterable[str], *, store: MatchingStore, at: datetime) -> list[WaitlistEntry]:
    """The waitlists of ``school_ids`` as of ``at`` (waiting days count to it)."""
    out: list[WaitlistEntry] = []
    for school in sorted(set(school_ids)):
        for pos, a in enumerate((w for w in store.waiting(school) if w.profile is not None), 1):
            assert a.profile is not None
            out.append(
                WaitlistEntry(
                    position=pos,
                    intake_id=a.intake_id,
                    school_id=school,
                    school_year=a.profile.school_year,
                    class_name=a.profile.class_name,
                    submitted_at=a.submitted_at,
                    waited_days=whole_days(a.submitted_at, at) if a.submitted_at else 0,
                    reason=a.waitlist_reason,
                )
            )
    return out
