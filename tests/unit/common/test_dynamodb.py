"""The one DynamoDB helper (common/dynamodb.py): every page, one filtered page, numbers, failed conditions.

DynamoDB's answers are built as the API documents them (``LastEvaluatedKey`` on every page but the last;
``TransactionCanceledException`` with one ``CancellationReasons`` entry per item, ``"None"`` for items that
passed — https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from common.dynamodb import (
    InvalidCursorError,
    all_items,
    cancellation_codes,
    condition_failed,
    from_dynamo,
    query_page,
    serialize,
    to_dynamo,
)


class Pages:
    """A Query/Scan that answers ``items`` ``size`` at a time and records the requests."""

    def __init__(self, items: list[dict[str, Any]], size: int, *, keep: Any = None) -> None:
        self.items, self.size, self.keep = items, size, keep or (lambda item: True)
        self.requests: list[dict[str, Any]] = []

    def __call__(self, **request: Any) -> dict[str, Any]:
        self.requests.append(request)
        start = request.get("ExclusiveStartKey", {}).get("i", -1) + 1
        if request.get("ExclusiveStartKey", {}).get("bad"):
            raise ClientError({"Error": {"Code": "ValidationException", "Message": "bad key"}}, "Query")
        n = request.get("Limit", self.size)
        read = self.items[start : start + min(n, self.size)]
        answer: dict[str, Any] = {"Items": [i for i in read if self.keep(i)]}
        if start + len(read) < len(self.items):
            answer["LastEvaluatedKey"] = {"i": start + len(read) - 1}
        return answer

    query = __call__


def test_all_items_follows_every_page() -> None:
    read = Pages([{"i": n} for n in range(7)], size=3)
    assert [i["i"] for i in all_items(read, KeyConditionExpression="k")] == list(range(7))
    assert [r.get("ExclusiveStartKey") for r in read.requests] == [None, {"i": 2}, {"i": 5}]
    assert all(r["KeyConditionExpression"] == "k" for r in read.requests)
    assert list(all_items(Pages([], size=3))) == []


def test_query_page_reads_rounds_until_the_page_is_full() -> None:
    table = Pages([{"i": n, "even": n % 2 == 0} for n in range(20)], size=4, keep=lambda i: i["even"])
    items, last = query_page(
        table, key=Key("pk").eq("x"), filter_expression=Attr("a").eq(1), limit=4, start_key=None
    )
    assert [i["i"] for i in items] == [0, 2, 4, 6] and last == {"i": 6}  # Limit shrinks per round
    more, _ = query_page(
        table, key=Key("pk").eq("x"), filter_expression=Attr("a").eq(1), limit=4, start_key=last
    )
    assert [i["i"] for i in more] == [8, 10, 12, 14]
    with pytest.raises(InvalidCursorError):
        query_page(
            table, key=Key("pk").eq("x"), filter_expression=Attr("a").eq(1), limit=4, start_key={"bad": 1}
        )


def test_numbers_in_and_out() -> None:
    plain = {"cost": 1.25, "n": 3, "nested": {"share": [0.5, 2]}, "text": "x", "none": None}
    stored = to_dynamo(plain)
    assert stored["cost"] == Decimal("1.25") and stored["nested"]["share"] == [Decimal("0.5"), 2]
    assert from_dynamo({"n": Decimal(3), "cost": Decimal("1.25"), "l": [Decimal("2.0")]}) == {
        "n": 3,
        "cost": 1.25,
        "l": [2],
    }
    assert serialize(plain) == {
        "cost": {"N": "1.25"},
        "n": {"N": "3"},
        "nested": {"M": {"share": {"L": [{"N": "0.5"}, {"N": "2"}]}}},
        "text": {"S": "x"},
    }


def _error(code: str, reasons: list[str] | None = None) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "m"}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": r} for r in reasons]
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


def test_a_failed_condition_is_told_from_other_errors() -> None:
    single = _error("ConditionalCheckFailedException")
    assert condition_failed(single) and condition_failed(single, item=0)
    business = _error("TransactionCanceledException", ["ConditionalCheckFailed", "None"])
    outbox = _error("TransactionCanceledException", ["None", "ConditionalCheckFailed"])
    conflict = _error("TransactionCanceledException", ["TransactionConflict", "None"])
    assert cancellation_codes(business) == ["ConditionalCheckFailed", "None"]
    assert condition_failed(business, item=0) and not condition_failed(outbox, item=0)
    assert condition_failed(outbox) and condition_failed(outbox, item=1)
    assert not condition_failed(conflict) and cancellation_codes(conflict)[0] == "TransactionConflict"
    assert not condition_failed(_error("ProvisionedThroughputExceededException"))
    assert cancellation_codes(single) == []
