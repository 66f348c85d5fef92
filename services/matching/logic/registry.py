"""Companion registry use cases (office): create/replace, change, read — applied through matching.

A change is planned first (:mod:`registry_change`): the students it breaks move to a companion who may have
them (``CompanionReassigned``) or, if nobody has room, back to the waitlist (``StudentWaitlisted``) — in the
same transaction as the change and its ``CompanionUpdated``, guarded by the counters, revisions and student
states the plan saw (a concurrent change makes it plan again). Then the re-solve (:mod:`resolve`) gives the
places the change opened to waiting students. ``dry_run`` returns the same answer without writing anything:
the office's preview. A change that would send students back to the waitlist is refused with their names
unless ``allow_waitlist``; an unchanged entry writes nothing and emits nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from common.errors import (
    ConflictError,
    DomainValidationError,
    FieldError,
    NotFoundError,
    merged_record_errors,
)
from contracts.calendar import local_date
from services.matching.dal.store import (
    MAX_TRANSACTION_ITEMS,
    CompanionWrite,
    MatchingStore,
    StaleStateError,
    StudentWrite,
)
from services.matching.logic import events
from services.matching.logic.apply_plan import companion_writes, moved_record
from services.matching.logic.plan_report import move_outs, short
from services.matching.logic.registry_change import ChangePlan, changed_fields, plan_change
from services.matching.logic.resolve import component, component_records, resolve, student_states
from services.matching.models.matching import (
    Companion,
    CompanionIn,
    CompanionPatch,
    CompanionSaved,
    MoveOut,
    RegistryChange,
)

#: Fields a PATCH may clear with ``null``; every other field needs a value.
CLEARABLE = frozenset({"active_from", "active_until"})

MAX_ATTEMPTS = 3
"""Plans made again after a concurrent change before the request answers 409."""


def _validated(data: dict[str, Any]) -> CompanionIn:
    """Cross-field rules on the merged entry (e.g. the active period) as per-field German errors."""
    try:
        return CompanionIn.model_validate(data)
    except ValidationError as e:
        raise merged_record_errors(e) from None


def _check_substitutes(companion: CompanionIn, store: MatchingStore) -> None:
    """Every substitute of a leave is a companion of the registry."""
    errors = [
        FieldError(
            field=f"leave_periods.{i}.substitute_id",
            message="Vertretung: keine Begleitung mit diesem Kürzel.",
        )
        for i, p in enumerate(companion.leave_periods)
        if p.substitute_id and store.get_companion(p.substitute_id) is None
    ]
    if errors:
        raise DomainValidationError(errors)


def _refusal(plan: ChangePlan) -> str:
    names = []
    for iid in plan.to_waitlist:
        p = plan.records[iid].profile
        names.append(f"{short(iid)} ({p.school_id}, {p.class_name})" if p else short(iid))
    return (
        f"Die Änderung ließe {len(names)} Schüler/innen ohne Begleitung (zurück auf die Warteliste): "
        + ", ".join(names)
        + ". Erst bei einer anderen Begleitung Platz schaffen oder die Änderung ausdrücklich bestätigen "
        "(allow_waitlist=true)."
    )


def _too_big(n: int) -> str:
    return (
        f"Die Änderung verlangt {n} Wechsel auf einmal – mehr, als in einem Schritt sicher geschrieben "
        "werden kann. Bitte in Schritten ändern (z. B. die Kapazität schrittweise senken oder "
        "Schüler/innen vorher einzeln übergeben)."
    )


def _summary(kind: str, plan: ChangePlan | None, applied: bool) -> str:
    if kind == "unchanged" or plan is None:
        return "Unverändert: nichts zu tun."
    waiting = len(plan.to_waitlist)
    moving = len(plan.required.moves) - waiting
    placed = sum(1 for m in plan.placements.moves if m.from_companion_id is None)
    effects = [
        text
        for n, text in (
            (moving, f"{moving} Schüler/innen wechseln die Begleitung"),
            (waiting, f"{waiting} zurück auf die Warteliste"),
            (placed, f"{placed} von der Warteliste zugeordnet"),
        )
        if n
    ]
    head = ("Angelegt" if kind == "created" else "Geändert") if applied else "Vorschau"
    return f"{head}: {', '.join(effects) or 'keine Auswirkung auf Zuordnungen'}."


def _registry_write(
    plan: ChangePlan, before: Companion | None, after: Companion, fields: dict[str, Any]
) -> list[CompanionWrite]:
    """The counter writes of the required moves, with the changed entry's registry fields merged in: its
    revision must be the one read, and its counter must end within the new capacity."""
    comps = {c.companion_id: c for c in plan.companions}
    writes = {w.companion_id: w for w in companion_writes(plan.required.moves, comps)}
    own = writes.pop(after.companion_id, CompanionWrite(after.companion_id))
    merged = CompanionWrite(
        after.companion_id,
        seen_revision=before.revision if before else 0,
        seen_version=before.version if before else None,
        delta=own.delta,
        limit=None if before is None else after.capacity - own.delta,
        target=own.target,
        fields=fields,
        new=before is None,
    )
    return [merged, *writes.values()]


def _required_rows(plan: ChangePlan, at: datetime) -> list[MoveOut]:
    """The moves the change requires, explained (the preview's rows and the history's ``why``)."""
    return move_outs(
        plan.required,
        plan.required.moves,
        plan.records,
        plan.companions,
        students=plan.students,
        today=local_date(at),
        at=at,
    )


def _commit(
    plan: ChangePlan,
    before: Companion | None,
    after: Companion,
    fields: dict[str, Any],
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
) -> None:
    """The change, its required moves and their events in one transaction."""
    by_school: dict[str, list[Companion]] = {}
    for c in plan.companions:
        for s in c.school_ids:
            by_school.setdefault(s, []).append(c)
    writes, outgoing = [], []
    why = {r.intake_id: r.why for r in _required_rows(plan, at)}
    for m in plan.required.moves:
        cur = plan.records[m.intake_id]
        assert cur.profile is not None
        new, event = moved_record(
            cur,
            m,
            plan.required,
            by_school.get(cur.profile.school_id, []),
            at=at,
            correlation_id=correlation_id,
            cause="registry_change",
            why=why.get(m.intake_id),
        )
        writes.append(StudentWrite(new, m.from_companion_id))
        outgoing.append(event)
    increased = before is None or after.capacity > before.capacity
    outgoing.append(events.companion_updated(after, correlation_id, capacity_increased=increased, at=at))
    cws = _registry_write(plan, before, after, fields)
    if len(writes) + len(cws) + len(outgoing) > MAX_TRANSACTION_ITEMS:
        raise ConflictError(_too_big(len(writes)))
    store.commit(writes, cws, events=outgoing)


def _plan(before: Companion | None, after: Companion, *, store: MatchingStore, at: datetime) -> ChangePlan:
    companions = store.list_companions()
    registry = [c for c in companions if c.companion_id != after.companion_id] + [after]
    old = set(before.school_ids) if before else set()
    schools, _ = component(old | set(after.school_ids), registry)
    records = component_records(store, schools, at)
    students = student_states(records.values())
    return plan_change(before, after, companions, records, students=students, today=local_date(at))


def _change(
    companion_id: str,
    merged: CompanionIn,
    fields: dict[str, Any],
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
    dry_run: bool,
    allow_waitlist: bool,
) -> CompanionSaved:
    _check_substitutes(merged, store)
    for _ in range(MAX_ATTEMPTS):
        before = store.get_companion(companion_id)
        after = Companion(
            **merged.model_dump(),
            used=before.used if before else 0,
            revision=before.revision if before else 0,
            version=before.version if before else 0,
        )
        changed = changed_fields(before, merged.model_dump(mode="json"))
        kind = "created" if before is None else ("changed" if changed else "unchanged")
        if kind == "unchanged":
            return _answer(before or after, kind, changed, None, applied=not dry_run, at=at)
        plan = _plan(before, after, store=store, at=at)
        if dry_run:
            return _answer(after, kind, changed, plan, applied=False, at=at)
        if plan.to_waitlist and not allow_waitlist:
            raise ConflictError(_refusal(plan))
        try:
            _commit(
                plan,
                before,
                after,
                {k: fields[k] for k in changed if k in fields} if before else fields,
                store=store,
                at=at,
                correlation_id=correlation_id,
            )
        except StaleStateError:
            continue
        resolve(
            set(after.school_ids) | (set(before.school_ids) if before else set()),
            store=store,
            at=at,
            correlation_id=correlation_id,
            force=True,
        )
        saved = store.get_companion(companion_id)
        assert saved is not None
        return _answer(saved, kind, changed, plan, applied=True, at=at)
    raise ConflictError("Register oder Zuordnungen wurden gleichzeitig geändert. Bitte erneut versuchen.")


def _answer(
    companion: Companion,
    kind: str,
    changed: list[str],
    plan: ChangePlan | None,
    *,
    applied: bool,
    at: datetime,
) -> CompanionSaved:
    required, placements = [], []
    if plan is not None:
        required = _required_rows(plan, at)
        placements = move_outs(
            plan.placements,
            plan.placements.moves,
            plan.records,
            plan.after_required,
            today=local_date(at),
            at=at,
        )
    change = RegistryChange(
        companion_id=companion.companion_id,
        kind=kind,  # type: ignore[arg-type]
        changed_fields=changed,
        applied=applied and kind != "unchanged",
        moves=required,
        placements=placements,
        to_waitlist=plan.to_waitlist if plan else [],
        needs_confirmation=bool(plan and plan.to_waitlist),
        notes=plan.notes if plan else [],
        message=_summary(kind, plan, applied),
    )
    return CompanionSaved(**companion.model_dump(), change=change)


def save_companion(
    body: CompanionIn,
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
    dry_run: bool = False,
    allow_waitlist: bool = False,
) -> CompanionSaved:
    """Create or replace a companion (the live ``used`` counter is kept) through matching (module docs)."""
    fields = body.model_dump(mode="json", exclude={"companion_id"})
    return _change(
        body.companion_id,
        body,
        fields,
        store=store,
        at=at,
        correlation_id=correlation_id,
        dry_run=dry_run,
        allow_waitlist=allow_waitlist,
    )


def patch_companion(
    companion_id: str,
    patch: CompanionPatch,
    *,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
    dry_run: bool = False,
    allow_waitlist: bool = False,
) -> CompanionSaved:
    """Change only the given fields (``NotFoundError`` for an unknown companion) through matching."""
    before = store.get_companion(companion_id)
    if before is None:
        raise NotFoundError(companion_id)
    changes = patch.model_dump(mode="json", exclude_unset=True)
    nulls = [k for k, v in changes.items() if v is None and k not in CLEARABLE]
    if nulls:
        raise DomainValidationError(
            [FieldError(field=k, message="Darf nicht leer sein.") for k in sorted(nulls)]
        )
    merged = _validated(
        {**before.model_dump(mode="json", exclude={"used", "revision", "version"}), **changes}
    )
    return _change(
        companion_id,
        merged,
        changes,
        store=store,
        at=at,
        correlation_id=correlation_id,
        dry_run=dry_run,
        allow_waitlist=allow_waitlist,
    )


def get_companion(companion_id: str, *, store: MatchingStore) -> Companion:
    c = store.get_companion(companion_id)
    if c is None:
        raise NotFoundError(companion_id)
    return c
