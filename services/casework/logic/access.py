"""Who sees and changes which student's casework, and the audit log of every access.

- the office: every student;
- a companion: the students whose current (after an exit: last) companion they are; during a colleague's
  leave with them as substitute (learnt from ``CompanionUpdated``), the colleague's students read-only;
- nobody else. A student the caller may not see is "not found" (404: never reveal that the student exists);
  a substitute who tries to change something gets 403.

Every read of personal data (the caseload list, a student's casework with notes) and every change is written
to the audit log (:mod:`common.audit_log`) before the data leave the service.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from common import audit_log
from common.audit_log import ActorRole, AuditAction
from common.auth import ForbiddenError, Principal
from common.errors import DomainValidationError, FieldError, NotFoundError
from contracts.calendar import local_date
from contracts.retention import is_expired
from services.casework.dal.audit_journal import AuditLog
from services.casework.dal.store import CaseworkStore
from services.casework.models.casework import StudentCase

#: Why casework data were processed: the purposes of the processing record (docs/datenschutz.md).
PURPOSES: dict[tuple[AuditAction, ActorRole], str] = {
    ("list", "companion"): "Begleitung: Übersicht der eigenen (oder vertretenen) Schülerinnen und Schüler",
    ("list", "office"): "Koordination: Fallübersicht einer Begleitung",
    ("read", "companion"): "Begleitung: Praktika, Gespräche und Kontakte der begleiteten Schülerin / des "
    "begleiteten Schülers (oder in Vertretung)",
    ("read", "office"): "Koordination: Begleitung einer Schülerin / eines Schülers einsehen",
    ("create", "companion"): "Begleitung: Praktikum, Gespräch oder Kontakt erfassen",
    ("create", "office"): "Koordination: Praktikum, Gespräch oder Kontakt erfassen",
    ("update", "companion"): "Begleitung: Praktikum ändern oder beenden",
    ("update", "office"): "Koordination: Praktikum ändern oder beenden",
}


def audit(action: AuditAction, principal: Principal, intake_ids: Iterable[str], now: datetime) -> None:
    audit_log.record("casework", action, principal, intake_ids, now, PURPOSES, journal=AuditLog())


@dataclass(frozen=True)
class Access:
    """How the caller reaches one student: ``read_only`` for a substitute."""

    case: StudentCase
    read_only: bool


def live(case: StudentCase | None, now: datetime) -> bool:
    """Not withdrawn (erased) and not past its retention."""
    return case is not None and case.status != "withdrawn" and not is_expired(case.expires_at, now)


def visible(case: StudentCase | None, principal: Principal, store: CaseworkStore, now: datetime) -> Access:
    """The caller's access to ``case`` or :class:`NotFoundError`."""
    if case is None or not live(case, now):
        raise NotFoundError("student")
    if principal.is_office:
        return Access(case, read_only=False)
    own = principal.companion_id
    if own is None or case.companion_id is None:
        raise NotFoundError("student")
    if case.companion_id == own:
        return Access(case, read_only=False)
    if store.substitutions.substitutes(own, case.companion_id, local_date(now)):
        return Access(case, read_only=True)
    raise NotFoundError("student")


def writable(
    case: StudentCase | None, principal: Principal, store: CaseworkStore, now: datetime
) -> StudentCase:
    """The case if the caller may change it (the office, the student's own companion; not while the student
    waits for a companion); a substitute: :class:`ForbiddenError`."""
    access = visible(case, principal, store, now)
    if access.read_only:
        raise ForbiddenError("substitutes read only")
    if access.case.status == "waitlisted" or access.case.companion_id is None:
        raise NotFoundError("student")
    return access.case


def caseloads(
    principal: Principal, companion_id: str | None, store: CaseworkStore, now: datetime
) -> dict[str, bool]:
    """``companion id → read_only`` of the caseloads the caller lists: the office the asked one; a companion
    the own and those of colleagues they substitute for today (or only the asked one of these)."""
    if principal.is_office:
        if companion_id is None:
            raise DomainValidationError(
                [FieldError(field="companion_id", message="Bitte eine Begleitung wählen (z. B. B01).")]
            )
        return {companion_id: False}
    own = principal.companion_id
    if own is None:
        raise ForbiddenError("no caseload")
    loads = {own: False} | {c: True for c in sorted(store.substitutions.substituted_by(own, local_date(now)))}
    if companion_id is not None:
        if companion_id not in loads:
            raise ForbiddenError("not a caseload of the caller")
        return {companion_id: loads[companion_id]}
    return loads
