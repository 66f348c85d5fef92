"""Pure intake rules: school-year dates, ages, consent, retention.

Sources:
- School year in Baden-Württemberg runs 1 August – 31 July (Schulgesetz BW § 26).
- Plausible AV dual age: 14–21 at school-year start (issue 3; AV dual targets 15–20-year-olds).
- Guardian consent required when the student is under 18 on the submission date (Art. 8 GDPR
  practice for minors in BW schools; DESIGN.md §6).
- Retention: one year after the end of the school year in which the student left (DESIGN.md §6).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from common.errors import DomainValidationError, FieldError
from contracts.events import AgeBand
from contracts.reference import school_year_bounds

MIN_AGE, MAX_AGE = 14, 21


def age_on(date_of_birth: date, day: date) -> int:
    """Completed years of age on ``day``."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


def age_band(age: int) -> AgeBand:
    if age < 16:
        return "unter_16"
    if age >= 19:
        return "19_plus"
    return str(age)  # type: ignore[return-value]


def retention_expiry(school_year: str) -> int:
    """Epoch seconds one year after the end of ``school_year`` (TTL for personal data)."""
    _, end = school_year_bounds(school_year)
    return int(datetime.combine(date(end.year + 1, end.month, end.day), time(23, 59, 59), UTC).timestamp())


def check_intake(*, school_year: str, date_of_birth: date, student_consent: bool, guardian_consent: bool | None,
                 consent_given_on: date, today: date) -> AgeBand:
    """Validate the cross-field rules of an intake; returns the age band at school-year start.

    Raises ``DomainValidationError`` with one German message per violated field.
    """
    errors: list[FieldError] = []
    try:
        start, _ = school_year_bounds(school_year)
    except ValueError:
        raise DomainValidationError([FieldError(field="school_year",
                                                message="Ungültiges Schuljahr (z. B. 2026/27).")]) from None
    band: AgeBand = "unter_16"
    if date_of_birth >= today:
        errors.append(FieldError(field="student.date_of_birth", message="Das Geburtsdatum liegt in der Zukunft."))
    else:
        age = age_on(date_of_birth, start)
        if not MIN_AGE <= age <= MAX_AGE:
            errors.append(FieldError(
                field="student.date_of_birth",
                message=f"Unplausibles Alter: zum Schuljahresbeginn {MIN_AGE}–{MAX_AGE} Jahre erwartet."))
        band = age_band(age)
        if age_on(date_of_birth, today) < 18 and guardian_consent is not True:
            errors.append(FieldError(field="consent.guardian",
                                     message="Unter 18: Einwilligung der Erziehungsberechtigten erforderlich."))
    if not student_consent:
        errors.append(FieldError(field="consent.student", message="Einwilligung der Schülerin/des Schülers fehlt."))
    if consent_given_on > today:
        errors.append(FieldError(field="consent.given_on", message="Das Datum der Einwilligung liegt in der Zukunft."))
    if errors:
        raise DomainValidationError(errors)
    return band
