"""The assignment cost model of the matching service (pure: no I/O, no boto3).

A student may only go to a companion that passes every **hard rule**; among those, the
**soft criteria** add non-negative cost components and the cheapest companion wins. The
same model drives the online assignment (``choose.rank``) and the whole-pool rebalance
(``flow_solver.plan``), and every assignment stores its :class:`Explanation` (criterion →
cost) so the office can read why a companion was chosen (``GET /assignments/{intake_id}``).

Hard rules (any violated → no cost, the pair is infeasible):

=================  =============================================================================
rule               meaning
=================  =============================================================================
``school``         the companion serves the student's school (``profile.school_id in companion.school_ids``)
``inactive``       the companion is active (``companion.active``) and, on the reference day, within
                   its active period (``active_from``/``active_until``) and not on leave
                   (``leave_periods``); reference day = the student's start date, else the ``day``
                   the caller passes (the online assignment passes the assignment day), else none
``capacity``       the companion has a free slot (``used < capacity``); switched off in the
                   rebalance, where capacity is a constraint of the flow network instead
``consent``        the student's consent is present (``profile.consent_present``)
=================  =============================================================================

Soft criteria: see :class:`Weights`. Every component is rounded to 6 decimals and
``Explanation.total == round(sum(components), 6)``. For the integer min-cost flow, costs
are converted with :func:`to_units` (``COST_SCALE`` units per cost point) — always per
component, so online ranking, rebalance and tests use the same integers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Any

from pydantic import ConfigDict, Field

from common.model import Model
from contracts.events import StudentProfile
from contracts.reference import MATCHING_CRITERIA_LABELS, school_year_bounds
from services.matching.models.matching import Companion

COST_SCALE = 10_000
"""Integer cost units per cost point (min-cost flow needs integer costs): 1.0 → 10,000 units."""

PRECISION = 6
"""Decimals every cost component is rounded to."""

HOME_LANGUAGE = "de"
"""Parent contact in German needs no matching companion language."""

CRITERIA = tuple(MATCHING_CRITERIA_LABELS)
"""Soft criteria, in the order explanations list them."""

CRITERIA_LABELS = MATCHING_CRITERIA_LABELS
"""German labels of the criteria for people (declared in ``contracts.reference``: the companions' page shows
them too)."""


class Weights(Model):
    """Weights of the soft criteria — the one documented config of the matching model.

    Each criterion contributes ``weight × factor`` with a factor in [0, 1]; the total cost
    is the sum (lower is better). A weight of 0 switches a criterion off.

    ===================  =======  ==================================================  =====
    weight               default  factor (unit)                                       why
    ===================  =======  ==================================================  =====
    continuity           3.0      1 if ``previous_companion_id`` is another           (a)
                                  companion (0/1)
    class_cohesion       2.0      share of the student's assigned classmates (same    (b)
                                  school + class) with *another* companion (0..1)
    parent_language      2.0      1 if the parent-contact language is not German      (c)
                                  and the companion does not speak it (0/1)
    career_fields        1.5      share of the student's career fields the            (d)
                                  companion has no expertise in (0..1)
    gender_preference    1.0      1 if a stated preferred companion gender differs    (e)
                                  from the companion's (0/1)
    load_balance         1.0      load share before the assignment,                   (f)
                                  ``used / capacity`` (0..1)
    move_penalty         2.5      1 per student the rebalance moves away from their   (g)
                                  current companion (0/1; rebalance only)
    ===================  =======  ==================================================  =====

    Why: (a) the relationship built in an earlier year is the strongest asset of the
    support; (b) one companion per class means one contact for the teachers, group
    appointments and fewer school visits; (c) parent work is central in AV dual — without a
    shared language every contact needs an interpreter; (d) the companion's employer network
    finds internships in those fields; (e) a stated wish of the young person, honoured when
    possible but not at any price; (f) spreads students evenly — lowest weight, so it mostly
    breaks near-ties; (g) a move breaks an existing relationship, so the rebalance moves a
    student only for a larger gain.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    continuity: float = Field(default=3.0, ge=0, description="Previous companion differs (binary)")
    class_cohesion: float = Field(default=2.0, ge=0, description="Share of classmates with another companion")
    parent_language: float = Field(
        default=2.0, ge=0, description="Parent-contact language not spoken (binary)"
    )
    career_fields: float = Field(default=1.5, ge=0, description="Share of career fields without expertise")
    gender_preference: float = Field(
        default=1.0, ge=0, description="Stated gender preference not met (binary)"
    )
    load_balance: float = Field(default=1.0, ge=0, description="Companion load share used/capacity")
    move_penalty: float = Field(default=2.5, ge=0, description="Rebalance: moving an existing assignment")


