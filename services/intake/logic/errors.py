"""Conflicts the intake use cases report to people (German; HTTP 409)."""

from __future__ import annotations

from common.errors import ConflictError

WITHDRAWN = "Die Anmeldung wurde zurückgezogen und kann nicht mehr geändert werden."
STALE = "Die Anmeldung wurde inzwischen geändert. Bitte neu laden und erneut speichern."


class IntakeConflictError(ConflictError):
    """A change that conflicts with the intake's current state; ``message`` is shown to people."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DuplicateIntakeError(ConflictError):
    """The student of a new intake is already there (``logic.duplicates``); names no personal data."""

    def __init__(self, existing_intake_id: str, submitted_on: str, school_year: str):
        self.existing_intake_id = existing_intake_id
        self.message = (
            f"Diese Schülerin / dieser Schüler ist für das Schuljahr {school_year} an dieser Schule "
            f"bereits angemeldet (Anmeldung vom {submitted_on}, Anmeldenummer {existing_intake_id}): "
            "gleicher Vor- und Nachname, gleiches Geburtsdatum. Bitte die vorhandene Anmeldung öffnen und "
            "dort korrigieren – oder, wenn es wirklich eine andere Person ist, ausdrücklich als neue "
            "Anmeldung speichern."
        )
        super().__init__(self.message)
