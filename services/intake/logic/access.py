"""Who may see or change which intake, what they see, and the audit log of personal-data reads.

- office: every intake; a school: its own school's intakes; a companion: only assigned students
  (``companion_id`` projected from matching events) and, read-only during a colleague's leave, the
  colleague's students (substitutes learnt from ``CompanionUpdated``, :mod:`common.substitutes`). Anything
  else is "not found" (404), so an id of another school reveals nothing.
- The free-text remark is visible only to the assigned companion (docs/datenschutz.md).
- Every access to personal data is audit-logged: who, what, when, why (no student data in the entry).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from common import audit_log
from common.audit_log import ActorRole, AuditAction
from common.auth import Principal
from common.errors import NotFoundError
from contracts import retention
from contracts.calendar import local_date
from services.intake.dal.audit_journal import AuditLog
from services.intake.dal.intakes import IntakeRepository
from services.intake.models.intake import IntakeRecord, IntakeView

ULID = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")

#: Why personal data were processed: the purposes of the processing record (docs/datenschutz.md).
PURPOSES: dict[tuple[AuditAction, ActorRole], str] = {
    ("create", "school"): "Anmeldung zum AV dual durch die Schule",
    ("create", "office"): "Anmeldung zum AV dual, erfasst durch das Bildungsbüro",
    ("read", "school"): "Anmeldung der eigenen Schule prüfen und pflegen",
    ("read", "office"): "Koordination der AV-dual-Begleitung (Zuweisung, Warteliste)",
    ("read", "companion"): "Begleitung der zugewiesenen (oder während einer Abwesenheit vertretenen) "
    "Schülerin / des Schülers",
    ("list", "school"): "Übersicht der Anmeldungen der eigenen Schule",
    ("list", "office"): "Übersicht der Anmeldungen (Koordination)",
    ("list", "companion"): "Übersicht der begleiteten (oder vertretenen) Schülerinnen und Schüler",
    ("update", "school"): "Berichtigung der Anmeldung (Art. 16 DSGVO)",
    ("update", "office"): "Berichtigung der Anmeldung (Art. 16 DSGVO)",
    ("withdraw", "school"): "Rücknahme der Anmeldung / Widerruf der Einwilligung: Löschung (Art. 17 DSGVO)",
    ("withdraw", "office"): "Rücknahme der Anmeldung / Widerruf der Einwilligung: Löschung (Art. 17 DSGVO)",
}


def audit(
    action: AuditAction,
    principal: Principal,
    intake_ids: Iterable[str],
    now: datetime,
    journal: audit_log.Journal | None = None,
) -> None:
    """Record the access in the audit log (:mod:`common.audit_log`, intake's purposes) before data leave:
    at once, or with ``journal=PendingAudit()`` in the transaction of the write it records."""
    audit_log.record("intake", action, principal, intake_ids, now, PURPOSES, journal=journal or AuditLog())


def load(intake_id: str, repo: IntakeRepository, now: datetime) -> IntakeRecord:
    """The live (not expired) intake or :class:`NotFoundError`."""
    record = repo.get(intake_id) if ULID.match(intake_id) else None
    if record is None or retention.is_expired(record.expires_at, now):
        raise NotFoundError(intake_id)
    return record


def load_readable(
    intake_id: str, principal: Principal, repo: IntakeRepository, now: datetime
) -> IntakeRecord:
    record = load(intake_id, repo, now)
    if principal.may_read(school_id=record.school_id, companion_id=record.companion_id):
        return record
    if record.companion_id and substitutes(principal, record.companion_id, repo, now):
        return record
    raise NotFoundError(intake_id)


def substitutes(principal: Principal, companion_id: str, repo: IntakeRepository, now: datetime) -> bool:
    """The caller is a companion who substitutes for ``companion_id`` on the day of ``now``."""
    own = principal.companion_id
    return own is not None and repo.substitutions.substitutes(own, companion_id, local_date(now))


def load_changeable(
    intake_id: str, principal: Principal, repo: IntakeRepository, now: datetime
) -> IntakeRecord:
    record = load(intake_id, repo, now)
    if not principal.may_access_school(record.school_id):
        raise NotFoundError(intake_id)
    return record


def remark_visible(record: IntakeRecord, principal: Principal) -> bool:
    return principal.companion_id is not None and record.companion_id == principal.companion_id


def view(record: IntakeRecord, principal: Principal) -> IntakeView:
    data = record.model_dump(include=set(IntakeView.model_fields))
    data["has_remark"] = bool(record.remark)
    if not remark_visible(record, principal):
        data["remark"] = None
    return IntakeView.model_validate(data)