DEFAULT_WEIGHTS = Weights()

ClassKey = tuple[str, str]
"""``(school_id, class_name)``."""


@dataclass(frozen=True)
class Context:
    """What the cost of one pair depends on beyond the student and the companion.

    ``class_counts[(school_id, class_name)]`` counts the currently assigned students of that
    class per companion id (build it with :func:`context_from`, or :func:`class_context` for one class).
    """

    class_counts: Mapping[ClassKey, Counter[str]] = field(default_factory=dict)


EMPTY_CONTEXT = Context()


def class_context(school_id: str, class_name: str, companion_ids: Iterable[str]) -> Context:
    """Context of one class from the companion ids of its currently assigned students."""
    return Context({(school_id, class_name): Counter(companion_ids)})


def context_from(assigned: Iterable[tuple[StudentProfile, str]]) -> Context:
    """Context from ``(profile, companion_id)`` pairs of the currently assigned students."""
    counts: dict[ClassKey, Counter[str]] = {}
    for profile, companion_id in assigned:
        counts.setdefault((profile.school_id, profile.class_name), Counter())[companion_id] += 1
    return Context(counts)


@dataclass(frozen=True)
class Explanation:
    """Cost of one student–companion pair: criterion → cost, and their sum."""

    components: dict[str, float]
    total: float

    @classmethod
    def of(cls, components: Mapping[str, float]) -> Explanation:
        comps = {k: round(float(v), PRECISION) for k, v in components.items()}
        return cls(comps, round(sum(comps.values()), PRECISION))

    @property
    def units(self) -> int:
        """Total in integer cost units (sum of the per-component units)."""
        return sum(to_units(v) for v in self.components.values())


def to_units(value: float) -> int:
    """Cost points → integer units for the min-cost flow (``COST_SCALE`` per point)."""
    return round(value * COST_SCALE)


def on_leave(companion: Companion, day: date | None) -> bool:
    """True if ``day`` falls in one of the companion's leave periods or outside its active period.

    ``leave_periods``: iterable of ``LeavePeriod`` or ``(start, end)`` dates, both inclusive;
    ``active_from`` / ``active_until`` (optional, inclusive) bound the working period.
    """
    if day is None:
        return False
    active_from = getattr(companion, "active_from", None)
    active_until = getattr(companion, "active_until", None)
    if (active_from is not None and day < active_from) or (active_until is not None and day > active_until):
        return True
    periods: Any = getattr(companion, "leave_periods", None) or ()
    for period in periods:
        start, end = (period.start, period.end) if hasattr(period, "start") else period
        if start <= day <= end:
            return True
    return False


@cache
def _year_start(school_year: str) -> date:
    return school_year_bounds(school_year)[0]


def start_day(profile: StudentProfile, today: date) -> date:
    """The day an assignment made ``today`` starts, the reference day of the leave / active-period rule: the
    student's start date (without one: 1 August of the school year), but never a day already past."""
    return max(profile.start_date or _year_start(profile.school_year), today)


def violations(
    profile: StudentProfile, companion: Companion, *, check_capacity: bool = True, day: date | None = None
) -> list[str]:
    """Hard rules the pair violates (empty = feasible).

    Names: ``consent``, ``school``, ``inactive`` (inactive, on leave or outside the active period on
    the reference day ``day``, without one on ``profile.start_date``), ``capacity``.
    """
    out = []
    if not profile.consent_present:
        out.append("consent")
    if profile.school_id not in companion.school_ids:
        out.append("school")
    if not companion.active or on_leave(companion, day if day is not None else profile.start_date):
        out.append("inactive")
    if check_capacity and companion.used >= companion.capacity:
        out.append("capacity")
    return out


def feasible(
    profile: StudentProfile, companion: Companion, *, check_capacity: bool = True, day: date | None = None
) -> bool:
    return not violations(profile, companion, check_capacity=check_capacity, day=day)


