"""The audit table (:mod:`common.audit_log` defines the entry): appends only, never overwrites.

Each service reaches it through its ``dal`` package, so that ``logic`` never imports boto3
(docs/architecture.md).
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from common import aws
from common.audit_log import TTL, AuditEntry, entry_key
from contracts.topology import AUDIT_LOG


class AuditLog:
    """Appends entries to the audit table (no update, no delete)."""

    @property
    def table(self) -> Any:
        return aws.table(AUDIT_LOG.name)

    def append(self, entry: AuditEntry, *, expires_at: int) -> None:
        """Store ``entry`` (never overwrites: the key holds a fresh ULID); ``expires_at`` in epoch seconds."""
        item = {**entry.model_dump(mode="json"), **entry_key(entry), TTL: expires_at}
        self.table.put_item(Item=item, ConditionExpression=Attr(AUDIT_LOG.pk).not_exists())
