"""Reads of the platform ``audit-log`` table (topology ``AUDIT_LOG``; item layout and the writer:
:mod:`common.audit_log`) for ``GET /audit``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key

from common import aws
from common.audit_log import TTL, AuditEntry
from common.dynamodb import InvalidCursorError, from_dynamo, query_page
from contracts.topology import AUDIT_LOG


class InvalidAuditCursorError(ValueError):
    """A start key DynamoDB refused."""


class AuditLogRepository:
    """Reads audit entries, one day partition at a time."""

    @property
    def table(self) -> Any:
        return aws.table(AUDIT_LOG.name)

    def query_day(
        self,
        day: str,
        *,
        between: tuple[str, str],
        filters: Mapping[str, str],
        not_expired_at: int,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> tuple[list[AuditEntry], dict[str, Any] | None]:
        """Entries of one ``day`` partition (newest first) whose sort key lies ``between`` the two bounds
        (both included) and that match ``filters`` (``actor``/``action``: equality, ``intake_id``:
        contained in ``intake_ids``); returns up to ``limit`` and the next start key (``start_key`` must
        lie between the bounds: DynamoDB refuses a start key outside the key condition)."""
        flt: ConditionBase = Attr(TTL).not_exists() | Attr(TTL).gt(not_expired_at)
        for attr, value in filters.items():
            flt = flt & (Attr("intake_ids").contains(value) if attr == "intake_id" else Attr(attr).eq(value))
        try:
            items, lek = query_page(
                self.table,
                key=Key(AUDIT_LOG.pk).eq(day) & Key(AUDIT_LOG.sk or "entry").between(*between),
                filter_expression=flt,
                limit=limit,
                start_key=start_key,
            )
        except InvalidCursorError:
            raise InvalidAuditCursorError("start key refused") from None
        return [AuditEntry.model_validate(from_dynamo(i)) for i in items], lek
