"""The office's own choice of companion: assign a waiting student, or move an assigned one (also a handover
between companions), to a companion the office picks — with a reason, the cost explanation of that choice
next to the model's best, and the history kept on the assignment. And the options for that choice: every
companion of the student's school, whether the hard rules allow it (and which one does not), its cost.

The hard rules hold for the office's choice too (school, consent, active and not on leave at the start, a
free place); the write is conditional like every other (the companion's registry entry as read, the student
still where they were). The place the student leaves is given to the waitlist at once (:mod:`resolve`).
An automatic re-solve moves a student the office placed only at twice the move penalty
(``flow_solver.StudentState.pinned``): another chain of moves goes first if there is one.
"""

from __future__ import annotations

from datetime import datetime

from common.errors import ConflictError, DomainValidationError, FieldError, NotFoundError
from contracts import retention
from contracts.calendar import local_date, whole_days
from contracts.events import ReassignmentCause
from services.matching.dal.store import AlreadyDecidedError, CompanionFullError, MatchingStore
from services.matching.logic import cost as cm
from services.matching.logic import events
from services.matching.logic.apply_plan import with_history
from services.matching.logic.assignment_rules import MAX_RACE_RETRIES
from services.matching.logic.resolve import assignment_start, resolve
from services.matching.models.matching import (
    Assignment,
    AssignmentChange,
    AssignmentOptions,
    Companion,
    CompanionChoice,
    CompanionChoiceIn,
    CompanionOption,
)


def _student(intake_id: str, store: MatchingStore, at: datetime) -> Assignment:
    a = store.get_assignment(intake_id, now=at)
    if a is None or a.profile is None or a.status not in ("assigned", "waitlisted"):
        raise NotFoundError(intake_id)
    return a


def _option(a: Assignment, c: Companion, context: cm.Context, at: datetime) -> CompanionOption:
    """What assigning ``a`` to ``c`` now would cost, and which hard rules forbid it."""
    assert a.profile is not None
    today = local_date(at)
    current = a.status == "assigned" and a.companion_id == c.companion_id
    if current:
        rules = cm.kept_violations(a.profile, c, starts_on=assignment_start(a), today=today)
        load = (c.used - 1) / c.capacity if c.capacity > 0 else 1.0
    else:
        rules = cm.violations(a.profile, c, day=cm.start_day(a.profile, today))
        load = c.used / c.capacity if c.capacity > 0 else 1.0
    expl = cm.Explanation.of(cm.components(a.profile, c, context, load_share=max(0.0, load)))
    return CompanionOption(
        companion_id=c.companion_id,
        name=c.name,
        school_ids=c.school_ids,
        capacity=c.capacity,
        used=c.used,
        current=current,
        allowed=not rules,
        violations=[cm.RULE_LABELS[r] for r in rules],
        cost=expl.total,
        explanation=dict(expl.components),
    )


def _options(a: Assignment, store: MatchingStore, at: datetime) -> list[CompanionOption]:
    assert a.profile is not None
    school_id, class_name = a.profile.school_id, a.profile.class_name
    context = cm.class_context(
        school_id, class_name, store.classmates(school_id, class_name, exclude=a.intake_id)
    )
    opts = [_option(a, c, context, at) for c in store.companions_for_school(a.profile.school_id)]
    allowed = [o for o in opts if o.allowed]
    if allowed:
        best = min(allowed, key=lambda o: (o.cost, o.companion_id))
        best.best = True
    return sorted(opts, key=lambda o: (not o.allowed, o.cost, o.companion_id))


def options(intake_id: str, *, store: MatchingStore, at: datetime) -> AssignmentOptions:
    """Every companion of the student's school as a choice for the office, allowed ones cheapest first."""
    a = _student(intake_id, store, at)
    assert a.profile is not None
    opts = _options(a, store, at)
    return AssignmentOptions(
        intake_id=a.intake_id,
        status=a.status,  # type: ignore[arg-type]
        school_id=a.profile.school_id,
        class_name=a.profile.class_name,
        current_companion_id=a.companion_id if a.status == "assigned" else None,
        options=opts,
        criteria=dict(cm.CRITERIA_LABELS),
    )


