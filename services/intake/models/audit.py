"""Audit log models: one entry per access to personal data (who, what, when, why), no student data."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AuditAction = Literal["create", "read", "list", "update", "withdraw"]
"""``create``/``update``/``withdraw``: a school or the office wrote the form; ``read``/``list``: personal
data were shown (one intake, or the names in a list page)."""
ActorRole = Literal["office", "school", "companion"]


class AuditEntry(BaseModel):
    """One access: ``intake_ids`` are pseudonymous ULIDs (they stay after an erasure; the names do not)."""

    entry_id: str = Field(description="ULID of the entry")
    at: datetime = Field(description="Time of the access (UTC)")
    action: AuditAction
    actor: str = Field(description="Cognito subject (sub) of the caller")
    actor_name: str = Field(description="Cognito user name of the caller (staff, not students)")
    role: ActorRole = Field(description="The role under which the access was allowed")
    purpose: str = Field(description="Why: the purpose of the processing this access served (German)")
    intake_ids: list[str] = Field(description="Intakes whose personal data were accessed")
    count: int = Field(ge=0, description="Number of intakes")


class AuditPage(BaseModel):
    """``GET /audit``: entries of the requested days, newest first."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")
