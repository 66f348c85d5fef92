"""Filtered DynamoDB queries that fill a page: ``Limit`` counts items *read*, a filter may drop them, so a
page is read in rounds until it is full or the partition ends."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import ConditionBase
from botocore.exceptions import ClientError


class InvalidCursorError(ValueError):
    """A pagination start key DynamoDB refused."""


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
    most ``max_rounds`` queries; returns the raw items and the start key of the next page (``None`` at the
    end). Raises :class:`InvalidCursorError` if DynamoDB refuses ``start_key``."""
    items: list[dict[str, Any]] = []
    lek = start_key
    for _ in range(max_rounds):
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": key,
            "FilterExpression": filter_expression,
            "ScanIndexForward": False,
            "Limit": limit - len(items),
        }
        if index:
            kwargs["IndexName"] = index
        if lek:
            kwargs["ExclusiveStartKey"] = lek
        try:
            resp = table.query(**kwargs)
        except ClientError as e:
            if e.response["Error"]["Code"] == "ValidationException" and lek:
                raise InvalidCursorError("start key refused") from None
            raise
        items += resp.get("Items", [])
        lek = resp.get("LastEvaluatedKey")
        if not lek or len(items) >= limit:
            break
    return items, lek
