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
