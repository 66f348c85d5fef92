"""Transactional outbox writer: outbox items to append to a ``TransactWriteItems`` call.

Format: :mod:`contracts.outbox`. Usage in a dal::

    client.transact_write_items(TransactItems=[business_put, *outbox_puts("intakes", events)])
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from common import settings
from common.dynamodb import serialize
from common.events import OutgoingEvent
from contracts import outbox as ob
from contracts.topology import TABLES


def outbox_item(table_logical: str, event: OutgoingEvent) -> dict[str, Any]:
    """The outbox item (plain Python values) for ``event`` in table ``table_logical``; it expires
    :data:`contracts.outbox.OUTBOX_TTL_DAYS` after the event occurred."""
    table = TABLES[table_logical]
    if table.ttl_attribute is None or not table.stream:
        raise ValueError(f"table {table_logical} has no stream/TTL: it cannot carry an outbox")
    detail = event.detail()
    item: dict[str, Any] = {
        table.pk: f"{ob.OUTBOX_KEY_PREFIX}{event.idempotency_key}",
        ob.OUTBOX_RECORD_TYPE_ATTRIBUTE: ob.OUTBOX_RECORD_TYPE,
        ob.OUTBOX_DETAIL_TYPE_ATTRIBUTE: event.spec.detail_type,
        ob.OUTBOX_METADATA_ATTRIBUTE: json.dumps(
            detail["metadata"], ensure_ascii=False, separators=(",", ":")
        ),
        ob.OUTBOX_DATA_ATTRIBUTE: json.dumps(detail["data"], ensure_ascii=False, separators=(",", ":")),
        table.ttl_attribute: int(event.occurred_at.timestamp()) + ob.OUTBOX_TTL_DAYS * 86400,
    }
    if table.sk:
        item[table.sk] = ob.OUTBOX_SORT_KEY
    return item


def outbox_puts(table_logical: str, events: Iterable[OutgoingEvent]) -> list[dict[str, Any]]:
    """``TransactItems`` entries (low-level client format) putting one outbox item per event.

    Each put is conditional on the key not existing, so a retried transaction fails instead of
    publishing a fact twice.
    """
    table = TABLES[table_logical]
    return [
        {
            "Put": {
                "TableName": settings.table_name(table_logical),
                "Item": serialize(outbox_item(table_logical, e)),
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": table.pk},
            }
        }
        for e in events
    ]
