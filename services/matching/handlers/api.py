"""Matching REST API: companion registry, assignments (read, exit, rebalance), waitlist. Routes plus one call
each (set-up, authorisation before validation, error answers: :mod:`common.routes`).

Who sees what: the office everything; a companion only their own students (others are 404); school staff
only their own school's waitlist.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query

from common.api import json_response
from common.auth import ForbiddenError, Principal
from common.routes import Caller, CompanionId, IntakeId, RestApi, SchoolCode
from contracts.reference import SCHOOLS
from contracts.topology import MATCHING_API
from services.matching.dal.store import MatchingStore
from services.matching.logic import access, registry
from services.matching.models.matching import (
    Assignment,
    AssignmentOptions,
    Companion,
    CompanionChoice,
    CompanionChoiceIn,
    CompanionIn,
    CompanionPatch,
    CompanionSaved,
    ExitIn,
    RebalanceResult,
    WaitlistEntry,
)

api = RestApi(MATCHING_API, tags=["Zuordnung"])
app, handler = api.app, api.handler


def _companion_scope(p: Principal) -> str | None:
    """``None`` for the office (sees all), else the caller's companion id (sees own students only)."""
    return None if p.is_office else p.companion_id


# --------------------------------------------------------------------------- companions
DryRun = Annotated[bool, Query(title="nur Vorschau", description="true: only preview, nothing is written")]
AllowWaitlist = Annotated[
    bool,
    Query(
        title="Warteliste erlaubt",
        description="true: confirms that students go back to the waitlist in this change",
    ),
]
PlanId = Annotated[
    str | None,
    Query(
        title="Plan-Kennung",
        pattern=r"^[0-9a-f]{16}$",
        description="To apply: the plan_id of the dry run (else 409)",
        json_schema_extra={"x-rule": "erwartet 16 Zeichen aus 0-9 und a-f"},
    ),
]


@api.route("POST", "/companions", CompanionSaved, "Gespeichert (bzw. Vorschau)", errors=(409,))
def post_companion(
    body: CompanionIn, p: Caller, dry_run: DryRun = False, allow_waitlist: AllowWaitlist = False
) -> Response[CompanionSaved]:
    saved = registry.save_companion(
        body,
        store=MatchingStore(),
        correlation_id=api.correlation_id(),
        at=api.now(),
        dry_run=dry_run,
        allow_waitlist=allow_waitlist,
    )
    return json_response(access.registry_changed(saved, principal=p, at=api.now()))


@api.route("GET", "/companions", list[Companion], "Alle Begleitungen")
def list_companions() -> Response[list[Companion]]:
    return json_response(MatchingStore().list_companions())


@api.route("GET", "/companions/{companion_id}", Companion, "Die Begleitung")
def get_companion(companion_id: CompanionId) -> Response[Companion]:
    return json_response(registry.get_companion(companion_id, store=MatchingStore()))


@api.route("PATCH", "/companions/{companion_id}", CompanionSaved, "Geändert (bzw. Vorschau)", errors=(409,))
def patch_companion(
    companion_id: CompanionId,
    body: CompanionPatch,
    p: Caller,
    dry_run: DryRun = False,
    allow_waitlist: AllowWaitlist = False,
) -> Response[CompanionSaved]:
    saved = registry.patch_companion(
        companion_id,
        body,
        store=MatchingStore(),
        correlation_id=api.correlation_id(),
        at=api.now(),
        dry_run=dry_run,
        allow_waitlist=allow_waitlist,
    )
    return json_response(access.registry_changed(saved, principal=p, at=api.now()))


# --------------------------------------------------------------------------- assignments
@api.route("POST", "/assignments/rebalance", RebalanceResult, "Vorschlag bzw. Ergebnis", errors=(409,))
def rebalance(
    p: Caller,
    dry_run: Annotated[
        bool, Query(title="nur Vorschau", description="true: only list the moves (default)")
    ] = True,
    plan_id: PlanId = None,
) -> Response[RebalanceResult]:
    return json_response(
        access.rebalance(
            dry_run=dry_run,
            expected_plan_id=plan_id,
            principal=p,
            store=MatchingStore(),
            correlation_id=api.correlation_id(),
            at=api.now(),
        )
    )


@api.route("GET", "/assignments/{intake_id}/options", AssignmentOptions, "Mögliche Begleitungen")
def get_options(intake_id: IntakeId, p: Caller) -> Response[AssignmentOptions]:
    return json_response(access.read_options(intake_id, principal=p, store=MatchingStore(), at=api.now()))


@api.route("POST", "/assignments/{intake_id}/companion", CompanionChoice, "Zugeordnet", errors=(409,))
def post_companion_choice(
    intake_id: IntakeId, body: CompanionChoiceIn, p: Caller
) -> Response[CompanionChoice]:
    return json_response(
        access.choose_companion(
            intake_id,
            body,
            principal=p,
            store=MatchingStore(),
            at=api.now(),
            correlation_id=api.correlation_id(),
        )
    )


@api.route("GET", "/assignments/{intake_id}", Assignment, "Zuordnung mit Erklärung")
def get_assignment(intake_id: IntakeId, p: Caller) -> Response[Assignment]:
    scope = _companion_scope(p)
    return json_response(
        access.read_assignment(
            intake_id, principal=p, companion_scope=scope, store=MatchingStore(), now=api.now()
        )
    )


@api.route("POST", "/assignments/{intake_id}/exit", Assignment, "Austritt erfasst", errors=(409,))
def post_exit(intake_id: IntakeId, body: ExitIn, p: Caller) -> Response[Assignment]:
    return json_response(
        access.record_exit(
            intake_id,
            body,
            principal=p,
            companion_scope=_companion_scope(p),
            store=MatchingStore(),
            correlation_id=api.correlation_id(),
            now=api.now(),
        )
    )


# --------------------------------------------------------------------------- waitlist
@api.route("GET", "/waitlist", list[WaitlistEntry], "Warteliste")
def get_waitlist(
    p: Caller,
    school_id: Annotated[SchoolCode | None, Query(title="Schule", description="Only this school")] = None,  # type: ignore[valid-type]
) -> Response[list[WaitlistEntry]]:
    schools = [school_id] if school_id else (sorted(SCHOOLS) if p.is_office else sorted(p.school_ids))
    if not all(p.may_access_school(s) for s in schools):
        raise ForbiddenError("school")
    return json_response(access.read_waitlist(schools, principal=p, store=MatchingStore(), at=api.now()))
