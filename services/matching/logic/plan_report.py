"""A plan's moves for people: one row per move (:class:`MoveOut`) with the cost explanation of the new
assignment and a German sentence why — who makes room for whom (the chain of moves), which rule the old
companion no longer meets, how long a student waited. Pure: no I/O."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from contracts.calendar import whole_days
from services.matching.logic import cost as cm
from services.matching.models.matching import Assignment, Companion, MoveOut

if TYPE_CHECKING:
    from services.matching.logic import flow_solver


def short(intake_id: str) -> str:
    """How the office's pages refer to a student without a name: the tail of the intake id."""
    return "…" + intake_id[-6:]


def _room_makers(
    moves: Sequence[flow_solver.Move], companions: Mapping[str, Companion]
) -> dict[str, flow_solver.Move]:
    """Which incoming move each outgoing move makes room for: at every companion the arrivals beyond its free
    places are paired, in order, with the departures (intake id of the departing student → arriving move)."""
    arriving: dict[str, list[flow_solver.Move]] = defaultdict(list)
    leaving: dict[str, list[flow_solver.Move]] = defaultdict(list)
    for m in sorted(moves, key=lambda m: m.intake_id):
        if m.to_companion_id is not None:
            arriving[m.to_companion_id].append(m)
        if m.from_companion_id is not None:
            leaving[m.from_companion_id].append(m)
    out: dict[str, flow_solver.Move] = {}
    for cid, ins in arriving.items():
        c = companions.get(cid)
        free = max(0, c.capacity - c.used) if c is not None else 0
        for arrival, departure in zip(ins[free:], leaving.get(cid, []), strict=False):
            out[departure.intake_id] = arrival
    return out


def _broken(s: flow_solver.StudentState | None, c: Companion | None, today: date | None) -> str | None:
    """The rules the student's current assignment breaks (German), if any."""
    if s is None or c is None or today is None:
        return None
    rules = cm.kept_violations(s.profile, c, starts_on=s.starts_on, today=today)
    return ", ".join(cm.RULE_LABELS[r] for r in rules) or None


def _why(
    m: flow_solver.Move,
    record: Assignment,
    broken: str | None,
    makes_room_for: flow_solver.Move | None,
    over_capacity: bool,
    at: datetime | None,
    penalty: float,
) -> str:
    if m.from_companion_id is None:
        waited = whole_days(record.submitted_at, at) if record.submitted_at and at else None
        return "Von der Warteliste" + (f" (wartet seit {waited} Tagen)" if waited is not None else "") + "."
    if broken:
        head = f"{m.from_companion_id} kann die Zuordnung nicht behalten: {broken}"
    elif over_capacity:
        head = f"Kapazität von {m.from_companion_id} unter der Belegung"
    elif makes_room_for is not None:
        whom = "eine wartende Person" if makes_room_for.from_companion_id is None else "einen Wechsel"
        head = f"Macht bei {m.from_companion_id} Platz für {whom} ({short(makes_room_for.intake_id)})"
    else:
        saved = -(m.cost_change + penalty)
        return (
            f"Kostenersparnis {-m.cost_change:.2f} (nach Wechselstrafe {penalty:.2f}: {saved:.2f})".replace(
                ".", ","
            )
        )
    if m.to_companion_id is None:
        return head + "; keine passende Begleitung hat Platz: zurück auf die Warteliste."
    return head + f"; wechselt zu {m.to_companion_id}."


def move_outs(
    plan: flow_solver.Plan,
    moves: Sequence[flow_solver.Move],
    records: Mapping[str, Assignment],
    companions: Sequence[Companion],
    *,
    students: Sequence[flow_solver.StudentState] = (),
    today: date | None = None,
    at: datetime | None = None,
    penalty: float = 0.0,
) -> list[MoveOut]:
    """``moves`` of ``plan`` as rows for people (in the order given). ``companions`` as the plan saw them
    (after a registry change: the changed entry), ``students`` the plan's view (for the rules an assignment
    breaks), ``penalty`` the cost of one move in this plan (rebalance: continuity)."""
    comps = {c.companion_id: c for c in companions}
    states = {s.intake_id: s for s in students}
    makers = _room_makers(moves, comps)
    out = []
    for m in moves:
        rec = records[m.intake_id]
        assert rec.profile is not None
        source = comps.get(m.from_companion_id or "")
        expl = plan.explanations.get(m.intake_id) if m.to_companion_id is not None else None
        why = _why(
            m,
            rec,
            _broken(states.get(m.intake_id), source, today),
            makers.get(m.intake_id),
            source is not None and source.used > source.capacity,
            at,
            penalty,
        )
        out.append(
            MoveOut(
                intake_id=m.intake_id,
                school_id=rec.profile.school_id,
                class_name=rec.profile.class_name,
                from_companion_id=m.from_companion_id,
                to_companion_id=m.to_companion_id,
                cost_before=m.cost_before,
                cost_after=m.cost_after,
                cost_change=m.cost_change,
                explanation=dict(expl.components) if expl else {},
                why=why,
            )
        )
    return out
