"""Pure candidate ranking for the online assignment (no I/O).

Hard rules and soft criteria come from :mod:`services.matching.logic.cost`: a companion is a
candidate if it serves the student's school, is active (not on leave on the start date), has
free capacity and the student's consent is present. Candidates are sorted by total cost,
ties broken by ``companion_id`` so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from contracts.events import StudentProfile, WaitlistReason
from services.matching.logic import cost as cost_model
from services.matching.logic.cost import Context, Weights
from services.matching.models.matching import Companion


@dataclass(frozen=True)
class Candidate:
    companion: Companion
    cost: float
    explanation: dict[str, float]


def eligible(profile: StudentProfile, companion: Companion, day: date | None = None) -> bool:
    """All hard rules hold (school, active on the start date / ``day``, free capacity, consent)."""
    return cost_model.feasible(profile, companion, day=day)


def rank(
    profile: StudentProfile,
    companions: Iterable[Companion],
    context: Context | None = None,
    weights: Weights | None = None,
    day: date | None = None,
) -> list[Candidate]:
    """Eligible companions, best (cheapest) first; ties by ``companion_id``.

    ``cost`` is the explanation's total and ``explanation`` its criterion → cost mapping
    (they sum to ``cost``). Without ``context`` class cohesion contributes nothing. ``day`` is the
    reference day of the leave check when the profile has no start date.
    """
    out = []
    for c in companions:
        expl = cost_model.cost(profile, c, context, weights, day=day)
        if expl is not None:
            out.append((expl.total, c.companion_id, Candidate(c, expl.total, dict(expl.components))))
    out.sort(key=lambda t: (t[0], t[1]))
    return [cand for _, _, cand in out]


def waitlist_reason(
    profile: StudentProfile, companions: Iterable[Companion], day: date | None = None
) -> WaitlistReason:
    """Why nobody fits.

    One of ``no_consent``, ``no_companion_for_school``, ``no_active_companion``, ``no_capacity``.
    """
    if not profile.consent_present:
        return "no_consent"
    serving = [c for c in companions if profile.school_id in c.school_ids]
    if not serving:
        return "no_companion_for_school"
    if not any(
        "inactive" not in cost_model.violations(profile, c, check_capacity=False, day=day) for c in serving
    ):
        return "no_active_companion"
    return "no_capacity"
