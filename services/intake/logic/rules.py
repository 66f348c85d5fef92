"""Pure intake rules: school-year dates, ages, consent, status, changed fields (retention: contracts).

Sources:
- School year in Baden-Württemberg runs 1 August – 31 July (Schulgesetz BW § 26).
- AV dual exists since 2017/18 (first at the Robert-Franck-Schule): earlier school years are typos.
- Plausible AV dual age: 14–21 at school-year start (AV dual targets 15–20-year-olds).
- Guardian consent required when the student is under 18 on the submission date (Art. 8 GDPR
  practice for minors in BW schools; docs/datenschutz.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from common.errors import DomainValidationError, FieldError
from contracts.events import AgeBand
from contracts.reference import school_year_bounds
from services.intake.models.intake import IntakeForm

MIN_AGE, MAX_AGE = 14, 21
FIRST_SCHOOL_YEAR = 2017
#: Fields whose change matters to the matching model (IntakeUpdated.matching_relevant).
MATCHING_FIELDS = frozenset(
    {
        "school_id",
        "school_year",
        "class_name",
        "student.date_of_birth",
        "student.gender",
        "student.languages",
        "student.parent_contact_language",
        "german_support",
        "career_fields",
        "preferences.companion_gender",
        "preferences.previous_companion_id",
        "consent.student",
        "consent.guardian",
    }
)


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def age_band(age: int) -> AgeBand:
    if age < 16:
        return "unter_16"
    if age >= 19:
        return "19_plus"
    return str(age)  # type: ignore[return-value]


@dataclass(frozen=True)
class CrossFieldInputs:
    """What the cross-field rules read, each ``None`` when the field is missing or itself invalid (then the
    rules that need it are skipped: the field already has its own message)."""

    school_year: str | None = None
    date_of_birth: date | None = None
    consent_student: bool | None = None
    consent_given_on: date | None = None
    guardian: bool | None = None
    guardian_given_on: date | None = None
    internship_model: str | None = None
    internship_days_per_week: int | None = None
    career_fields: tuple[str, ...] = ()

    @classmethod
    def of_form(cls, form: IntakeForm) -> CrossFieldInputs:
        s, c = form.student, form.consent
        return cls(
            school_year=form.school_year,
            date_of_birth=s.date_of_birth,
            consent_student=c.student,
            consent_given_on=c.given_on,
            guardian=c.guardian,
            # the same date as the student's (the default): its problem is reported there, once
            guardian_given_on=c.guardian_given_on if c.guardian_given_on != c.given_on else None,
            internship_model=form.internship_model,
            internship_days_per_week=form.internship_days_per_week,
            career_fields=tuple(form.career_fields),
        )

    @classmethod
    def of_raw(cls, data: Any, invalid: set[str]) -> CrossFieldInputs:
        """Leniently from a request body that failed validation; fields in ``invalid`` count as missing."""
        raw = data if isinstance(data, Mapping) else {}

        def get(path: str) -> Any:
            if path in invalid:
                return None
            value: Any = raw
            for key in path.split("."):
                value = value.get(key) if isinstance(value, Mapping) else None
            return value

        def day(path: str) -> date | None:
            value = get(path)
            try:
                return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
            except ValueError:
                return None

        def flag(path: str) -> bool | None:
            value = get(path)
            return value if isinstance(value, bool) else None

        year, days, fields = get("school_year"), get("internship_days_per_week"), get("career_fields")
        return cls(
            school_year=year if isinstance(year, str) else None,
            date_of_birth=day("student.date_of_birth"),
            consent_student=flag("consent.student"),
            consent_given_on=day("consent.given_on"),
            guardian=flag("consent.guardian"),
            guardian_given_on=day("consent.guardian_given_on"),
            internship_model=get("internship_model") if isinstance(get("internship_model"), str) else None,
            internship_days_per_week=days if isinstance(days, int) and not isinstance(days, bool) else None,
            career_fields=tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else (),
        )


def _school_year_start(school_year: str, today: date) -> tuple[date | None, FieldError | None]:
    try:
        start, _ = school_year_bounds(school_year)
    except ValueError:
        return None, FieldError(
            field="school_year", message="Schuljahr: zwei aufeinanderfolgende Jahre, z. B. 2026/27."
        )
    if not FIRST_SCHOOL_YEAR <= start.year <= today.year + 1:
        first = f"{FIRST_SCHOOL_YEAR}/{(FIRST_SCHOOL_YEAR + 1) % 100:02d}"
        return None, FieldError(
            field="school_year",
            message=f"Schuljahr: möglich sind {first} bis zum nächsten Schuljahr "
            f"({today.year + 1}/{(today.year + 2) % 100:02d}).",
        )
    return start, None


def _age_rules(
    born: date, start: date | None, guardian: bool | None, today: date, submitted_on: date
) -> tuple[list[FieldError], AgeBand | None]:
    if born >= today:
        return [
            FieldError(field="student.date_of_birth", message="Geburtsdatum: liegt in der Zukunft.")
        ], None
    errors: list[FieldError] = []
    band: AgeBand | None = None
    if start is not None:
        age = age_on(born, start)
        band = age_band(age)
        if not MIN_AGE <= age <= MAX_AGE:
            errors.append(
                FieldError(
                    field="student.date_of_birth",
                    message=f"Geburtsdatum: zum Schuljahresbeginn am {start:%d.%m.%Y} sind "
                    f"{MIN_AGE}–{MAX_AGE} Jahre erwartet (AV dual).",
                )
            )
    if age_on(born, submitted_on) < 18 and guardian is not True:
        errors.append(
            FieldError(
                field="consent.guardian",
                message="Einwilligung der Erziehungsberechtigten: erforderlich, solange die Schülerin / der "
                "Schüler unter 18 ist.",
            )
        )
    return errors, band


def cross_field_errors(
    inputs: CrossFieldInputs, *, today: date, submitted_on: date
) -> tuple[list[FieldError], AgeBand | None]:
    """The cross-field rules (ages, consent, dates, internship, career fields) and the age band; every rule
    whose fields are known runs, so a submission gets them together with its field errors."""
    errors: list[FieldError] = []
    start = None
    if inputs.school_year is not None:
        start, problem = _school_year_start(inputs.school_year, today)
        errors += [problem] if problem else []
    band: AgeBand | None = None
    born = inputs.date_of_birth
    if born is not None:
        age_errors, band = _age_rules(born, start, inputs.guardian, today, submitted_on)
        errors += age_errors
    if inputs.consent_student is False:
        errors.append(
            FieldError(
                field="consent.student",
                message="Einwilligung der Schülerin / des Schülers: erforderlich (ohne sie wird nichts "
                "gespeichert).",
            )
        )
    given = inputs.consent_given_on
    if given is not None and given > today:
        errors.append(
            FieldError(field="consent.given_on", message="Datum der Einwilligung: liegt in der Zukunft.")
        )
    elif given is not None and born is not None and given <= born:
        errors.append(
            FieldError(
                field="consent.given_on", message="Datum der Einwilligung: muss nach dem Geburtsdatum liegen."
            )
        )
    if inputs.guardian_given_on is not None and inputs.guardian_given_on > today:
        errors.append(
            FieldError(
                field="consent.guardian_given_on",
                message="Datum der Einwilligung der Erziehungsberechtigten: liegt in der Zukunft.",
            )
        )
    if inputs.internship_model == "block" and inputs.internship_days_per_week is not None:
        errors.append(
            FieldError(
                field="internship_days_per_week",
                message="Praktikumstage pro Woche: bei Blockpraktikum bitte leer lassen.",
            )
        )
    if len(set(inputs.career_fields)) != len(inputs.career_fields):
        errors.append(
            FieldError(
                field="career_fields", message="Berufsfelder: jedes Berufsfeld nur einmal (höchstens 3)."
            )
        )
    return errors, band


def check_form(form: IntakeForm, *, today: date, submitted_on: date) -> AgeBand:
    """Validate the cross-field rules of an intake; returns the age band at school-year start.

    ``submitted_on`` decides whether guardian consent is needed (under 18 on that day); for a new
    intake it is ``today``, for a correction the original submission date. Raises
    ``DomainValidationError`` with one German message per violated rule.
    """
    errors, band = cross_field_errors(CrossFieldInputs.of_form(form), today=today, submitted_on=submitted_on)
    if errors:
        raise DomainValidationError(errors)
    return band or "unter_16"


def all_errors(
    field_errors: list[FieldError], data: Any, *, today: date, submitted_on: date
) -> list[FieldError]:
    """A submission's field errors together with the cross-field rules its valid fields break (one round)."""
    invalid = {e.field for e in field_errors}
    inputs = CrossFieldInputs.of_raw(data, invalid)
    more, _ = cross_field_errors(inputs, today=today, submitted_on=submitted_on)
    return field_errors + [e for e in more if e.field not in invalid]


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the fields that differ (names only, never values)."""
    out: list[str] = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            out += changed_fields(a, b, path + ".")
        elif a != b:
            out.append(path)
    return out


def matching_relevant(fields: list[str]) -> bool:
    return any(f in MATCHING_FIELDS for f in fields)


def merge_patch(target: Any, patch: Any) -> Any:
    """JSON Merge Patch (RFC 7396): objects merge recursively, ``null`` removes, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result