def _refuse(option: CompanionOption | None, companion_id: str) -> None:
    if option is None:
        raise DomainValidationError(
            [FieldError(field="companion_id", message="Diese Begleitung betreut die Schule nicht.")]
        )
    if option.current:
        raise ConflictError(f"Die Schülerin / der Schüler ist bereits {companion_id} zugeordnet.")
    if not option.allowed:
        raise DomainValidationError(
            [
                FieldError(
                    field="companion_id",
                    message=f"{companion_id} kann die Schülerin / den Schüler nicht übernehmen: "
                    + ", ".join(option.violations)
                    + ".",
                )
            ]
        )


def _chosen(
    a: Assignment, option: CompanionOption, body: CompanionChoiceIn, at: datetime
) -> tuple[Assignment, AssignmentChange]:
    change = AssignmentChange(
        at=at,
        from_companion_id=a.companion_id if a.status == "assigned" else None,
        to_companion_id=option.companion_id,
        cause="handover" if body.reason == "handover" else "office_choice",
        by="office",
        reason=body.reason,
        note=body.note,
        cost=option.cost,
    )
    new = a.model_copy(
        update={
            "status": "assigned",
            "companion_id": option.companion_id,
            "cost": option.cost,
            "explanation": option.explanation,
            "assigned_at": at,
            "updated_at": at,
            "expires_at": retention.expires_at(a.profile.school_year) if a.profile else a.expires_at,
            "waitlist_school": None,
            "waitlisted_at": None,
            "waitlist_reason": None,
            "history": with_history(a, change),
        }
    )
    return new, change


def _write(
    a: Assignment,
    new: Assignment,
    change: AssignmentChange,
    revision: int,
    *,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
) -> None:
    if a.status == "waitlisted":
        waited = whole_days(a.submitted_at, at) if a.submitted_at else 0
        event = events.assigned(new, correlation_id, from_waitlist=True, waited_days=waited)
        store.claim(new, from_waitlist=True, events=[event], revision=revision)
        return
    assert a.companion_id is not None
    cost_change = (new.cost or 0.0) - (a.cost or 0.0)
    cause: ReassignmentCause = "handover" if change.cause == "handover" else "office_choice"
    event = events.reassigned(
        new, a.companion_id, correlation_id, cost_change=cost_change, at=at, cause=cause
    )
    store.reassign(new, a.companion_id, events=[event], revision=revision)


def choose_companion(
    intake_id: str, body: CompanionChoiceIn, *, store: MatchingStore, at: datetime, correlation_id: str
) -> CompanionChoice:
    """Assign or move the student to ``body.companion_id`` (see module docstring)."""
    for _ in range(MAX_RACE_RETRIES):
        a = _student(intake_id, store, at)
        opts = _options(a, store, at)
        option = next((o for o in opts if o.companion_id == body.companion_id), None)
        _refuse(option, body.companion_id)
        assert option is not None
        target = store.get_companion(option.companion_id)
        assert target is not None
        new, change = _chosen(a, option, body, at)
        try:
            _write(a, new, change, target.revision, store=store, at=at, correlation_id=correlation_id)
        except CompanionFullError:
            raise ConflictError(
                f"{option.companion_id} hat inzwischen keinen freien Platz mehr oder wurde geändert. "
                "Bitte die Auswahl neu laden."
            ) from None
        except AlreadyDecidedError:
            continue
        if a.status == "assigned" and a.companion_id is not None:
            old = store.get_companion(a.companion_id)
            freed = old.school_ids if old else [new.profile.school_id] if new.profile else []
            resolve(freed, store=store, at=at, correlation_id=correlation_id)
        best = next((o for o in opts if o.best), None)
        return CompanionChoice(assignment=new, chosen=option, best=best, change=change)
    raise ConflictError("Die Zuordnung wurde gleichzeitig geändert. Bitte erneut versuchen.")
