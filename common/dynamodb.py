"""DynamoDB helpers every dal shares: read every page, fill one filtered page, get many items by key,
numbers in and out of DynamoDB, the low-level item format, and telling a failed condition from other errors.

Used by the dals only (``services/*/dal``, ``common.outbox``): logic never talks to DynamoDB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import ConditionBase
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from common.errors import InvalidCursorError

__all__ = [
    "InvalidCursorError",
    "all_items",
    "batch_get",
    "cancellation_codes",
    "condition_failed",
    "from_dynamo",
    "query_page",
    "serialize",
    "to_dynamo",
]

_serializer = TypeSerializer()


# ----------------------------------------------------------------------------------------------- reading
def all_items(read: Callable[..., Mapping[str, Any]], /, **request: Any) -> Iterator[dict[str, Any]]:
    """Every item of a Query or Scan, page after page (DynamoDB returns at most 1 MB per call):
    ``all_items(table.query, KeyConditionExpression=Key("pk").eq(pk))``, ``all_items(table.scan)``."""
    request = dict(request)
    while True:
        response = read(**request)
        yield from response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last:
            return
        request["ExclusiveStartKey"] = last


def batch_get(table: Any, keys: Iterable[Mapping[str, Any]], **options: Any) -> Iterator[dict[str, Any]]:
    """The items of ``keys`` that exist in ``table`` (a boto3 ``Table``), by ``BatchGetItem`` in chunks of
    100 keys (its limit), asking again for ``UnprocessedKeys``; ``options`` (``ConsistentRead``,
    ``ProjectionExpression``, …) go into every request. The table's own client converts the values, as
    ``Table`` calls do."""
    wanted = list(keys)
    for n in range(0, len(wanted), 100):
        request: dict[str, Any] = {table.name: {"Keys": wanted[n : n + 100], **options}}
        while request:
            response = table.meta.client.batch_get_item(RequestItems=request)
            yield from response.get("Responses", {}).get(table.name, [])
            request = response.get("UnprocessedKeys") or {}


def query_page(
    table: Any,
    *,
    key: ConditionBase,
    filter_expression: ConditionBase,
    limit: int,
    start_key: dict[str, Any] | None,
    index: str | None = None,
    max_rounds: int = 10,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Up to ``limit`` items (newest first) of the partition ``key`` that pass ``filter_expression``, in at
    most ``max_rounds`` queries — ``Limit`` counts items *read* and the filter may drop them, so a page is
    read in rounds until it is full or the partition ends. Returns the raw items and the start key of the
    next page (``None`` at the end). Raises :class:`InvalidCursorError` if DynamoDB refuses ``start_key``."""
    items: list[dict[str, Any]] = []
    last = start_key
    for _ in range(max_rounds):
        request: dict[str, Any] = {
            "KeyConditionExpression": key,
            "FilterExpression": filter_expression,
            "ScanIndexForward": False,
            "Limit": limit - len(items),
        }
        if index:
            request["IndexName"] = index
        if last:
            request["ExclusiveStartKey"] = last
        try:
            response = table.query(**request)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ValidationException" and last:
                raise InvalidCursorError("start key refused") from None
            raise
        items += response.get("Items", [])
        last = response.get("LastEvaluatedKey")
        if not last or len(items) >= limit:
            break
    return items, last


# ----------------------------------------------------------------------------------------------- numbers
def to_dynamo(value: Any) -> Any:
    """A plain (JSON-like) value as DynamoDB stores it: floats as ``Decimal`` (boto3 refuses floats), through
    dicts and lists."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_dynamo(v) for v in value]
    return value


def from_dynamo(value: Any) -> Any:
    """A value read from DynamoDB as plain Python: ``Decimal`` back to ``int`` (whole) or ``float``."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, Mapping):
        return {k: from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [from_dynamo(v) for v in value]
    return value


def serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item in the low-level client format (``{"S": …}``, ``{"N": …}``) for ``TransactWriteItems``;
    attributes that are ``None`` are left out."""
    return {k: _serializer.serialize(to_dynamo(v)) for k, v in item.items() if v is not None}


# ----------------------------------------------------------------------------------------------- failures
def cancellation_codes(error: ClientError) -> list[str]:
    """Per item of a cancelled transaction, why (``"ConditionalCheckFailed"``, ``"TransactionConflict"``,
    ``"None"`` for items that were fine); empty for any other error."""
    if error.response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [str(r.get("Code") or "None") for r in error.response.get("CancellationReasons") or []]


def condition_failed(error: ClientError, *, item: int | None = None) -> bool:
    """True if DynamoDB refused a write because its condition did not hold: a single write's
    ``ConditionalCheckFailedException``, or a transaction cancelled by a failed condition (of item ``item``
    if given, else of any item). Other errors (throttling, a conflict with another transaction, validation)
    are not: the caller re-raises them."""
    if error.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException":
        return item in (None, 0)
    codes = cancellation_codes(error)
    if item is not None:
        return item < len(codes) and codes[item] == "ConditionalCheckFailed"
    return "ConditionalCheckFailed" in codes
