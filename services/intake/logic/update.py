"""Use cases: a school corrects an intake (PATCH, JSON Merge Patch) or withdraws it."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from common.auth import ForbiddenError, Principal
from common.errors import DomainValidationError, FieldError, NotFoundError
from common.field_errors import german_errors, model_fields
from contracts import retention
from contracts.calendar import local_date, tz
from services.intake.dal.audit_journal import PendingAudit
from services.intake.dal.intakes import ConditionFailedError, IntakeRepository
from services.intake.logic import access, events, rules, submit
from services.intake.logic.errors import STALE, WITHDRAWN, IntakeConflictError
from services.intake.models.intake import IntakeForm, IntakeRecord, IntakeView, WithdrawReason, iso


def patch_intake(
    intake_id: str,
    patch: dict[str, Any],
    *,
    principal: Principal,
    correlation_id: str,
    repo: IntakeRepository,
    now: datetime,
    expected_version: int | None = None,
) -> IntakeView:
    """Apply ``patch`` to the stored form, validate the result like a new intake (guardian consent is judged
    on the original submission date), store it with ``IntakeUpdated`` (changed field names only) in
    its outbox. ``expected_version`` (``If-Match``): the version the caller corrected; another one means
    someone else changed the intake meanwhile (409, nothing written).
    No change → no write, no event."""
    record = access.load_changeable(intake_id, principal, repo, now)
    if record.status == "withdrawn":
        raise IntakeConflictError(WITHDRAWN)
    if expected_version is not None and expected_version != record.version:
        raise IntakeConflictError(changed_meanwhile(record))
    before = record.form().model_dump(mode="json", exclude_none=True)
    merged = rules.merge_patch(before, patch)
    try:
        form = IntakeForm.model_validate(merged).normalised()
    except ValidationError as e:
        errors = german_errors(e.errors(include_input=False), model_fields(IntakeForm))
        raise DomainValidationError(
            rules.all_errors(
                errors, merged, today=local_date(now), submitted_on=local_date(record.submitted_at)
            )
        ) from None
    if form.school_id != record.school_id and not principal.may_access_school(form.school_id):
        raise DomainValidationError(
            [
                FieldError(
                    field="school_id",
                    message="Die Anmeldung kann nicht an eine andere Schule übertragen werden.",
                )
            ]
        )
    band = rules.check_form(form, today=local_date(now), submitted_on=local_date(record.submitted_at))
    changed = rules.changed_fields(before, form.model_dump(mode="json", exclude_none=True))
    if not changed:
        return access.view(record, principal)
    new = IntakeRecord.model_validate(
        {
            **record.model_dump(),
            **form.model_dump(),
            "version": record.version + 1,
            "student_key": submit.student_key_of(form, repo),
            "updated_at": now,
            "updated_by": principal.username,
            "year_submitted": f"{form.school_year}#{iso(record.submitted_at)}",
            "expires_at": (
                retention.expires_at(form.school_year)
                if form.school_year != record.school_year
                else record.expires_at
            ),
        }
    )
    event = events.updated(new, band, changed, rules.matching_relevant(changed), correlation_id, now)
    entry = PendingAudit()
    access.audit("update", principal, [intake_id], now, journal=entry)
    try:
        repo.update_form(
            new,
            expected_version=record.version,
            set_expiry=form.school_year != record.school_year,
            events=[event],
            also=entry.puts,
        )
    except ConditionFailedError:
        raise IntakeConflictError(STALE) from None
    return access.view(new, principal)


def all_errors_of_patch(
    errors: list[FieldError],
    intake_id: str,
    patch: Any,
    *,
    principal: Principal,
    repo: IntakeRepository,
    now: datetime,
) -> list[FieldError]:
    """A refused correction's field errors with the cross-field rules the corrected intake would break (its
    valid fields merged onto the stored form); only the field errors when the intake is not the caller's."""
    try:
        record = access.load_changeable(intake_id, principal, repo, now)
    except (NotFoundError, ForbiddenError):
        return errors
    if record.erased or not isinstance(patch, dict):
        return errors
    merged = rules.merge_patch(record.form().model_dump(mode="json", exclude_none=True), patch)
    return rules.all_errors(
        errors, merged, today=local_date(now), submitted_on=local_date(record.submitted_at)
    )


def changed_meanwhile(record: IntakeRecord) -> str:
    """The German conflict message when someone else corrected ``record`` after the caller loaded it."""
    at = record.updated_at or record.submitted_at
    when = at.astimezone(tz()).strftime("%d.%m.%Y um %H:%M Uhr")
    return (
        f"Die Anmeldung wurde inzwischen geändert (zuletzt am {when}). Ihre Korrektur wurde nicht "
        "gespeichert: Bitte die Anmeldung neu laden und die Korrektur noch einmal eingeben."
    )


def withdraw_intake(
    intake_id: str,
    reason: WithdrawReason,
    *,
    principal: Principal,
    correlation_id: str,
    repo: IntakeRepository,
    now: datetime,
) -> IntakeView:
    """Withdraw the intake: mark it withdrawn, erase its personal data (everything of the form except school,
    school year and class; docs/datenschutz.md "consent withdrawal triggers erasure in every service") and
    publish ``IntakeWithdrawn`` (matching and reporting erase theirs), all in one transaction.

    Idempotent: withdrawing again publishes nothing and returns the erased intake; an intake withdrawn
    before erasure existed is erased then. Raises ``NotFoundError`` (unknown, expired, other school).
    """
    record = access.load_changeable(intake_id, principal, repo, now)
    if record.status != "withdrawn":
        entry = PendingAudit()
        access.audit("withdraw", principal, [intake_id], now, journal=entry)
        # withdrawn concurrently (ConditionFailedError): that request's transaction carried the event,
        # the erasure and the audit entry
        with contextlib.suppress(ConditionFailedError):
            repo.withdraw(
                intake_id,
                at=now,
                by=principal.username,
                reason=reason,
                events=[events.withdrawn(record, reason, correlation_id, now)],
                also=entry.puts,
            )
    elif not record.erased:
        repo.erase(intake_id, at=now)
    record = access.load(intake_id, repo, now)
    return access.view(record, principal)
