"""The audit log of access to students' personal data (docs/datenschutz.md): who, what, when, why.

One platform table (topology ``AUDIT_LOG``) that every service writes to *before* personal data leave it
(an access whose entry cannot be written fails); the office reads it with ``GET /audit`` (intake API).
Entries carry intake ids (pseudonymous ULIDs), the caller's Cognito subject and user name, the role the
access was allowed under, the service, the action and the purpose; never names or other data of students.

Table items: partition ``day`` (``YYYY-MM-DD`` of the access, UTC), sort key ``entry``
(``<ISO time>#<ULID>``, so a day reads in time order), the :class:`AuditEntry` fields and the TTL.

Retention: until the end of the calendar year after the access, following the rule for log data of
§ 76 Abs. 4 BDSG ("Die Protokolldaten sind am Ende des auf deren Generierung folgenden Jahres zu löschen").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from typing import Literal, Protocol

from pydantic import Field
from ulid import ULID

from common.auth import Principal
from common.model import Model
from common.observability import logger
from contracts.topology import AUDIT_LOG

AuditAction = Literal["create", "read", "list", "update", "withdraw", "exit", "assign"]
"""``create``/``update``/``withdraw``: a school or the office wrote the intake form; ``read``/``list``:
personal data were shown (one student, or a list); ``exit``: a student's exit and destination recorded;
``assign``: the office chose a student's companion."""
ActorRole = Literal["office", "school", "companion"]
AuditService = Literal["intake", "matching", "reporting", "casework"]
Purposes = Mapping[tuple[AuditAction, ActorRole], str]

TTL = AUDIT_LOG.ttl_attribute or "expires_at"


class AuditEntry(Model):
    """One access: ``intake_ids`` are pseudonymous ULIDs (they stay after an erasure; the names do not)."""

    entry_id: str = Field(description="ULID of the entry")
    at: datetime = Field(description="Time of the access (UTC)")
    service: AuditService = Field(description="The service that handed out the data")
    action: AuditAction
    actor: str = Field(description="Cognito subject (sub) of the caller")
    actor_name: str = Field(description="Cognito user name of the caller (staff, not students)")
    role: ActorRole = Field(description="The role under which the access was allowed")
    purpose: str = Field(description="Why: the purpose of the processing this access served (German)")
    intake_ids: list[str] = Field(description="Intakes (students) whose personal data were accessed")
    count: int = Field(ge=0, description="Number of intakes")


def time_key(at: datetime) -> str:
    """The instant part of an entry's sort key (``<iso>``, UTC, microseconds): keys of entries at or after
    ``at`` sort at or above it, keys of earlier entries below it."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def entry_key(entry: AuditEntry) -> dict[str, str]:
    """The table key of ``entry``: ``{"day": "YYYY-MM-DD", "entry": "<iso>#<ulid>"}``."""
    at = time_key(entry.at)
    return {AUDIT_LOG.pk: at[:10], AUDIT_LOG.sk or "entry": f"{at}#{entry.entry_id}"}


def role_of(principal: Principal) -> ActorRole:
    """The role an access is recorded under: office before school before companion (the widest right
    that allowed it)."""
    if principal.is_office:
        return "office"
    if principal.school_ids:
        return "school"
    return "companion"


def expiry(at: datetime) -> int:
    """Epoch seconds of the end of the calendar year after ``at`` (§ 76 Abs. 4 BDSG)."""
    return int(datetime.combine(date(at.year + 1, 12, 31), time(23, 59, 59), UTC).timestamp())


class Journal(Protocol):
    """Where entries are appended: :class:`common.audit_store.AuditLog` (the table), reached by each service
    through its ``dal`` (logic stays free of boto3), or a test fake."""

    def append(self, entry: AuditEntry, *, expires_at: int) -> None: ...


def record(
    service: AuditService,
    action: AuditAction,
    principal: Principal,
    intake_ids: Iterable[str],
    now: datetime,
    purposes: Purposes,
    journal: Journal,
) -> AuditEntry:
    """Write one entry (and a structured log line without ids). The purpose is ``purposes[(action, role)]``
    (the office's when the role has none). Raises ``KeyError`` for an action without a purpose and what the
    table raises: the caller must not hand out the data then."""
    ids = list(intake_ids)
    role = role_of(principal)
    entry = AuditEntry(
        entry_id=str(ULID.from_datetime(now)),
        at=now.astimezone(UTC),
        service=service,
        action=action,
        actor=principal.subject,
        actor_name=principal.username,
        role=role,
        purpose=purposes.get((action, role)) or purposes[(action, "office")],
        intake_ids=ids,
        count=len(ids),
    )
    journal.append(entry, expires_at=expiry(now))
    logger(service).info(
        "audit",
        extra={
            "audit": {
                "action": action,
                "actor": principal.audit_actor(),
                "count": len(ids),
                "entry_id": entry.entry_id,
            }
        },
    )
    return entry
