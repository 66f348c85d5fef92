"""The audit table (:mod:`common.audit_log` defines the entry): appends only, never overwrites.

Each service reaches it through its ``dal`` package, so that ``logic`` never imports boto3
(docs/architecture.md). :class:`AuditLog` writes an entry with its own ``PutItem``;
:class:`PendingAudit` holds entries for the ``TransactWriteItems`` of the write they record, so that the
data and the entry are stored together or not at all, in one AWS call (docs/performance.md).
"""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr

from common import aws, settings
from common.audit_log import TTL, AuditEntry, entry_key
from common.dynamodb import serialize
from contracts.topology import AUDIT_LOG


def _item(entry: AuditEntry, expires_at: int) -> dict[str, Any]:
    return {**entry.model_dump(mode="json"), **entry_key(entry), TTL: expires_at}


class AuditLog:
    """Appends entries to the audit table (no update, no delete)."""

    @property
    def table(self) -> Any:
        return aws.table(AUDIT_LOG.name)

    def append(self, entry: AuditEntry, *, expires_at: int) -> None:
        """Store ``entry`` (never overwrites: the key holds a fresh ULID); ``expires_at`` in epoch seconds."""
        self.table.put_item(
            Item=_item(entry, expires_at), ConditionExpression=Attr(AUDIT_LOG.pk).not_exists()
        )


class PendingAudit:
    """A journal whose entries are written by the caller's transaction: :attr:`puts` are ``TransactItems``
    entries (low-level client format), each conditional on its key not existing (as in
    :meth:`AuditLog.append`)."""

    def __init__(self) -> None:
        self.puts: list[dict[str, Any]] = []

    def append(self, entry: AuditEntry, *, expires_at: int) -> None:
        self.puts.append(
            {
                "Put": {
                    "TableName": settings.table_name(AUDIT_LOG.name),
                    "Item": serialize(_item(entry, expires_at)),
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": AUDIT_LOG.pk},
                }
            }
        )
