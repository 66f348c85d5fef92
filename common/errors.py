"""Domain errors shared by the services (no framework imports)."""

from __future__ import annotations

from pydantic import Field, ValidationError

from common.model import Model

#: German answers every API, the local gateway and API Gateway's own responses share.
UNAUTHENTICATED = "Bitte anmelden."
FORBIDDEN = "Keine Berechtigung für diese Aktion."
NOT_FOUND = "Nicht gefunden."


class FieldError(Model):
    """One invalid field: dotted path into the request body and a German message for people."""

    field: str
    message: str


class ErrorResponse(Model):
    """The one error body of the platform (every API answer ≥ 400, the local gateway's and API Gateway's
    own answers): a German summary and the invalid fields. It never echoes input values, stack traces
    or module names."""

    message: str
    errors: list[FieldError] = Field(default=[])  # pydantic copies the default per instance


def error_body(message: str, errors: list[FieldError] | None = None) -> str:
    """The JSON text of an :class:`ErrorResponse` (German, not ASCII-escaped)."""
    return ErrorResponse(message=message, errors=errors or []).model_dump_json()


class DomainValidationError(ValueError):
    """Input is well-formed but breaks a business rule; mapped to HTTP 422 with ``errors``."""

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


def merged_record_errors(e: ValidationError) -> DomainValidationError:
    """The rules of a whole record broken by a merged change (a PATCH applied to the stored record): each
    error at its field with its German text (validators raise ``ValueError("<German>")``)."""
    return DomainValidationError(
        [
            FieldError(
                field=".".join(str(p) for p in err["loc"]) or "body",
                message=str((err.get("ctx") or {}).get("error") or "Ungültiger Wert."),
            )
            for err in e.errors()
        ]
    )


class NotFoundError(LookupError):
    """The item does not exist *or* the caller may not see it (never reveal which): HTTP 404."""


class ConflictError(RuntimeError):
    """The request conflicts with the current state (e.g. idempotency key reused): HTTP 409.

    The message is shown to people (German) unless a subclass sets ``for_people = False`` (technical
    conflicts, answered with a generic German text)."""

    for_people = True


class InvalidCursorError(ValueError):
    """A pagination start key the database refused (``common.dynamodb.query_page``)."""
