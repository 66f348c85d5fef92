"""Powertools idempotency persistence on the topology's ``idempotency`` table.

One persistence layer per table and client (Powertools configures a layer once, for one config:
DESIGN.md §5). Created lazily: nothing is read from the environment at import time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from common import settings
from contracts.topology import IDEMPOTENCY


@cache
def _store(table_name: str, client: Any) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=IDEMPOTENCY.pk,
        expiry_attr=IDEMPOTENCY.ttl_attribute or "expiration",
        boto3_client=client,
    )


def persistence_store() -> DynamoDBPersistenceLayer:
    """The persistence layer for the current environment (table name from ``IDEMPOTENCY_TABLE``)."""
    return _store(settings.table_name(IDEMPOTENCY.name), settings.client("dynamodb"))