def kept_violations(
    profile: StudentProfile, companion: Companion, *, starts_on: date | None, today: date
) -> list[str]:
    """Hard rules an **existing** assignment to ``companion`` breaks as of ``today`` (the invariant of
    docs/matching.md, "Invarianten"): the companion serves the school, the consent is present, the companion
    is active and its active period has not ended (``active_until`` ≥ today); and — while the assignment has
    not started yet (``starts_on`` ≥ today) — the companion is within its active period and not on leave on
    ``starts_on``. A leave after the start is bridged by a substitute and breaks nothing; capacity is the
    counter's business. ``starts_on=None`` (unknown): taken as begun. Same names as :func:`violations`."""
    out = []
    if not profile.consent_present:
        out.append("consent")
    if profile.school_id not in companion.school_ids:
        out.append("school")
    ended = companion.active_until is not None and today > companion.active_until
    pending = starts_on is not None and starts_on >= today
    if not companion.active or ended or (pending and on_leave(companion, starts_on)):
        out.append("inactive")
    return out


RULE_LABELS: dict[str, str] = {
    "consent": "Einwilligung fehlt",
    "school": "betreut die Schule nicht",
    "inactive": "nicht aktiv, abwesend oder außerhalb des Tätigkeitszeitraums",
    "capacity": "kein freier Platz",
}
"""German wording of the hard rules (:func:`violations`) for people."""


def cohesion_share(
    profile: StudentProfile, companion_id: str, context: Context, current_companion_id: str | None = None
) -> float:
    """Share of the student's assigned classmates that are with a companion other than ``companion_id``.

    ``current_companion_id``: the student is already counted in ``context`` at this companion
    (rebalance) and is not their own classmate, so one is subtracted there.
    """
    counts = context.class_counts.get((profile.school_id, profile.class_name))
    if not counts:
        return 0.0
    total = sum(counts.values())
    here = counts.get(companion_id, 0)
    if current_companion_id is not None and counts.get(current_companion_id, 0) > 0:
        total -= 1
        if current_companion_id == companion_id:
            here -= 1
    return (total - here) / total if total > 0 else 0.0


def components(
    profile: StudentProfile,
    companion: Companion,
    context: Context = EMPTY_CONTEXT,
    weights: Weights = DEFAULT_WEIGHTS,
    *,
    current_companion_id: str | None = None,
    load_share: float | None = None,
) -> dict[str, float]:
    """The soft cost components (ignoring hard rules), each ``weight × factor``, rounded.

    ``load_share`` overrides ``used / capacity`` (the rebalance attributes load differently).
    """
    prev = profile.previous_companion_id
    continuity = 1.0 if prev is not None and prev != companion.companion_id else 0.0
    cohesion = cohesion_share(profile, companion.companion_id, context, current_companion_id)
    wanted = set(profile.career_fields)
    missing = len(wanted - set(companion.career_fields)) / len(wanted) if wanted else 0.0
    lang = profile.parent_contact_language
    language = 1.0 if lang and lang != HOME_LANGUAGE and lang not in companion.languages else 0.0
    pref = profile.preferred_companion_gender
    gender = 1.0 if pref is not None and pref != "keine_angabe" and pref != companion.gender else 0.0
    if load_share is None:
        load_share = companion.used / companion.capacity if companion.capacity > 0 else 1.0
    raw = {
        "continuity": weights.continuity * continuity,
        "class_cohesion": weights.class_cohesion * cohesion,
        "career_fields": weights.career_fields * missing,
        "parent_language": weights.parent_language * language,
        "gender_preference": weights.gender_preference * gender,
        "load_balance": weights.load_balance * load_share,
    }
    return {k: round(v, PRECISION) for k, v in raw.items()}


def cost(
    profile: StudentProfile,
    companion: Companion,
    context: Context | None = None,
    weights: Weights | None = None,
    *,
    current_companion_id: str | None = None,
    check_capacity: bool = True,
    day: date | None = None,
) -> Explanation | None:
    """Cost of assigning ``profile`` to ``companion``; ``None`` if a hard rule forbids it.

    ``components`` holds every criterion of :data:`CRITERIA` (zeros included) and
    ``total == round(sum(components), 6)``.
    """
    if violations(profile, companion, check_capacity=check_capacity, day=day):
        return None
    return Explanation.of(
        components(
            profile,
            companion,
            context or EMPTY_CONTEXT,
            weights or DEFAULT_WEIGHTS,
            current_companion_id=current_companion_id,
        )
    )
