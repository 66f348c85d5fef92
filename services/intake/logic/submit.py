"""Use cases: a school submits an intake form, or a class list (CSV/XLSX) with many students."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from ulid import ULID

from common.auth import ForbiddenError, Principal
from common.errors import DomainValidationError, FieldError
from common.field_errors import german_errors, model_fields
from contracts import retention
from contracts.calendar import local_date
from contracts.events import AgeBand
from services.intake.dal.intakes import IntakeRepository
from services.intake.logic import access, classlist, events, rules
from services.intake.models.intake import (
    BatchFieldError,
    BatchResult,
    BatchRow,
    IntakeCreated,
    IntakeForm,
    IntakeRecord,
    iso,
)


def new_record(form: IntakeForm, *, submitted_by: str, now: datetime) -> IntakeRecord:
    return IntakeRecord(
        intake_id=str(ULID.from_datetime(now)),
        **form.model_dump(),
        submitted_at=now,
        submitted_by=submitted_by,
        year_submitted=f"{form.school_year}#{iso(now)}",
        expires_at=retention.expires_at(form.school_year),
    )


def _check_school(principal: Principal, school_id: str) -> None:
    if not principal.may_access_school(school_id):
        raise ForbiddenError("school not allowed")


def submit_intake(
    form: IntakeForm,
    *,
    principal: Principal,
    correlation_id: str,
    repo: IntakeRepository,
    now: datetime,
) -> IntakeCreated:
    """Validate business rules, store the intake with its ``IntakeSubmitted`` (outbox, one transaction).

    Raises ``ForbiddenError`` (another school) or ``DomainValidationError`` (→ 422) before writing.
    """
    _check_school(principal, form.school_id)
    form = form.normalised()
    band = rules.check_form(form, today=local_date(now), submitted_on=local_date(now))
    record = new_record(form, submitted_by=principal.username, now=now)
    repo.put_new(record, [events.submitted(record, band, correlation_id)])
    access.audit("create", principal, [record.intake_id], now)
    return IntakeCreated(intake_id=record.intake_id, status=record.status, submitted_at=now)


def _validate_row(raw: dict[str, object], today: datetime) -> tuple[IntakeForm, AgeBand]:
    try:
        form = IntakeForm.model_validate(raw).normalised()
    except ValidationError as e:
        raise DomainValidationError(
            german_errors(e.errors(include_input=False), model_fields(IntakeForm))
        ) from None
    return form, rules.check_form(form, today=local_date(today), submitted_on=local_date(today))


def submit_class_list(
    content: bytes,
    *,
    school_id: str | None,
    school_year: str,
    class_name: str | None,
    consent_text_version: str | None,
    principal: Principal,
    correlation_id: str,
    repo: IntakeRepository,
    now: datetime,
) -> BatchResult:
    """Every row validated like a single intake; valid rows are stored (each with its event, in one
    transaction per row) even when others fail. File-level problems (unreadable, missing columns,
    too many rows) raise ``DomainValidationError``."""
    if school_id is None:
        if len(principal.school_ids) != 1:
            raise DomainValidationError(
                [FieldError(field="school_id", message="Bitte eine Schule auswählen.")]
            )
        school_id = next(iter(principal.school_ids))
    _check_school(principal, school_id)
    table = classlist.parse(
        content, defaults={"class_name": class_name, "consent.text_version": consent_text_version}
    )
    rows: list[BatchRow] = []
    for line, values in table.rows:
        raw = classlist.to_form(
            values,
            school_id=school_id,
            school_year=school_year,
            defaults={"class_name": class_name, "consent.text_version": consent_text_version},
        )
        try:
            form, band = _validate_row(raw, now)
        except DomainValidationError as e:
            rows.append(
                BatchRow(
                    row=line,
                    status="invalid",
                    errors=[
                        BatchFieldError(
                            field=err.field, message=err.message, column=table.column_of(err.field)
                        )
                        for err in e.errors
                    ],
                )
            )
            continue
        record = new_record(form, submitted_by=principal.username, now=now)
        now += timedelta(microseconds=1)  # distinct, ordered sort keys within one upload
        repo.put_new(record, [events.submitted(record, band, correlation_id)])
        rows.append(BatchRow(row=line, status="stored", intake_id=record.intake_id))
    access.audit("create", principal, [r.intake_id for r in rows if r.intake_id], now)
    stored = sum(1 for r in rows if r.status == "stored")
    return BatchResult(
        stored=stored, invalid=len(rows) - stored, rows=rows, ignored_columns=table.ignored_columns
    )
