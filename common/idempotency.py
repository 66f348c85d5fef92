"""Powertools idempotency on the topology's ``idempotency`` table, for every service; and ``Idempotency-Key``
on API POSTs (the header's declaration, ``IdempotencyKey``, is in :mod:`common.routes`: the scheduled runs
need no OpenAPI models).

Powertools configures a persistence layer once, for the first config it is used with, so there is one layer
per *use* (``"api"``, ``"scheduled-runs"``) and table and client. Created lazily: nothing is read from the
environment at import time.

API requests are keyed on (operation, caller, key) and validated on the *parsed* request, so the same key
with another body is a 409 while whitespace or key order do not matter.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from common import aws, settings
from contracts.topology import IDEMPOTENCY

if TYPE_CHECKING:
    from pydantic import BaseModel

#: API requests with an ``Idempotency-Key`` (:func:`once`).
CONFIG = IdempotencyConfig(
    event_key_jmespath="[operation, caller, key]",
    payload_validation_jmespath="payload",
    expires_after_seconds=24 * 3600,
)


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
    return _store(use, settings.table_name(IDEMPOTENCY.name), aws.client("dynamodb"))


def once(
    operation: str, caller: str, key: str, payload: dict[str, Any], run: Callable[[], tuple[int, BaseModel]]
) -> tuple[int, Any, bool]:
    """Run ``run`` once per (operation, caller, key): (status, JSON body, replayed?). A replay returns the
    stored response; the same key with another ``payload`` raises ``IdempotencyValidationError``."""
    executed: list[bool] = []

    def execute(request: dict[str, Any]) -> dict[str, Any]:
        executed.append(True)
        status, body = run()
        return {"status": status, "body": body.model_dump(mode="json")}

    guarded = idempotent_function(
        data_keyword_argument="request", persistence_store=persistence_store("api"), config=CONFIG
    )(execute)
    result = guarded(request={"operation": operation, "caller": caller, "key": key, "payload": payload})
    return int(result["status"]), result["body"], not executed
