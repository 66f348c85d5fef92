"""Domain errors shared by the services (no framework imports)."""

from __future__ import annotations

from pydantic import BaseModel


class FieldError(BaseModel):
    """One invalid field: dotted path into the request body and a German message for people."""

    field: str
    message: str


class DomainValidationError(ValueError):
    """Input is well-formed but breaks a business rule; mapped to HTTP 422 with ``errors``."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


class NotFoundError(LookupError):
    """The item does not exist *or* the caller may not see it (never reveal which): HTTP 404."""


class ConflictError(RuntimeError):
    """The request conflicts with the current state (e.g. idempotency key reused): HTTP 409.

    The message is shown to people (German) unless a subclass sets ``for_people = False`` (technical
    conflicts, answered with a generic German text)."""

    for_people = True
