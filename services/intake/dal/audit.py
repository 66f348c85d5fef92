"""DynamoDB access for the ``audit-log`` table (topology ``AUDIT_LOG``).

Items: partition ``day`` (``YYYY-MM-DD`` of the access, UTC), sort key ``entry``
(``<ISO time>#<ULID>``, so a day reads in time order), the :class:`AuditEntry` fields and the TTL
attribute. Entries are only ever added (no update, no delete API).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from common import settings
from contracts.topology import AUDIT_LOG
from services.intake.dal.paging import InvalidCursorError, query_page
from services.intake.models.audit import AuditEntry
from services.intake.models.intake import iso

TABLE = AUDIT_LOG.name
TTL = AUDIT_LOG.ttl_attribute or "expires_at"


class InvalidAuditCursorError(ValueError):
    """A start key DynamoDB refused."""


def entry_key(entry: AuditEntry) -> dict[str, str]:
    """The table key of ``entry``: ``{"day": "YYYY-MM-DD", "entry": "<iso>#<ulid>"}``."""
    return {AUDIT_LOG.pk: iso(entry.at)[:10], AUDIT_LOG.sk or "entry": f"{iso(entry.at)}#{entry.entry_id}"}


class AuditLogRepository:
    """Appends and reads audit entries."""

    @property
    def table(self) -> Any:
        return settings.table(TABLE)

    def append(self, entry: AuditEntry, *, expires_at: int) -> None:
        """Store ``entry`` (never overwrites: the key contains a fresh ULID); ``expires_at`` in epoch
        seconds."""
        item = {**entry.model_dump(mode="json"), **entry_key(entry), TTL: expires_at}
        self.table.put_item(Item=item, ConditionExpression=Attr(AUDIT_LOG.pk).not_exists())

    def query_day(
        self,
        day: str,
        *,
        filters: Mapping[str, str],
        not_expired_at: int,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[AuditEntry], dict[str, Any] | None]:
        """Entries of one ``day`` (newest first) matching ``filters`` (``actor``/``action``: equality,
        ``intake_id``: contained in ``intake_ids``); returns up to ``limit`` and the next start key."""
        flt: ConditionBase = Attr(TTL).not_exists() | Attr(TTL).gt(not_expired_at)
        for attr, value in filters.items():
            flt = flt & (Attr("intake_ids").contains(value) if attr == "intake_id" else Attr(attr).eq(value))
        try:
            items, lek = query_page(
                self.table, key=Key(AUDIT_LOG.pk).eq(day), filter_expression=flt, limit=limit,
                start_key=start_key,
            )
        except InvalidCursorError:
            raise InvalidAuditCursorError("start key refused") from None
        return [AuditEntry.model_validate(_plain(i)) for i in items], lek


def _plain(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (int(v) if k == "count" else v) for k, v in item.items()}
