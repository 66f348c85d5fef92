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


def _school_year_start(school_year: str, today: date) -> date:
    try:
        start, _ = school_year_bounds(school_year)
    except ValueError:
        raise DomainValidationError(
            [FieldError(field="school_year", message="Ungültiges Schuljahr (z. B. 2026/27).")]
        ) from None
    if not FIRST_SCHOOL_YEAR <= start.year <= today.year + 1:
        raise DomainValidationError(
            [
                FieldError(
                    field="school_year",
                    message=f"Schuljahr außerhalb des möglichen Zeitraums ({FIRST_SCHOOL_YEAR}/"
                    f"{(FIRST_SCHOOL_YEAR + 1) % 100:02d} bis nächstes Schuljahr).",
                )
            ]
        )
    return start


def check_form(form: IntakeForm, *, today: date, submitted_on: date) -> AgeBand:  # noqa: C901
    """Validate the cross-field rules of an intake; returns the age band at school-year start.

    ``submitted_on`` decides whether guardian consent is needed (under 18 on that day); for a new
    intake it is ``today``, for a correction the original submission date. Raises
    ``DomainValidationError`` with one German message per violated field.
    """
    start = _school_year_start(form.school_year, today)
    errors: list[FieldError] = []
    s, c = form.student, form.consent
    band: AgeBand = "unter_16"
    if s.date_of_birth >= today:
        errors.append(
            FieldError(field="student.date_of_birth", message="Das Geburtsdatum liegt in der Zukunft.")
        )
    else:
        age = age_on(s.date_of_birth, start)
        if not MIN_AGE <= age <= MAX_AGE:
            errors.append(
                FieldError(
                    field="student.date_of_birth",
                    message=f"Unplausibles Alter: zum Schuljahresbeginn {MIN_AGE}–{MAX_AGE} Jahre erwartet.",
                )
            )
        band = age_band(age)
        if age_on(s.date_of_birth, submitted_on) < 18 and c.guardian is not True:
            errors.append(
                FieldError(
                    field="consent.guardian",
                    message="Unter 18: Einwilligung der Erziehungsberechtigten erforderlich.",
                )
            )
    if not c.student:
        errors.append(
            FieldError(field="consent.student", message="Einwilligung der Schülerin/des Schülers fehlt.")
        )
    if c.given_on > today:
        errors.append(
            FieldError(field="consent.given_on", message="Das Datum der Einwilligung liegt in der Zukunft.")
        )
    elif c.given_on <= s.date_of_birth:
        errors.append(
            FieldError(field="consent.given_on", message="Das Datum der Einwilligung ist unplausibel.")
        )
    if c.guardian_given_on is not None and c.guardian_given_on > today:
        errors.append(
            FieldError(
                field="consent.guardian_given_on", message="Das Datum der Einwilligung liegt in der Zukunft."
            )
        )
    if form.internship_model == "block" and form.internship_days_per_week is not None:
        errors.append(
            FieldError(
                field="internship_days_per_week",
                message="Bei Blockpraktikum keine Praktikumstage pro Woche angeben.",
            )
        )
    if len(set(form.career_fields)) != len(form.career_fields):
        errors.append(FieldError(field="career_fields", message="Berufsfelder bitte nur einmal angeben."))
    if errors:
        raise DomainValidationError(errors)
    return band


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
