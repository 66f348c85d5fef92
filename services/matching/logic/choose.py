"""Pure candidate ranking (no I/O).

Hard rules: the companion serves the student's school, is active, has free capacity, and
the student's consent is present. Ranking: least loaded first (``used / capacity``), ties
broken by ``companion_id`` so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from contracts.events import StudentProfile
from services.matching.models.matching import Companion


@dataclass(frozen=True)
class Candidate:
    companion: Companion
    cost: float
    explanation: dict[str, float]


def eligible(profile: StudentProfile, companion: Companion) -> bool:
    return (companion.active and profile.school_id in companion.school_ids
            and companion.used < companion.capacity and profile.consent_present)


def rank(profile: StudentProfile, companions: Iterable[Companion]) -> list[Candidate]:
    """Eligible companions, best first. ``cost`` = load share in [0, 1); ``explanation`` sums to ``cost``."""
    out = []
    for c in companions:
        if not eligible(profile, c):
            continue
        load = c.used / c.capacity
        out.append(Candidate(c, round(load, 6), {"load_balance": round(load, 6)}))
    return sorted(out, key=lambda k: (k.cost, k.companion.companion_id))


def waitlist_reason(profile: StudentProfile, companions: Iterable[Companion]) -> str:
    """Why nobody fits: ``no_consent`` / ``no_companion_for_school`` / ``no_active_companion`` / ``no_capacity``."""
    if not profile.consent_present:
        return "no_consent"
    serving = [c for c in companions if profile.school_id in c.school_ids]
    if not serving:
        return "no_companion_for_school"
    if not any(c.active for c in serving):
        return "no_active_companion"
    return "no_capacity"
