"""Audited access to students' data in matching (docs/datenschutz.md): an assignment (profile
categories, class, explanation), the waitlist (ids, class, waiting time) and recorded exits (destination)
are pseudonymous personal data, so every read and every recorded exit writes an audit entry
(:mod:`common.audit_log`) before the data leave the service. The office's coordination actions that move
students – a rebalance, a registry change (capacity, absence, schools) – are audited too: their preview
lists the students it would move (``list``), applying moves them (``assign``)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from common import audit_log
from common.audit_log import ActorRole, AuditAction
from common.auth import Principal
from services.matching.dal.audit_journal import AuditLog
from services.matching.dal.store import MatchingStore
from services.matching.logic import exits, office_choice, substitution
from services.matching.logic.rebalance import run_rebalance
from services.matching.logic.waitlist import waitlist
from services.matching.models.matching import (
    Assignment,
    AssignmentOptions,
    CompanionChoice,
    CompanionChoiceIn,
    CompanionSaved,
    ExitIn,
    RebalanceResult,
    RegistryChange,
    WaitlistEntry,
)

#: Why matching data were processed: the purposes of the processing record (docs/datenschutz.md).
PURPOSES: dict[tuple[AuditAction, ActorRole], str] = {
    ("read", "office"): "Koordination: Zuordnung und ihre Begründung prüfen",
    ("read", "companion"): "Begleitung: Zuordnung der eigenen Schülerin / des eigenen Schülers",
    ("list", "office"): "Warteliste abarbeiten (Koordination)",
    ("list", "school"): "Warteliste der eigenen Schule einsehen",
    ("exit", "office"): "Austritt und Verbleib erfassen (Berichtspflicht)",
    ("exit", "companion"): "Austritt und Verbleib der begleiteten Schülerin / des Schülers erfassen",
    ("assign", "office"): "Koordination: Begleitung wählen oder übergeben",
}

#: Purposes of the office's coordination actions (rebalance, registry change): preview and apply.
COORDINATION_PURPOSES: dict[tuple[AuditAction, ActorRole], str] = {
    ("list", "office"): "Koordination: vorgeschlagene Wechsel prüfen (Neuverteilung, Begleitung geändert)",
    ("assign", "office"): "Koordination: Wechsel anwenden (Neuverteilung, Begleitung geändert)",
}


def _record(action: AuditAction, principal: Principal, intake_ids: Iterable[str], now: datetime) -> None:
    audit_log.record("matching", action, principal, intake_ids, now, PURPOSES, journal=AuditLog())


def read_assignment(
    intake_id: str, *, principal: Principal, companion_scope: str | None, store: MatchingStore, now: datetime
) -> Assignment:
    """The assignment as of ``now`` (the request time) if the caller may see it (office; the companion; a
    substitute during the companion's leave), audited. Raises ``NotFoundError`` (nothing audited then)."""
    stored = store.get_assignment(intake_id, now=now)
    scope = substitution.read_scope(
        companion_scope, stored.companion_id if stored else None, store=store, now=now
    )
    a = exits.visible(stored, scope)
    _record("read", principal, [a.intake_id], now)
    return a


def read_waitlist(
    school_ids: Iterable[str], *, principal: Principal, store: MatchingStore, at: datetime
) -> list[WaitlistEntry]:
    """:func:`waitlist` as of ``at`` (the request time; waiting days count to it), audited (one entry with
    every listed intake id)."""
    entries = waitlist(school_ids, store=store, at=at)
    _record("list", principal, [e.intake_id for e in entries], at)
    return entries


def record_exit(
    intake_id: str,
    body: ExitIn,
    *,
    principal: Principal,
    companion_scope: str | None,
    store: MatchingStore,
    correlation_id: str,
    now: datetime,
) -> Assignment:
    """:func:`exits.record_exit` at ``now`` (the request time), audited."""
    a = exits.record_exit(
        intake_id,
        body,
        recorded_by="office" if principal.is_office else "companion",
        companion_scope=companion_scope,
        store=store,
        correlation_id=correlation_id,
        now=now,
    )
    _record("exit", principal, [a.intake_id], now)
    return a


def read_options(
    intake_id: str, *, principal: Principal, store: MatchingStore, at: datetime
) -> AssignmentOptions:
    """:func:`office_choice.options` as of ``at``, audited (the student's matching profile is shown)."""
    options = office_choice.options(intake_id, store=store, at=at)
    _record("read", principal, [intake_id], at)
    return options


def choose_companion(
    intake_id: str,
    body: CompanionChoiceIn,
    *,
    principal: Principal,
    store: MatchingStore,
    at: datetime,
    correlation_id: str,
) -> CompanionChoice:
    """:func:`office_choice.choose_companion`, audited."""
    done = office_choice.choose_companion(intake_id, body, store=store, at=at, correlation_id=correlation_id)
    _record("assign", principal, [intake_id], at)
    return done


def _record_coordination(
    applied: bool, principal: Principal, intake_ids: Iterable[str], at: datetime
) -> None:
    ids = list(dict.fromkeys(intake_ids))
    if ids:  # nobody shown, nobody moved: nothing to audit
        audit_log.record(
            "matching",
            "assign" if applied else "list",
            principal,
            ids,
            at,
            COORDINATION_PURPOSES,
            journal=AuditLog(),
        )


def rebalance(
    *,
    dry_run: bool,
    expected_plan_id: str | None,
    principal: Principal,
    store: MatchingStore,
    correlation_id: str,
    at: datetime,
) -> RebalanceResult:
    """:func:`run_rebalance`, audited: the preview lists the students it would move, applying moves them."""
    result = run_rebalance(
        dry_run=dry_run, store=store, correlation_id=correlation_id, at=at, expected_plan_id=expected_plan_id
    )
    moved = [m.intake_id for m in result.moves if dry_run or m.applied]
    _record_coordination(not dry_run, principal, moved, at)
    return result


def _students_of(change: RegistryChange) -> list[str]:
    return [m.intake_id for m in (*change.moves, *change.placements)] + list(change.to_waitlist)


def registry_changed(saved: CompanionSaved, *, principal: Principal, at: datetime) -> CompanionSaved:
    """Audit what a registry change (:func:`registry.save_companion`, :func:`registry.patch_companion`, also
    as a dry run) does to the students it moves or would move, then hand it out."""
    _record_coordination(saved.change.applied, principal, _students_of(saved.change), at)
    return saved
