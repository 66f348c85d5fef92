"""Audit log read models of the intake API (``GET /audit``); the entry itself is :mod:`common.audit_log`."""

from __future__ import annotations

from pydantic import Field

from common.audit_log import ActorRole, AuditAction, AuditEntry
from common.model import Model

__all__ = ["ActorRole", "AuditAction", "AuditEntry", "AuditPage"]


class AuditPage(Model):
    """``GET /audit``: entries of the requested days, newest first."""

    items: list[AuditEntry]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` for the next page")
