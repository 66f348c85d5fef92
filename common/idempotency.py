"""Powertools idempotency persistence on the topology's ``idempotency`` table, for every service.

Powertools configures a persistence layer once, for the first config it is used with (DESIGN.md §5), so
there is one layer per *use* (``"intake-api"``, ``"scheduled-runs"``) and table and client. Created
lazily: nothing is read from the environment at import time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from common import settings
from contracts.topology import IDEMPOTENCY


@cache
def _store(use: str, table_name: str, client: Any) -> DynamoDBPersistenceLayer:
    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=IDEMPOTENCY.pk,
        expiry_attr=IDEMPOTENCY.ttl_attribute or "expiration",
        boto3_client=client,
    )


def persistence_store(use: str) -> DynamoDBPersistenceLayer:
    """The persistence layer of ``use`` (one per ``IdempotencyConfig``) for the current environment (table
    name from ``IDEMPOTENCY_TABLE``)."""
    return _store(use, settings.table_name(IDEMPOTENCY.name), settings.client("dynamodb"))
