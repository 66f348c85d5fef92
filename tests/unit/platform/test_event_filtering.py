"""The local runtime's Lambda event filtering, pinned to the examples of the AWS documentation.

* "Using event filtering with a DynamoDB event source" (Lambda developer guide, with-ddb-filtering): the
  example stream record and its filters on keys, attributes, Boolean expressions and ``exists``; DynamoDB
  event source mappings filter on the ``dynamodb`` key only.
* "Control which events Lambda sends to your function", section "Filter rule syntax"
  (invocation-eventfiltering): one example per comparison operator.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from avdual.runtime.filtering import InvalidFilterError, check_dynamodb_patterns, matches, matches_any
from contracts import outbox

#: The example record of the DynamoDB filtering page.
DOC_RECORD: dict[str, Any] = {
    "eventID": "1",
    "eventVersion": "1.0",
    "dynamodb": {
        "ApproximateCreationDateTime": "1678831218.0",
        "Keys": {"CustomerName": {"S": "AnyCompany Industries"}},
        "NewImage": {
            "AccountManager": {"S": "Pat Candella"},
            "PaymentTerms": {"S": "60 days"},
            "CustomerName": {"S": "AnyCompany Industries"},
        },
        "SequenceNumber": "111",
        "SizeBytes": 26,
        "StreamViewType": "NEW_IMAGE",
    },
}


def _with_new_image(**attributes: dict[str, Any]) -> dict[str, Any]:
    record = copy.deepcopy(DOC_RECORD)
    record["dynamodb"]["NewImage"].update(attributes)
    return record


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        # Filtering with table keys
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}, True),
        ({"dynamodb": {"Keys": {"CustomerName": {"S": ["Example Corp"]}}}}, False),
        # Filtering with table attributes ("Pat Candella" or "Shirley Rodriguez")
        ({"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}, True),
        ({"dynamodb": {"NewImage": {"AccountManager": {"S": ["Shirley Rodriguez"]}}}}, False),
        # the old image of an insert does not exist
        ({"dynamodb": {"OldImage": {"AccountManager": {"S": ["Pat Candella"]}}}}, False),
        # Filtering with Boolean expressions: AND of two attributes
        (
            {
                "dynamodb": {
                    "NewImage": {
                        "AccountManager": {"S": ["Pat Candella"]},
                        "PaymentTerms": {"S": ["60 days"]},
                    }
                }
            },
            True,
        ),
        (
            {
                "dynamodb": {
                    "NewImage": {
                        "AccountManager": {"S": ["Pat Candella"]},
                        "PaymentTerms": {"S": ["30 days"]},
                    }
                }
            },
            False,
        ),
        # Using the Exists operator (on leaf nodes of the DynamoDB JSON)
        ({"dynamodb": {"NewImage": {"PaymentTerms": {"S": [{"exists": True}]}}}}, True),
        ({"dynamodb": {"NewImage": {"Discount": {"S": [{"exists": True}]}}}}, False),
        ({"dynamodb": {"NewImage": {"Discount": {"S": [{"exists": False}]}}}}, True),
        # a whole missing image: its leaves do not exist either
        ({"dynamodb": {"OldImage": {"CustomerName": {"S": [{"exists": False}]}}}}, True),
        # JSON format for DynamoDB filtering: values keep their DynamoDB type key
        ({"dynamodb": {"NewImage": {"AccountManager": ["Pat Candella"]}}}, False),
    ],
)
def test_dynamodb_filter_examples(pattern: dict[str, Any], expected: bool) -> None:
    assert matches(pattern, DOC_RECORD) is expected


@pytest.mark.parametrize(
    ("rule", "value", "expected"),
    [
        ([None], None, True),  # Null
        ([None], "x", False),
        ([""], "", True),  # Empty
        (["Alice"], "Alice", True),  # Equals
        (["Alice"], "alice", False),
        ([{"equals-ignore-case": "alice"}], "ALICE", True),  # Equals (ignore case)
        (["Credit", "Debit"], "Debit", True),  # Or
        ([{"anything-but": ["Raining"]}], "Sunny", True),  # Not
        ([{"anything-but": ["Raining"]}], "Raining", False),
        ([{"numeric": ["=", 100]}], 100, True),  # Numeric (equals)
        ([{"numeric": ["=", 100]}], "100", False),
        ([{"numeric": [">", 10, "<=", 20]}], 20, True),  # Numeric (range)
        ([{"numeric": [">", 10, "<=", 20]}], 10, False),
        ([{"prefix": "us-"}], "us-east-1", True),  # Begins with
        ([{"prefix": "us-"}], "eu-central-1", False),
        ([{"suffix": ".png"}], "photo.png", True),  # Ends with
        ([{"suffix": ".png"}], "photo.jpg", False),
    ],
)
def test_filter_rule_syntax_examples(rule: list[Any], value: Any, expected: bool) -> None:
    assert matches({"field": rule}, {"field": value}) is expected


def test_exists_and_missing_fields() -> None:
    assert matches({"ProductName": [{"exists": True}]}, {"ProductName": "x"})
    assert not matches({"ProductName": [{"exists": True}]}, {})
    assert matches({"ProductName": [{"exists": False}]}, {})
    assert not matches({"ProductName": ["x"]}, {})  # a literal never matches a missing field


def test_and_across_fields_or_across_filters_and_arrays() -> None:
    record = {"Location": "New York", "Day": "Monday", "Tags": ["a", "b"]}
    assert matches({"Location": ["New York"], "Day": ["Monday"]}, record)  # And
    assert not matches({"Location": ["New York"], "Day": ["Tuesday"]}, record)
    assert matches({"$or": [{"Location": ["Boston"]}, {"Day": ["Monday"]}]}, record)  # Or (multiple fields)
    assert matches({"Tags": ["b"]}, record)  # an array value matches when one element does
    assert matches_any([{"Day": ["Tuesday"]}, {"Day": ["Monday"]}], record)  # filters are ORed
    assert not matches_any([{"Day": ["Tuesday"]}], record)
    assert matches_any([], record)  # no filter criteria: every record


def test_invalid_rules_are_rejected() -> None:
    with pytest.raises(InvalidFilterError):
        matches({"field": [{"prefixx": "a"}]}, {"field": "a"})  # a misspelt operator never matches all
    with pytest.raises(InvalidFilterError):
        matches({"field": "a"}, {"field": "a"})  # leaves are lists


def test_dynamodb_filters_name_only_the_dynamodb_key() -> None:
    check_dynamodb_patterns([{"dynamodb": {"Keys": {"id": {"S": ["x"]}}}}])
    with pytest.raises(InvalidFilterError, match="dynamodb key"):
        check_dynamodb_patterns([{"eventName": ["INSERT"], "dynamodb": {}}])


def _stream_record(event_name: str, new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, Any]:
    ddb: dict[str, Any] = {"Keys": {"id": (new or old or {})["id"]}, "SequenceNumber": "1"}
    if new is not None:
        ddb["NewImage"] = new
    if old is not None:
        ddb["OldImage"] = old
    return {"eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": ddb}


def test_the_outbox_filter_passes_inserted_outbox_items_only() -> None:
    pattern = outbox.filter_pattern("id")
    check_dynamodb_patterns([pattern])
    item = {
        "id": {"S": f"{outbox.OUTBOX_KEY_PREFIX}IntakeSubmitted:1"},
        outbox.OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": outbox.OUTBOX_RECORD_TYPE},
    }
    other = {"id": {"S": "lease#1"}, outbox.OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": "lease"}}
    assert matches(pattern, _stream_record("INSERT", item, None))
    assert not matches(pattern, _stream_record("MODIFY", item, item))  # an outbox item is never relayed twice
    assert not matches(pattern, _stream_record("REMOVE", None, item))  # TTL deletion
    assert not matches(pattern, _stream_record("INSERT", other, None))
    wrong_type = {**item, outbox.OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": "note"}}
    assert not matches(pattern, _stream_record("INSERT", wrong_type, None))
