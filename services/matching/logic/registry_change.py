"""What a registry change does to the students (pure: no I/O).

A change of a companion's entry — schools removed, capacity below the caseload, a leave or the end of the
activity — can leave students with a companion who may no longer have them (the invariant of
docs/matching.md, "Invarianten"). The change is therefore planned as two parts:

* **required** moves (:func:`plan_change`, ``required``): the component of the companion's old and new
  schools planned under the *new* entry, without the waiting students, with the prohibitive move penalty —
  only the students the change breaks move (to the best companion that may have them, or back to the
  waitlist when nobody has room) plus, where needed, the fewest others that make room for them; continuity
  first: everyone else stays. They are written in one transaction with the change itself.
* **placements** (``placements``): the re-solve after the change (:mod:`resolve`) — waiting students who
  get a place the change opened (a capacity raise, a school added, a leave ended), with the chain of moves
  that lets them in.

Students who would go back to the waitlist are named; applying such a change needs the office's
confirmation (``allow_waitlist``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from services.matching.logic import cost as cm
from services.matching.logic.resolve import MAKE_ROOM_WEIGHTS, component
from services.matching.models.matching import Assignment, Companion

if TYPE_CHECKING:
    from services.matching.logic import flow_solver


@dataclass(frozen=True)
class ChangePlan:
    """The two parts of a registry change (see module docstring), each a plan with the moves of its part."""

    companions: list[Companion]
    """The component's companions with the changed entry (as the required part sees them)."""
    records: dict[str, Assignment]
    students: list[flow_solver.StudentState]
    required: flow_solver.Plan
    placements: flow_solver.Plan
    after_required: list[Companion]
    """The companions once the required moves are made (counters), as the placements see them."""
    notes: list[str] = field(default_factory=list)

    @property
    def to_waitlist(self) -> list[str]:
        return sorted(m.intake_id for m in self.required.moves if m.to_companion_id is None)


def changed_fields(before: Companion | None, after: Mapping[str, Any]) -> list[str]:
    """Registry fields whose value differs (``after``: JSON-mode values; a new companion: all of them)."""
    fields = {k: v for k, v in after.items() if k not in _NOT_REGISTRY}
    if before is None:
        return sorted(fields)
    old = before.model_dump(mode="json", exclude=set(_NOT_REGISTRY))
    return sorted(k for k, v in fields.items() if old.get(k) != v)


#: Companion attributes that are not registry fields (the key and what matching keeps itself).
_NOT_REGISTRY = frozenset({"companion_id", "used", "revision", "version"})


def _apply_moves(
    students: Sequence[flow_solver.StudentState], plan: flow_solver.Plan, today: date
) -> list[flow_solver.StudentState]:
    """The students as they are once ``plan``'s moves are made."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    out = []
    for s in students:
        to = plan.assignment.get(s.intake_id, s.companion_id)
        if to == s.companion_id:
            out.append(s)
        else:
            starts_on = cm.start_day(s.profile, today) if to is not None else None
            out.append(flow_solver.StudentState(s.intake_id, s.profile, to, s.submitted_at, starts_on))
    return out


def _counted(
    companions: Sequence[Companion], students: Sequence[flow_solver.StudentState]
) -> list[Companion]:
    load: dict[str, int] = {}
    for s in students:
        if s.companion_id is not None:
            load[s.companion_id] = load.get(s.companion_id, 0) + 1
    return [c.model_copy(update={"used": load.get(c.companion_id, 0)}) for c in companions]


def _notes(
    before: Companion | None, after: Companion, students: Sequence[flow_solver.StudentState], today: date
) -> list[str]:
    """German remarks on what the change does *not* do at once."""
    mine = [s for s in students if s.companion_id == after.companion_id]
    notes = []
    on_leave_now = cm.on_leave(after, today) and not (before is not None and cm.on_leave(before, today))
    staying = [s for s in mine if s.starts_on is not None and s.starts_on < today]
    if on_leave_now and staying:
        notes.append(
            f"{len(staying)} Schüler/innen, deren Begleitung schon begonnen hat, bleiben während der "
            f"Abwesenheit bei {after.companion_id} (Vertretung regeln oder einzeln übergeben)."
        )
    if after.active and after.active_until is not None and after.active_until >= today and mine:
        notes.append(
            f"Ab {(after.active_until + timedelta(days=1)).strftime('%d.%m.%Y')} kann {after.companion_id} "
            f"niemanden mehr begleiten: {len(mine)} Schüler/innen wechseln dann beim täglichen Abgleich "
            "(oder vorher einzeln übergeben)."
        )
    return notes


def plan_change(
    before: Companion | None,
    after: Companion,
    companions: Sequence[Companion],
    records: Mapping[str, Assignment],
    *,
    students: Sequence[flow_solver.StudentState],
    today: date,
) -> ChangePlan:
    """Plan replacing ``before`` (``None``: new) by ``after`` (its counter and revision as stored) among
    ``companions`` (the whole registry, as read), for the assigned and waiting ``students`` of the schools
    concerned (``records`` their records)."""
    from services.matching.logic import flow_solver  # numpy and the solver only when a plan is made

    registry = [c for c in companions if c.companion_id != after.companion_id] + [after]
    old_schools = set(before.school_ids) if before else set()
    _, comps = component(old_schools | set(after.school_ids), registry)
    assigned = [s for s in students if s.companion_id is not None]
    required = flow_solver.plan(assigned, comps, MAKE_ROOM_WEIGHTS, today)
    moved = _apply_moves(students, required, today)
    after_required = _counted(comps, moved)
    placements = flow_solver.plan(moved, after_required, MAKE_ROOM_WEIGHTS, today)
    return ChangePlan(
        companions=comps,
        records=dict(records),
        students=list(students),
        required=required,
        placements=placements,
        after_required=after_required,
        notes=_notes(before, after, students, today),
    )
