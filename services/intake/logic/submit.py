"""Use cases: a school submits an intake form, or a class list (CSV/XLSX) with many students."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from ulid import ULID

from common.auth import ForbiddenError, Principal
from common.errors import DomainValidationError, FieldError
from common.field_errors import german_errors, model_fields
from contracts import retention
from contracts.calendar import local_date
from contracts.events import AgeBand
from services.intake.dal.audit_journal import PendingAudit
from services.intake.dal.intakes import IntakeRepository
from services.intake.logic import access, classlist, duplicates, events, rules
from services.intake.logic.errors import DuplicateIntakeError
from services.intake.models.intake import (
    BatchFieldError,
    BatchResult,
    BatchRow,
    IntakeCreated,
    IntakeForm,
    IntakeRecord,
    iso,
)


def new_record(form: IntakeForm, *, submitted_by: str, now: datetime, student_key: str) -> IntakeRecord:
    return IntakeRecord(
        intake_id=str(ULID.from_datetime(now)),
        **form.model_dump(),
        submitted_at=now,
        submitted_by=submitted_by,
        year_submitted=f"{form.school_year}#{iso(now)}",
        expires_at=retention.expires_at(form.school_year),
        student_key=student_key,
    )


def student_key_of(form: IntakeForm, repo: IntakeRepository) -> str:
    """The keyed hash of the form's student (``logic.duplicates``)."""
    s = form.student
    return repo.student_key(
        duplicates.student_material(
            form.school_year, form.school_id, s.given_name, s.family_name, s.date_of_birth
        )
    )


def already_there(key: str, repo: IntakeRepository, now: datetime) -> IntakeRecord | None:
    """The oldest intake (not withdrawn, not expired) of the student with the keyed hash ``key``."""
    found = repo.with_student_key(key, not_expired_at=int(now.timestamp()))
    return min(found, key=lambda r: r.submitted_at) if found else None


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
    allow_duplicate: bool = False,
) -> IntakeCreated:
    """Validate business rules, store the intake with its ``IntakeSubmitted`` (outbox) and its audit entry
    in one transaction.

    Raises ``ForbiddenError`` (another school) or ``DomainValidationError`` (→ 422) before writing, and
    ``DuplicateIntakeError`` (→ 409) when the student is already there, unless ``allow_duplicate``.
    """
    _check_school(principal, form.school_id)
    form = form.normalised()
    band = rules.check_form(form, today=local_date(now), submitted_on=local_date(now))
    key = student_key_of(form, repo)
    existing = None if allow_duplicate else already_there(key, repo, now)
    if existing is not None:
        raise DuplicateIntakeError(
            existing.intake_id,
            local_date(existing.submitted_at).strftime("%d.%m.%Y"),
            existing.school_year,
        )
    record = new_record(form, submitted_by=principal.username, now=now, student_key=key)
    entry = PendingAudit()
    access.audit("create", principal, [record.intake_id], now, journal=entry)
    repo.put_new(record, [events.submitted(record, band, correlation_id)], also=entry.puts)
    return IntakeCreated(intake_id=record.intake_id, status=record.status, submitted_at=now)


def all_errors_of_new(errors: list[FieldError], data: Any, *, now: datetime) -> list[FieldError]:
    """The field errors of a new intake with the cross-field rules its valid fields break."""
    return rules.all_errors(errors, data, today=local_date(now), submitted_on=local_date(now))


def _validate_row(raw: dict[str, object], today: datetime) -> tuple[IntakeForm, AgeBand]:
    try:
        form = IntakeForm.model_validate(raw).normalised()
    except ValidationError as e:
        errors = german_errors(e.errors(include_input=False), model_fields(IntakeForm))
        raise DomainValidationError(all_errors_of_new(errors, raw, now=today)) from None
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
    seen: dict[str, int] = {}  # keyed hash → line of this file that has the student
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
                            field=err.field,
                            message=classlist.in_file_terms(err.field, err.message, values),
                            column=table.column_of(err.field),
                        )
                        for err in e.errors
                    ],
                )
            )
            continue
        key = student_key_of(form, repo)
        duplicate = _duplicate_row(line, key, seen, repo, now)
        if duplicate is not None:
            rows.append(duplicate)
            continue
        seen[key] = line
        record = new_record(form, submitted_by=principal.username, now=now, student_key=key)
        now += timedelta(microseconds=1)  # distinct, ordered sort keys within one upload
        repo.put_new(record, [events.submitted(record, band, correlation_id)])
        rows.append(BatchRow(row=line, status="stored", intake_id=record.intake_id))
    access.audit("create", principal, [r.intake_id for r in rows if r.intake_id], now)
    count = Counter(r.status for r in rows)
    return BatchResult(
        stored=count["stored"],
        invalid=count["invalid"],
        duplicates=count["duplicate"],
        rows=rows,
        ignored_columns=table.ignored_columns,
    )


def _duplicate_row(
    line: int, key: str, seen: dict[str, int], repo: IntakeRepository, now: datetime
) -> BatchRow | None:
    """The row result "bereits vorhanden" when the row's student is stored already or on an earlier line."""
    if key in seen:
        message = (
            f"Bereits vorhanden: dieselbe Schülerin / derselbe Schüler steht schon in Zeile {seen[key]}."
        )
        return BatchRow(
            row=line, status="duplicate", errors=[BatchFieldError(field="student", message=message)]
        )
    existing = already_there(key, repo, now)
    if existing is None:
        return None
    message = (
        "Bereits vorhanden: angemeldet am "
        f"{local_date(existing.submitted_at).strftime('%d.%m.%Y')} (Anmeldenummer {existing.intake_id}); "
        "nichts gespeichert."
    )
    return BatchRow(
        row=line,
        status="duplicate",
        intake_id=existing.intake_id,
        errors=[BatchFieldError(field="student", message=message)],
    )
