"""The local runtime's changes to moto (avdual/runtime/moto_patches.py) change speed, not behaviour.

JSONPath parse cache: moto builds each rule target's input with jsonpath_ng for every event; the runtime
parses each path once. What the target receives must stay what AWS delivers: without an input transformer
"EventBridge passes the entire event to the target"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html).

Serializer key cache and one-step ``AttributeValue``: moto looks up where each member of a response sits in
the value once per member and structure, and writes a DynamoDB value of plain strings, numbers, sets, maps,
lists, ``NULL`` and ``BOOL`` in one step; a response (items, returned attributes, stream records) is byte
for byte what moto's own serializer writes, and an item of every DynamoDB data type reads back as written
("Supported data types", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/
HowItWorks.NamingRulesDataTypes.html).

Update expression parse cache: moto parses each ``UpdateExpression`` text once; every update still applies
to its own item with its own values, and an expression that does not parse fails each time
("Update expressions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html).

SQS retention check: moto reads the queue's retention period directly; a message older than
``MessageRetentionPeriod`` is still never received ("the length of time, in seconds, for which Amazon SQS
retains a message", https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html).

Projection of named attributes: moto converts only the attributes a ``ProjectionExpression`` names; the
projected item stays moto's own, for random items and paths into maps and lists.

Partition query: moto answers a ``Query`` of the table's key from that partition, and one of an index from
the items with the queried index partition key; the items, their order
("Query results are always sorted by the sort key value", ``ScanIndexForward``), the pages (``Limit``,
``LastEvaluatedKey``) and the filter stay moto's own answer
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html).

Update expression tree copy: the validator's copy of a parsed expression is made node by node, the same
tree ``copy.deepcopy`` makes; every update is still validated and applied by moto (the refusals below).

Traverser node types: each of moto's update-expression traversers computes once which node types it
processes; the set is its own map's, and each kind of invalid update is still refused as DynamoDB refuses it
("Update expressions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html).

Dispatch name caches: moto's list of a response class's methods and its CamelCase → snake_case names are
kept per argument; a request still reaches the same handler and a queue reports every attribute
(``GetQueueAttributes`` with ``All``, https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_GetQueueAttributes.html).

Lazy KMS key pairs: moto makes a key's asymmetric pair on first use; an RSA signing key still signs and
verifies ("Sign", https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html) and an HMAC key still
makes and verifies MACs ("GenerateMac", https://docs.aws.amazon.com/kms/latest/APIReference/API_GenerateMac.html).

Traversal by class, item size as a running total, condition tokens once per text: every update, item and
condition is applied, measured and refused as by moto's own functions (compared with them below).

Validation plan: of moto's ten update-expression checks only those run that can act on the parsed tree
(decided once per tree, the request's names and key attributes tested per request); every update, on its
own and in transactions, is applied or refused (code, message, cancellation reasons) as with moto's own
validation, and leaves the same validated tree.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from avdual.runtime import ACCOUNT, REGION, LocalRuntime


def test_the_jsonpath_parser_is_cached_while_a_runtime_runs(rt: LocalRuntime) -> None:
    import jsonpath_ng.ext

    assert jsonpath_ng.ext.parse("$.detail") is jsonpath_ng.ext.parse("$.detail")
    assert [m.value for m in jsonpath_ng.ext.parse("$.detail.n").find({"detail": {"n": 3}})] == [3]


def test_a_rule_target_without_input_transformer_still_receives_the_entire_event(rt: LocalRuntime) -> None:
    detail = {"metadata": {"event_id": "e1"}, "data": {"intake_id": "x", "n": 1, "nested": {"a": [1, 2]}}}
    for _ in range(2):  # the second event goes through the cached paths
        rt.put_event_raw("avdual.intake", "IntakeSubmitted", detail)
    url, _ = rt._queues["matching-intake-events"]
    msgs = boto3.client("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(msgs) == 2
    for m in msgs:
        event = json.loads(m["Body"])
        assert event["source"] == "avdual.intake"
        assert event["detail-type"] == "IntakeSubmitted"
        assert event["detail"] == detail
        assert {"id", "version", "time", "region", "resources"} <= set(event)  # moto omits "account"


ITEM_OF_EVERY_TYPE = {
    "pk": {"S": "every-type"},
    "s": {"S": "Ä text ✓"},
    "n": {"N": "-12.5"},
    "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "3"}, {"NULL": True}, {"BOOL": False}]}}},
    "l": {"L": [{"M": {"k": {"BOOL": True}}}, {"SS": ["z"]}]},
    "null": {"NULL": True},
    "bool": {"BOOL": True},
}


def _raw_responses(table: str) -> list[bytes]:
    """The HTTP bodies moto writes for a GetItem, a Scan, a Query and an UpdateItem returning the item (before
    botocore parses them), and the images of the table's first three stream records as moto wrote them."""
    bodies: list[bytes] = []
    ddb = boto3.client("dynamodb")
    # the classic endpoint, as the runtime's stream reader (moto does not route the account-based one)
    streams = boto3.client("dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com")
    for client in (ddb, streams):
        client.meta.events.register(
            "after-call", lambda http_response, **_: bodies.append(http_response.content)
        )
    ddb.get_item(TableName=table, Key={"pk": ITEM_OF_EVERY_TYPE["pk"]}, ConsistentRead=True)
    ddb.scan(TableName=table)
    ddb.query(
        TableName=table,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "every-type"}},
    )
    ddb.update_item(
        TableName=table,
        Key={"pk": ITEM_OF_EVERY_TYPE["pk"]},
        UpdateExpression="SET s = :s",
        ExpressionAttributeValues={":s": ITEM_OF_EVERY_TYPE["s"]},
        ReturnValues="ALL_NEW",
    )
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    [shard] = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
    streams.get_records(ShardIterator=it["ShardIterator"])
    *reads, records = [b for b in bodies if b"every-type" in b]
    # a stream record's id and time differ from read to read: its images are what both must write alike
    images = [
        json.dumps(
            [r["eventName"], r["dynamodb"]["Keys"], r["dynamodb"]["NewImage"], r["dynamodb"].get("OldImage")]
        )
        for r in json.loads(records)["Records"][:3]  # the two puts and the first update
    ]
    return [*reads, *(i.encode() for i in images)]


def test_dynamodb_responses_are_what_motos_own_serializer_writes(rt: LocalRuntime) -> None:
    """Both serializer changes (the key cache, the one-step ``AttributeValue``) against moto's own
    serializer, for items of every type: plain ones take the one step, binary values moto's path."""
    from moto.core import serialize

    table = "serializer-check"
    ddb = _create_table(table, stream=True)
    ddb.put_item(TableName=table, Item=ITEM_OF_EVERY_TYPE)
    plain = {k: v for k, v in ITEM_OF_EVERY_TYPE.items() if k not in ("b", "bs")}
    ddb.put_item(TableName=table, Item={**plain, "pk": {"S": "every-type-but-binary"}})
    picker, json_serializer = serialize.XFormedAttributePicker, serialize.BaseJSONSerializer
    cached, one_step = picker.get_possible_keys, json_serializer._serialize_type_structure
    assert getattr(cached, "_avdual_cached", False)
    assert getattr(one_step, "_avdual_plain_attribute_values", False)
    patched = _raw_responses(table)
    picker.get_possible_keys = cached._avdual_original  # type: ignore[attr-defined,method-assign]
    json_serializer._serialize_type_structure = one_step._avdual_original  # type: ignore[attr-defined,method-assign]
    try:
        moto_own = _raw_responses(table)
    finally:
        picker.get_possible_keys = cached  # type: ignore[method-assign]
        json_serializer._serialize_type_structure = one_step  # type: ignore[method-assign]
    assert len(patched) == 7  # GetItem, Scan, Query, UpdateItem, the stream's three records
    assert [b"every-type-but-binary" in body for body in patched] == [
        False,
        True,
        False,
        False,
        False,
        True,
        False,
    ]
    assert patched == moto_own
    assert ddb.get_item(TableName=table, Key={"pk": ITEM_OF_EVERY_TYPE["pk"]})["Item"] == ITEM_OF_EVERY_TYPE
    assert sorted(ddb.scan(TableName=table)["Items"], key=lambda i: i["pk"]["S"]) == [
        ITEM_OF_EVERY_TYPE,
        {**plain, "pk": {"S": "every-type-but-binary"}},
    ]


def _create_table(
    name: str,
    *,
    sort_key: tuple[str, str] | None = None,
    types: dict[str, str] | None = None,
    indexes: dict[str, tuple[str, str | None]] | None = None,
    stream: bool = False,
) -> Any:
    """A pay-per-request table keyed by ``pk`` (a string) and ``sort_key`` (name, type), with the global
    secondary ``indexes`` (name → hash key, range key or None; every attribute projected) whose other key
    attributes have the ``types``, and a stream of both images if ``stream``; the client."""
    ddb = boto3.client("dynamodb")
    keys = {"pk": "S", **dict([sort_key] if sort_key else [])}
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": [{"AttributeName": a, "KeyType": "HASH" if a == "pk" else "RANGE"} for a in keys],
        "AttributeDefinitions": [
            {"AttributeName": a, "AttributeType": t} for a, t in {**keys, **(types or {})}.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": hash_key, "KeyType": "HASH"},
                    *([{"AttributeName": range_key, "KeyType": "RANGE"}] if range_key else []),
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index, (hash_key, range_key) in indexes.items()
        ]
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    ddb.create_table(**request)
    return ddb


def _attribute_values() -> Any:
    """Every DynamoDB data type, nested in maps and lists (sets non-empty and without duplicates)."""
    from hypothesis import strategies as st

    text = st.text(max_size=6)
    number = st.integers(-(10**6), 10**6).map(str) | st.sampled_from(["0.5", "-12.25", "1E+3"])
    blob = st.binary(max_size=6)
    scalar = st.one_of(
        text.map(lambda v: {"S": v}),
        number.map(lambda v: {"N": v}),
        blob.map(lambda v: {"B": v}),
        st.sets(text, min_size=1, max_size=3).map(lambda v: {"SS": sorted(v)}),
        st.sets(st.integers(-99, 99).map(str), min_size=1, max_size=3).map(lambda v: {"NS": sorted(v)}),
        st.sets(blob, min_size=1, max_size=3).map(lambda v: {"BS": sorted(v)}),
        st.just({"NULL": True}),
        st.booleans().map(lambda v: {"BOOL": v}),
    )
    return st.recursive(
        scalar,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3).map(lambda v: {"L": v}),
            # a map key is never empty here: moto writes an empty key's value into the map itself (both ways)
            st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=3).map(lambda v: {"M": v}),
        ),
        max_leaves=8,
    )


PROJECTIONS = [
    "a",
    "a, c",
    "b[0]",
    "b[1].k",
    "c.k",
    "d, a[0], pk",
    "m.inner[2], l[0].k",
    "s, n, l[1], bs, nope",
]


def _projected(ddb: Any, table: str) -> list[bytes]:
    """The HTTP bodies moto writes for a GetItem and a Query with each projection (or the error moto fails
    with: its own ``find_nested_key`` fails on a path into a number)."""
    bodies: list[bytes] = []
    ddb.meta.events.register(
        "after-call.dynamodb", lambda http_response, **_: bodies.append(http_response.content)
    )
    query = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "every-type"}}}
    for projection in PROJECTIONS:
        for call, request in (
            (ddb.get_item, {"Key": {"pk": ITEM_OF_EVERY_TYPE["pk"]}}),
            (ddb.query, query),
        ):
            try:
                call(TableName=table, ProjectionExpression=projection, **request)
            except Exception as e:
                bodies.append(f"{type(e).__name__}: {e}".encode())
    return bodies


def test_a_projection_answers_what_motos_own_projection_answers(rt: LocalRuntime) -> None:
    """Only the named attributes are converted; the projected items are moto's own, for random items and
    paths into maps and lists ("Projection expressions", https://docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/Expressions.ProjectionExpressions.html)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from moto.dynamodb.models.dynamo_type import Item

    table = "projection-check"
    _create_table(table)
    patched = Item.project
    assert getattr(patched, "_avdual_named", False)

    def both(item: dict[str, Any]) -> tuple[list[bytes], list[bytes]]:
        ddb = boto3.client("dynamodb")
        ddb.put_item(TableName=table, Item=item)
        with_patch = _projected(ddb, table)
        Item.project = patched._avdual_original  # type: ignore[attr-defined,method-assign]
        try:
            own = _projected(boto3.client("dynamodb"), table)
        finally:
            Item.project = patched  # type: ignore[method-assign]
        return with_patch, own

    with_patch, own = both(ITEM_OF_EVERY_TYPE)
    assert with_patch == own
    assert b'"inner"' in with_patch[12] and b"NULL" in with_patch[12]  # m.inner[2]: a path into a list

    nested = _attribute_values().filter(lambda v: "M" in v or "L" in v)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), nested | _attribute_values(), min_size=1))
    def check(attributes: dict[str, Any]) -> None:
        patched_bodies, own_bodies = both({**attributes, "pk": ITEM_OF_EVERY_TYPE["pk"]})
        assert patched_bodies == own_bodies

    check()


def test_a_message_older_than_the_retention_period_is_not_received(rt: LocalRuntime) -> None:
    from moto.sqs.models import sqs_backends

    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="retention-check", Attributes={"MessageRetentionPeriod": "60"})[
        "QueueUrl"
    ]
    sqs.send_message(QueueUrl=url, MessageBody="new")
    sqs.send_message(QueueUrl=url, MessageBody="old")
    old = next(
        m for m in sqs_backends[ACCOUNT][REGION].queues["retention-check"]._messages if m.body == "old"
    )
    old.sent_timestamp -= 61_000  # sent 61 s before the queue's 60 s retention period ends
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["new"]


def _query_answers(ddb: Any, table: str, queries: list[dict[str, Any]] | None = None) -> list[Any]:
    """Every page of a set of queries (by default: both directions, pages of 3, key conditions, a filter, an
    index)."""
    requests: list[dict[str, Any]] = []
    for pk in ("p0", "p3", "missing"):
        key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}}
        requests += [key, {**key, "ScanIndexForward": False}, {**key, "Limit": 3}]
    requests += [
        {
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :a AND :b",
            "ExpressionAttributeValues": {":p": {"S": "p1"}, ":a": {"S": "s03"}, ":b": {"S": "s07"}},
        },
        {
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :s)",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":p": {"S": "p2"}, ":s": {"S": "s0"}, ":n": {"N": "20"}},
            "Limit": 2,
        },
        {
            "IndexName": "by_n",
            "KeyConditionExpression": "g = :g",
            "ExpressionAttributeValues": {":g": {"S": "even"}},
            "Limit": 4,
        },
        {
            "IndexName": "by_v",
            "KeyConditionExpression": "g = :g",
            "FilterExpression": "n > :n",
            "ExpressionAttributeValues": {":g": {"S": "odd"}, ":n": {"N": "10"}},
            "ScanIndexForward": False,
            "Limit": 3,
        },
        {
            "IndexName": "by_v",
            "KeyConditionExpression": "g = :g AND v = :v",
            "ExpressionAttributeValues": {":g": {"S": "even"}, ":v": {"N": "-1"}},
        },
        {  # one sort key value, in pages: the items of other values never count
            "IndexName": "by_v",
            "KeyConditionExpression": "g = :g AND v = :v",
            "ExpressionAttributeValues": {":g": {"S": "even"}, ":v": {"N": "1"}},
            "ScanIndexForward": False,
            "Limit": 2,
        },
        {
            "IndexName": "by_v",
            "KeyConditionExpression": "g = :g AND v >= :v",
            "ExpressionAttributeValues": {":g": {"S": "missing"}, ":v": {"N": "0"}},
        },
    ]
    answers = []
    for request in requests if queries is None else queries:
        start = None
        while True:
            page = ddb.query(TableName=table, **request, **({"ExclusiveStartKey": start} if start else {}))
            answers.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"], page["ScannedCount"]))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    return answers


def test_a_query_of_one_partition_answers_what_motos_own_query_answers(rt: LocalRuntime) -> None:
    table = "partition-check"
    ddb = _create_table(
        table,
        sort_key=("sk", "S"),
        types={"g": "S", "v": "N"},
        # by_v: a sparse index with a number sort key, only items with "g" and "v", ties in "v"
        indexes={"by_n": ("g", "sk"), "by_v": ("g", "v")},
    )
    for n in range(60):  # written out of order: the partition's order is moto's, not the writes'
        i = (n * 37) % 60
        ddb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"p{i % 5}"},
                "sk": {"S": f"s{i:02d}"},
                "n": {"N": str(i)},
                **({"g": {"S": "even" if i % 2 == 0 else "odd"}} if i % 7 else {}),
                **({"v": {"N": str(i % 4 - 1)}} if i % 5 else {}),
            },
        )
    with_patch = _query_answers(ddb, table)
    with _motos_own_query():
        without_patch = _query_answers(ddb, table)
    assert len(with_patch) > 20 and any(page[0] for page in with_patch)
    assert with_patch == without_patch


@contextlib.contextmanager
def _motos_own_query() -> Iterator[None]:
    """moto's ``Table.query``, ``all_items`` and ``sorted_items`` without the partition query."""
    from moto.dynamodb.models.table import Table as MotoTable

    patched = (MotoTable.query, MotoTable.all_items, MotoTable.sorted_items)
    assert getattr(patched[0], "_avdual_partition", False)
    own = patched[0]._avdual_original  # type: ignore[attr-defined]
    MotoTable.query, MotoTable.all_items, MotoTable.sorted_items = own  # type: ignore[method-assign]
    try:
        yield
    finally:
        MotoTable.query, MotoTable.all_items, MotoTable.sorted_items = patched  # type: ignore[method-assign]


def _sort_check_table(name: str) -> None:
    """A table with a number sort key and two indexes, one sorted by a number, one by a string."""
    _create_table(
        name,
        sort_key=("sk", "N"),
        types={"g": "S", "v": "N", "t": "S"},
        indexes={"by_v": ("g", "v"), "by_t": ("g", "t")},
    )


def _sort_check_queries() -> list[dict[str, Any]]:
    """Queries of the table and of both indexes: whole partitions both ways, pages, ranges, one value."""
    requests: list[dict[str, Any]] = []
    for pk in ("a", "b"):
        key = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": pk}}}
        requests += [key, {**key, "ScanIndexForward": False, "Limit": 3}]
        for condition, values, pages in (
            ("sk < :s", {":s": {"N": "0.5"}}, {}),
            ("sk > :s", {":s": {"N": "-3"}}, {"Limit": 2}),
            ("sk >= :s", {":s": {"N": "1E+2"}}, {"Limit": 1, "ScanIndexForward": False}),
            ("sk BETWEEN :a AND :b", {":a": {"N": "-12.25"}, ":b": {"N": "10"}}, {"Limit": 2}),
            ("sk BETWEEN :a AND :b", {":a": {"N": "-50"}, ":b": {"N": "0"}}, {"ScanIndexForward": False}),
            ("sk <= :s", {":s": {"N": "7"}}, {"Limit": 3, "ScanIndexForward": False}),
            ("sk = :s", {":s": {"N": "1"}}, {}),
        ):
            requests.append(
                {
                    "KeyConditionExpression": f"pk = :p AND {condition}",
                    "ExpressionAttributeValues": {":p": {"S": pk}, **values},
                    **pages,
                }
            )
    for index in ("by_v", "by_t"):
        for g in ("x", "y"):
            key = {
                "IndexName": index,
                "KeyConditionExpression": "g = :g",
                "ExpressionAttributeValues": {":g": {"S": g}},
            }
            requests += [key, {**key, "ScanIndexForward": False, "Limit": 2}]
    requests.append(
        {
            "IndexName": "by_v",
            "KeyConditionExpression": "g = :g AND v = :v",
            "ExpressionAttributeValues": {":g": {"S": "x"}, ":v": {"N": "1"}},
        }
    )
    return requests


def test_partitions_and_indexes_are_sorted_as_moto_sorts_them(rt: LocalRuntime) -> None:
    """moto's order of a partition and of an index (numbers by value: ``-1E+2`` before ``-3``, ``0.5`` before
    ``1``; strings by code point; ties of an index's sort key by the table's key) is kept when the keys are
    converted once per item, and a sort key condition's pages are moto's when it walks only the items the
    condition selects (with the neighbours that end a full page): every page of every query, random
    items (``Query``, https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_Query.html)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    ddb = boto3.client("dynamodb")
    number = st.integers(-300, 300).map(str) | st.sampled_from(["0.5", "-12.25", "1E+2", "-1E+2", "0", "1.0"])
    item = st.fixed_dictionaries(
        {"pk": st.sampled_from(["a", "b"]).map(lambda v: {"S": v}), "sk": number.map(lambda v: {"N": v})},
        optional={
            "g": st.sampled_from(["x", "y"]).map(lambda v: {"S": v}),
            "v": st.sampled_from(["-2", "1", "1.5", "10", "-1E+2"]).map(lambda v: {"N": v}),
            "t": st.text(max_size=3).filter(bool).map(lambda v: {"S": v}),
        },
    )
    tables = iter(range(10**6))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.lists(item, max_size=25))
    def check(items: list[dict[str, Any]]) -> None:
        table = f"sort-check-{next(tables)}"
        _sort_check_table(table)
        for i in items:
            ddb.put_item(TableName=table, Item=i)
        with_patch = _query_answers(ddb, table, _sort_check_queries())
        with _motos_own_query():
            own = _query_answers(ddb, table, _sort_check_queries())
        assert with_patch == own

    check()


def test_a_key_condition_over_large_items_ends_its_pages_where_moto_ends_them(rt: LocalRuntime) -> None:
    """Where the items a sort key condition selects come near moto's 1 MB page, the items it does not select
    can end the page (moto measures them too): then the whole partition is walked as moto walks it."""
    ddb = boto3.client("dynamodb")
    table = "large-items"
    _sort_check_table(table)
    for n in range(8):  # 150 KB or 350 KB each: three selected ones pass 600 KB, moto's limit is 1 MB
        size = 350_000 if n % 3 == 0 else 150_000
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"N": str(n)}, "x": {"S": "x" * size}})
    queries = [
        {
            "KeyConditionExpression": f"pk = :p AND {condition}",
            "ExpressionAttributeValues": {":p": {"S": "a"}, **values},
            "ProjectionExpression": "sk",
            **pages,
        }
        for condition, values, pages in (
            ("sk BETWEEN :a AND :b", {":a": {"N": "1"}, ":b": {"N": "5"}}, {}),
            ("sk BETWEEN :a AND :b", {":a": {"N": "1"}, ":b": {"N": "2"}}, {"ScanIndexForward": False}),
            ("sk < :s", {":s": {"N": "4"}}, {}),
            ("sk > :s", {":s": {"N": "3"}}, {"ScanIndexForward": False}),
        )
    ]
    with_patch = _query_answers(ddb, table, queries)
    with _motos_own_query():
        own = _query_answers(ddb, table, queries)
    assert with_patch == own
    assert any(page[1] for page in own)  # moto ends some page at 1 MB


def test_a_cached_update_expression_applies_to_each_item_with_its_own_values(rt: LocalRuntime) -> None:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    ddb = boto3.client("dynamodb")
    _create_table("update-check")
    expr = "SET n = if_not_exists(n, :zero) + :one, l = list_append(if_not_exists(l, :empty), :l) ADD s :s"
    for pk, times in (("a", 3), ("b", 1)):
        for i in range(times):
            values = {
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
                ":empty": {"L": []},
                ":l": {"L": [{"S": f"{pk}{i}"}]},
            }
            ddb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "update-check",
                            "Key": {"pk": {"S": pk}},
                            "UpdateExpression": expr,
                            "ExpressionAttributeValues": {**values, ":s": {"SS": [f"{pk}{i}"]}},
                        }
                    }
                ]
            )
    ddb.update_item(
        TableName="update-check",
        Key={"pk": {"S": "b"}},
        UpdateExpression=expr,
        ExpressionAttributeValues={
            ":zero": {"N": "0"},
            ":one": {"N": "10"},
            ":empty": {"L": []},
            ":l": {"L": [{"S": "b9"}]},
            ":s": {"SS": ["b9"]},
        },
    )
    a = ddb.get_item(TableName="update-check", Key={"pk": {"S": "a"}})["Item"]
    b = ddb.get_item(TableName="update-check", Key={"pk": {"S": "b"}})["Item"]
    assert a["n"] == {"N": "3"} and a["l"] == {"L": [{"S": "a0"}, {"S": "a1"}, {"S": "a2"}]}
    assert sorted(a["s"]["SS"]) == ["a0", "a1", "a2"]
    assert (
        b["n"] == {"N": "11"}
        and b["l"] == {"L": [{"S": "b0"}, {"S": "b9"}]}
        and sorted(b["s"]["SS"]) == ["b0", "b9"]
    )
    assert UpdateExpressionParser.make(expr) is UpdateExpressionParser.make(expr)
    for _ in range(2):  # not cached: fails every time
        with pytest.raises(ClientError) as e:
            ddb.update_item(
                TableName="update-check",
                Key={"pk": {"S": "a"}},
                UpdateExpression="SET = :x",
                ExpressionAttributeValues={":x": {"N": "1"}},
            )
        assert e.value.response["Error"]["Code"] == "ValidationException"


def _traversers(cls: type) -> list[type]:
    return [c for sub in cls.__subclasses__() for c in (sub, *_traversers(sub))]


def test_each_update_expression_traverser_processes_the_node_types_of_its_own_map(rt: LocalRuntime) -> None:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    traversers = [c for c in _traversers(DepthFirstTraverser) if "_processing_map" in vars(c)]
    assert len(traversers) >= 9  # the validator's and the executor's: every one moto defines is checked
    for cls in traversers:
        t = cls.__new__(cls)  # the map's keys are classes; its values are the instance's bound methods
        own = tuple(cls._processing_map(t).keys())
        assert own and all(isinstance(k, type) for k in own)
        assert t.nodes_to_be_processed() == own
        assert t.nodes_to_be_processed() is cls.__new__(cls).nodes_to_be_processed()  # kept per class


def _shape(node: Any, nodes: list[Any]) -> Any:
    """A tree as nested tuples (class, leaf values, the index of each node's parent in pre-order)."""
    from moto.dynamodb.parsing.ast_nodes import Node

    parent = next((i for i, n in enumerate(nodes) if n is node.parent), None)
    nodes.append(node)
    kids = [_shape(c, nodes) if isinstance(c, Node) else c for c in node.children or []]
    return (type(node), node.type, parent, node.children is None, kids)


UPDATE_EXPRESSIONS = [
    "SET a.b[1] = :v, #n = if_not_exists(#n, :z) + :one ADD c :x REMOVE d[2], e DELETE s :ss",
    "SET #s = list_append(if_not_exists(#s, :empty), :l), m.#k = :v - :w",
    "ADD n :one, #c :two",
    "REMOVE a, b.c[3]",
]


def test_a_parsed_update_expression_is_copied_for_validation_as_deepcopy_copies_it(rt: LocalRuntime) -> None:
    """Node by node: the same classes, values and parent links as ``copy.deepcopy`` gives, no node shared
    with the parsed tree; a tree with anything else goes to ``deepcopy``."""
    import copy

    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import Node
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from avdual.runtime.moto_patches import _copy_parsed_tree

    assert getattr(validators.deepcopy, "_avdual_tree_copy", False)
    for expression in UPDATE_EXPRESSIONS:
        parsed = UpdateExpressionParser.make(expression)
        assert _copy_parsed_tree(parsed, Node) is not None  # the parser's trees take the node-by-node copy
        fast, deep = validators.deepcopy(parsed), copy.deepcopy(parsed)
        fast_nodes: list[Any] = []
        assert _shape(fast, fast_nodes) == _shape(deep, []) == _shape(parsed, [])
        assert not {id(n) for n in fast_nodes} & {id(n) for n in _nodes(parsed)}
    odd = copy.deepcopy(UpdateExpressionParser.make(UPDATE_EXPRESSIONS[0]))
    odd.children[0].extra = ["mutable"]  # an attribute the parser never sets: deepcopy copies it
    assert _copy_parsed_tree(odd, Node) is None
    copied = validators.deepcopy(odd)
    assert copied.children[0].extra == ["mutable"] and copied.children[0].extra is not odd.children[0].extra


def _nodes(node: Any) -> list[Any]:
    nodes: list[Any] = []
    _shape(node, nodes)
    return nodes


@pytest.mark.parametrize(
    ("expression", "values"),
    [
        ("SET pk = :x", {":x": {"S": "b"}}),  # a key attribute cannot be updated
        ("SET n = :x REMOVE n", {":x": {"N": "1"}}),  # two actions on one path
        ("SET n = :x + :y", {":x": {"N": "1"}, ":y": {"S": "a"}}),  # arithmetic on a string
        ("SET n = :x", {":y": {"N": "1"}}),  # a value the expression names is missing
    ],
)
def test_update_expressions_are_still_checked_by_each_traverser(
    rt: LocalRuntime, expression: str, values: dict[str, Any]
) -> None:
    """Each kind is refused as DynamoDB refuses it ("Update expressions",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html)
    and leaves the item as it was."""
    ddb = boto3.client("dynamodb")
    _create_table("traverser-check")
    ddb.put_item(TableName="traverser-check", Item={"pk": {"S": "a"}, "n": {"N": "7"}})
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            ddb.update_item(
                TableName="traverser-check",
                Key={"pk": {"S": "a"}},
                UpdateExpression=expression,
                ExpressionAttributeValues=values,
            )
        assert e.value.response["Error"]["Code"] == "ValidationException"
    assert ddb.get_item(TableName="traverser-check", Key={"pk": {"S": "a"}})["Item"] == {
        "pk": {"S": "a"},
        "n": {"N": "7"},
    }


def test_dispatch_names_are_motos_own_answers(rt: LocalRuntime) -> None:
    import inspect

    from moto.core import responses, utils
    from moto.dynamodb.responses import DynamoHandler
    from moto.sqs import models as sqs_models
    from moto.sqs.responses import SQSResponse

    for cls in (DynamoHandler, SQSResponse):
        uncached = [name for name, _ in inspect.getmembers(cls, predicate=inspect.isfunction)]
        assert responses.method_names_from_class(cls) == uncached
        assert responses.method_names_from_class(cls) is responses.method_names_from_class(cls)  # kept
    original = responses.camelcase_to_underscores.__wrapped__
    assert original is utils.camelcase_to_underscores
    for name in ("TransactWriteItems", "ApproximateNumberOfMessagesNotVisible", "QueueArn", "RedrivePolicy"):
        assert responses.camelcase_to_underscores(name) == sqs_models.camelcase_to_underscores(name)
        assert responses.camelcase_to_underscores(name) == original(name)
    sqs = boto3.client("sqs")
    url = sqs.create_queue(QueueName="attributes-check", Attributes={"DelaySeconds": "5"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {
        "QueueArn",
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesDelayed",
        "CreatedTimestamp",
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
    } <= set(attrs)
    assert attrs["DelaySeconds"] == "5" and attrs["ApproximateNumberOfMessagesDelayed"] == "1"


def test_kms_keys_make_their_key_pair_on_first_use_and_sign_and_mac_as_before(rt: LocalRuntime) -> None:
    from moto.backends import get_backend

    kms = boto3.client("kms")
    backend = get_backend("kms")[ACCOUNT][REGION]
    assert backend.keys  # the runtime's MAC keys: no pair made for them
    assert all(k.private_key._key is None for k in backend.keys.values())
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signed = kms.sign(KeyId=rsa, Message=b"Bericht", SigningAlgorithm="RSASSA_PSS_SHA_256")["Signature"]
    for message, valid in ((b"Bericht", True), (b"Berichte", False)):
        answer = kms.verify(
            KeyId=rsa, Message=message, Signature=signed, SigningAlgorithm="RSASSA_PSS_SHA_256"
        )
        assert answer["SignatureValid"] is valid
    public = kms.get_public_key(KeyId=rsa)["PublicKey"]
    assert public[:2] == b"\x30\x82"  # DER SubjectPublicKeyInfo
    assert backend.keys[rsa].private_key._key is not None
    mac_key = next(iter(backend.keys))
    mac = kms.generate_mac(KeyId=mac_key, Message=b"x", MacAlgorithm="HMAC_SHA_256")["Mac"]
    assert kms.verify_mac(KeyId=mac_key, Message=b"x", Mac=mac, MacAlgorithm="HMAC_SHA_256")["MacValid"]


@contextlib.contextmanager
def _motos_own_sizes_copies_and_results() -> Iterator[None]:
    """moto's ``DynamoType.size``/``Item.size``, their ``__deepcopy__`` and ``dynamo_to_dict``."""
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    patched = (
        DynamoType.size,
        Item.size,
        DynamoType.__deepcopy__,
        Item.__deepcopy__,
        responses.dynamo_to_dict,
    )
    assert all(getattr(f, "_avdual_direct", False) for f in patched)
    own = [f._avdual_original for f in patched]  # type: ignore[attr-defined]
    DynamoType.size, Item.size, DynamoType.__deepcopy__, Item.__deepcopy__ = own[:4]  # type: ignore[method-assign]
    responses.dynamo_to_dict = own[4]
    try:
        yield
    finally:
        DynamoType.size, Item.size, DynamoType.__deepcopy__, Item.__deepcopy__ = patched[:4]  # type: ignore[method-assign]
        responses.dynamo_to_dict = patched[4]


def _tree(value: Any, source: Any, seen: dict[int, int]) -> Any:
    """``value`` (a copy of ``source``) as nested tuples: each node's class, type, leaves, and which nodes of
    the copy are one object (``seen``); fails where the copy shares a container with ``source``."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    if isinstance(value, (DynamoType, Item, dict, list)):
        assert value is not source, "a container of the copy is the source's"
        node = seen.setdefault(id(value), len(seen))
    if isinstance(value, Item):
        return (
            "item",
            node,
            _tree(value.hash_key, source.hash_key, seen),
            _tree(value.range_key, source.range_key, seen),
            type(value.attrs),
            _tree(value.attrs, source.attrs, seen),  # the item's own dict: no temporary (its id is reused)
        )
    if isinstance(value, DynamoType):
        return ("value", node, type(value), value.type, _tree(value.value, source.value, seen))
    if isinstance(value, dict):
        return ("map", node, tuple((k, _tree(v, source[k], seen)) for k, v in value.items()))
    if isinstance(value, list):
        return ("list", node, tuple(_tree(v, s, seen) for v, s in zip(value, source, strict=True)))
    return ("leaf", type(value), value, value is source)


def test_sizes_copies_and_results_are_motos_own(rt: LocalRuntime) -> None:
    """For random items of every data type: the size moto limits pages by, the copy a query answers with
    (the same tree of new containers as ``copy.deepcopy`` with moto's own ``__deepcopy__``, one object where
    moto's is one) and the result turned into plain values, equal to moto's own functions'."""
    import copy

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from moto.dynamodb import responses
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.text(min_size=1, max_size=5), _attribute_values(), max_size=5), st.booleans())
    def check(attrs: dict[str, Any], ranged: bool) -> None:
        item = Item(
            DynamoType({"S": "h"}), DynamoType({"N": "7"}) if ranged else None, {"pk": {"S": "h"}, **attrs}
        )
        item.attrs["shared"] = item.attrs.get("shared") or DynamoType({"L": [{"S": "x"}]})
        item.attrs["again"] = item.attrs["shared"]  # one object twice: the copy keeps it one object
        result = {"Items": [item.attrs, item.attrs], "Count": 2, "ScannedCount": 2, "Attributes": item.attrs}

        def answers() -> tuple[Any, ...]:
            return (
                [v.size() for v in item.attrs.values()],
                item.size(),
                _tree(copy.deepcopy([item, item]), [item, item], {}),
                responses.dynamo_to_dict(result),
                [responses.dynamo_to_dict(v) for v in item.attrs.values()],
            )

        fast = answers()
        with _motos_own_sizes_copies_and_results():
            own = answers()
        assert fast == own

    check()


def test_query_and_scan_pages_are_motos_own_with_direct_sizes_copies_and_results(rt: LocalRuntime) -> None:
    """Whole answers (items of every data type, 1 MB pages, ``Limit`` pages, an index) equal moto's own."""
    table = "size-copy-check"
    ddb = _create_table(table, sort_key=("sk", "N"), indexes={"by_sk": ("sk", None)})
    big = "ü" * 100_000  # 200 kB each: a page ends at moto's 1 MB by the sizes
    for i in range(12):
        ddb.put_item(
            TableName=table,
            Item={
                "pk": {"S": "p"},
                "sk": {"N": str(i % 4)} if i % 3 else {"N": str(i)},
                "text": {"S": big if i % 2 else "kurz"},
                "m": {
                    "M": {"a": {"L": [{"N": "1.5"}, {"BOOL": True}, {"NULL": True}]}, "b": {"B": b"\x00\xff"}}
                },
                "sets": {"L": [{"SS": ["a", "b"]}, {"NS": ["1", "2"]}, {"BS": [b"x"]}]},
            },
        )
    queries: list[dict[str, Any]] = [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "Limit": 5},
        {
            "IndexName": "by_sk",
            "KeyConditionExpression": "sk = :s",
            "ExpressionAttributeValues": {":s": {"N": "1"}},
        },
    ]

    def answers() -> list[Any]:
        pages = _query_answers(ddb, table, queries)
        start = None
        while True:
            page = ddb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
            pages.append((page["Items"], page.get("LastEvaluatedKey"), page["Count"]))
            start = page.get("LastEvaluatedKey")
            if not start:
                return pages

    fast = answers()
    with _motos_own_sizes_copies_and_results():
        own = answers()
    assert len(fast) > len(queries) + 1  # the 1 MB limit made more than one page somewhere
    assert fast == own


@contextlib.contextmanager
def _motos_own(*places: tuple[Any, str]) -> Iterator[None]:
    """moto's own functions at ``places`` (owner, attribute) instead of the runtime's (their
    ``_avdual_original``)."""
    patched = [getattr(owner, name) for owner, name in places]
    assert all(hasattr(f, "_avdual_original") for f in patched)
    for (owner, name), f in zip(places, patched, strict=True):
        setattr(owner, name, f._avdual_original)
    try:
        yield
    finally:
        for (owner, name), f in zip(places, patched, strict=True):
            setattr(owner, name, f)


def _traversal_places() -> list[tuple[Any, str]]:
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser, Node

    return [
        (DepthFirstTraverser, "traverse_node_recursively"),
        (DepthFirstTraverser, "process"),
        (Node, "find_clauses"),
    ]


#: Update expressions with every action, function and operator, and each kind DynamoDB refuses
#: ("Update expressions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html).
TRAVERSED_UPDATES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("ADD #n :d", {"#n": "n"}, {":d": {"N": "2"}}),
    ("SET #y = :y ADD #n :d", {"#y": "year", "#n": "n"}, {":y": {"S": "2026/27"}, ":d": {"N": "-1"}}),
    (
        "SET m.a[1] = :v, #c = if_not_exists(#c, :z) + :one",
        {"#c": "c"},
        {":v": {"S": "x"}, ":z": {"N": "0"}, ":one": {"N": "1"}},
    ),
    (
        "SET l = list_append(if_not_exists(l, :e), :l), m.#k = :v - :w",
        {"#k": "k"},
        {":e": {"L": []}, ":l": {"L": [{"N": "1"}]}, ":v": {"N": "5"}, ":w": {"N": "2"}},
    ),
    ("ADD s :s DELETE t :t", {}, {":s": {"SS": ["a", "b"]}, ":t": {"SS": ["z"]}}),
    ("REMOVE m.a[0], l[0]", {}, {}),
    ("SET pk = :x", {}, {":x": {"S": "other"}}),  # a key attribute
    ("SET n = :x REMOVE n", {}, {":x": {"N": "1"}}),  # two actions on one path
    ("SET m.a = :x, m.a[0] = :y", {}, {":x": {"L": []}, ":y": {"N": "1"}}),  # overlapping paths
    ("SET #a = :x, #b = :y", {"#a": "q", "#b": "q"}, {":x": {"N": "1"}, ":y": {"N": "2"}}),  # one name twice
    ("SET n = :x + :y", {}, {":x": {"N": "1"}, ":y": {"S": "a"}}),  # arithmetic on a string
    ("SET n = :x", {}, {":y": {"N": "1"}}),  # a value the expression names is missing
    ("SET n = nope.deeper + :x", {}, {":x": {"N": "1"}}),  # a path that does not exist
    ("SET k = :e", {}, {":e": {"S": ""}}),  # an empty string is an allowed attribute value
    ("ADD n :x SET c = :x ADD c :x", {}, {":x": {"N": "1"}}),  # two ADD clauses
    ("SET l[5] = :x", {}, {":x": {"N": "9"}}),
]


def _apply_updates(ddb: Any, table: str) -> list[Any]:
    """Each update of :data:`TRAVERSED_UPDATES` on a fresh item: the item after it or moto's refusal."""
    out: list[Any] = []
    for i, (expression, names, values) in enumerate(TRAVERSED_UPDATES):
        key = {"pk": {"S": f"u{i}"}}
        ddb.put_item(
            TableName=table,
            Item={
                **key,
                "n": {"N": "7"},
                "m": {"M": {"a": {"L": [{"N": "1"}, {"N": "2"}]}, "k": {"N": "3"}}},
                "l": {"L": [{"S": "first"}]},
                "t": {"SS": ["y", "z"]},
            },
        )
        try:
            ddb.update_item(
                TableName=table,
                Key=key,
                UpdateExpression=expression,
                **({"ExpressionAttributeNames": names} if names else {}),
                **({"ExpressionAttributeValues": values} if values else {}),
            )
            out.append(("applied", ddb.get_item(TableName=table, Key=key)["Item"]))
        except ClientError as e:
            out.append(("refused", e.response["Error"]["Code"], e.response["Error"]["Message"]))
    return out


def test_update_expressions_are_traversed_as_moto_traverses_them(rt: LocalRuntime) -> None:
    """Each traverser meets the nodes in moto's order and each node's class decides as ``isinstance`` does:
    every update applies as moto's own walk applies it, every refusal is moto's (code and message), and the
    validated tree of each expression is the one moto's own walk leaves."""
    from moto.dynamodb.parsing.ast_nodes import DepthFirstTraverser

    assert getattr(DepthFirstTraverser.traverse_node_recursively, "_avdual_by_class", False)
    ddb = boto3.client("dynamodb")
    _create_table("traversal-check")
    fast = _apply_updates(ddb, "traversal-check")
    with _motos_own(*_traversal_places()):
        own = _apply_updates(ddb, "traversal-check")
    assert fast == own
    assert {o[0] for o in own} == {"applied", "refused"}

    from moto.dynamodb.models import dynamodb_backends

    table = dynamodb_backends[ACCOUNT][REGION].get_table("traversal-check")
    stored = {"pk": {"S": "v"}, "n": {"N": "7"}, "m": {"M": {"a": {"L": [{"N": "1"}]}}}}
    for expression, names, values in TRAVERSED_UPDATES:
        if expression.startswith("ADD n :x SET"):
            continue  # does not parse
        fast_tree = _validated_tree(table, stored, expression, names, values)
        with _motos_own(*_traversal_places()):
            own_tree = _validated_tree(table, stored, expression, names, values)
        assert fast_tree == own_tree


def _validated_tree(
    table: Any, stored: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, Any]
) -> Any:
    """The tree moto's ``UpdateExpressionValidator`` leaves of ``expression`` on the item ``stored`` (key
    ``pk``, and ``sk`` if it has one), or the type and message of what it raises."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    item = Item(DynamoType(stored["pk"]), DynamoType(stored["sk"]) if "sk" in stored else None, stored)
    try:
        tree = UpdateExpressionValidator(
            UpdateExpressionParser.make(expression), names, values, item, table
        ).validate()
    except Exception as e:
        return (type(e), str(e))
    return _shape(tree, [])


def _item_or_refusal(attrs: dict[str, Any]) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    try:
        item = Item(DynamoType({"S": "h"}), None, attrs)
    except Exception as e:
        return (type(e), str(e))
    return (
        type(item.attrs),
        list(item.attrs),
        {k: (v.type, v.to_json()) for k, v in item.attrs.items()},
        item.size(),
    )


def test_items_are_measured_and_refused_as_motos_own_constructor_does(rt: LocalRuntime) -> None:
    """Random items of every data type and items around DynamoDB's 400 KB limit ("Item size",
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html): the same
    attributes in the same order, or the same refusal, as moto's own ``Item`` constructor; a put above the
    limit is refused with moto's message and stores nothing."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from moto.dynamodb.models.dynamo_type import Item

    assert getattr(Item.__init__, "_avdual_running_size", False)
    big = st.integers(1, 5).map(lambda n: {"S": "ü" * (n * 45_000)})

    @settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.dictionaries(st.text(min_size=1, max_size=5), _attribute_values() | big, max_size=7))
    def check(attrs: dict[str, Any]) -> None:
        fast = _item_or_refusal(attrs)
        with _motos_own((Item, "__init__")):
            own = _item_or_refusal(attrs)
        assert fast == own

    check()
    ddb = _create_table("size-limit-check")
    item = {"pk": {"S": "p"}, "a": {"S": "x" * 200_000}, "b": {"S": "y" * 204_990}}

    def put(extra: int) -> Any:
        try:
            ddb.put_item(TableName="size-limit-check", Item={**item, "c": {"S": "z" * extra}})
        except ClientError as e:
            return e.response["Error"]["Message"]
        return ddb.get_item(TableName="size-limit-check", Key={"pk": {"S": "p"}})["Item"]["c"]["S"][:1]

    fast_answers = [put(n) for n in (1, 8, 20)]
    ddb.delete_item(TableName="size-limit-check", Key={"pk": {"S": "p"}})
    with _motos_own((Item, "__init__")):
        own_answers = [put(n) for n in (1, 8, 20)]
    assert fast_answers == own_answers
    assert fast_answers[0] == "z" and "size" in str(fast_answers[-1])  # below the limit stored, above refused


CONDITIONS = [
    "attribute_not_exists(pk)",
    "version = :v",
    "#s = :a AND (n BETWEEN :lo AND :hi OR size(l) > :one) AND NOT contains(#t, :x)",
    "m.a[1] <> :v OR attribute_type(m, :m)",
    "n IN (:lo, :hi, :one)  AND begins_with(#s, :x)",
    "(n >= :lo)",
    "n < :hi and n > :lo",
]


def test_condition_expressions_split_into_motos_own_tokens(rt: LocalRuntime) -> None:
    """Each text splits into the tokens moto's lexer makes (new tuples and child lists for each parse), a text
    that does not split fails every time, and conditional writes and filtered reads answer as moto's own
    lexer lets them ("Condition expressions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html)."""
    from moto.dynamodb.comparisons import ConditionExpressionParser

    assert getattr(ConditionExpressionParser._lex_condition_expression, "_avdual_cached", False)
    place = (ConditionExpressionParser, "_lex_condition_expression")
    for text in CONDITIONS:
        first, second = (
            ConditionExpressionParser(text, {}, {})._lex_condition_expression() for _ in range(2)
        )
        with _motos_own(place):
            own = ConditionExpressionParser(text, {}, {})._lex_condition_expression()
        assert list(first) == list(second) == list(own)
        assert all(a is not b and a.children is not b.children for a, b in zip(first, second, strict=True))
    for _ in range(2):
        with pytest.raises(ValueError, match="Cannot parse"):
            ConditionExpressionParser("n = :v ; drop", {}, {})._lex_condition_expression()

    ddb = _create_table("condition-check")
    _create_table("condition-check-own")
    names = {"#s": "s", "#t": "t"}
    values = {
        ":v": {"N": "1"},
        ":a": {"S": "abc"},
        ":lo": {"N": "2"},
        ":hi": {"N": "9"},
        ":one": {"N": "1"},
        ":x": {"S": "a"},
        ":m": {"S": "M"},
    }

    def answers(table: str) -> list[Any]:
        out: list[Any] = []
        for i, text in enumerate(CONDITIONS):
            used_names = {k: v for k, v in names.items() if k in text}
            used_values = {k: v for k, v in values.items() if k in text}
            item = {
                "pk": {"S": f"c{i}"},
                "s": {"S": "abc"},
                "n": {"N": str(i + 1)},
                "l": {"L": [{"N": "1"}] * i},
            }
            ddb.put_item(TableName=table, Item=item)
            try:
                ddb.put_item(
                    TableName=table,
                    Item={**item, "version": {"N": "2"}},
                    ConditionExpression=text,
                    **({"ExpressionAttributeNames": used_names} if used_names else {}),
                    **({"ExpressionAttributeValues": used_values} if used_values else {}),
                )
                out.append("written")
            except ClientError as e:
                out.append(e.response["Error"]["Code"])
            scan = (
                ddb.scan(
                    TableName=table,
                    FilterExpression=text,
                    **({"ExpressionAttributeNames": used_names} if used_names else {}),
                    **({"ExpressionAttributeValues": used_values} if used_values else {}),
                )
                if ":" in text
                else {"Items": []}
            )
            out.append(sorted(x["pk"]["S"] for x in scan["Items"]))
        return out

    fast = answers("condition-check")
    with _motos_own(place):
        own = answers("condition-check-own")
    assert fast == own
    assert "written" in fast and "ConditionalCheckFailedException" in fast


def _validation_places() -> list[tuple[Any, str]]:
    """moto's own update-expression validation: its validator, traversal and tree copy."""
    from moto.dynamodb.parsing import validators

    cls = validators.UpdateExpressionValidator
    return [(cls, "__init__"), (cls, "validate"), (validators, "deepcopy"), *_traversal_places()]


_N1, _N2, _SA = {"N": "1"}, {"N": "2"}, {"S": "a"}
#: Updates of every action, function, operator and path kind, and each kind DynamoDB refuses ("Update
#: expressions", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html);
#: a text with other names or values than before (a key attribute, a name twice, a value missing) decides
#: again.
VALIDATED_UPDATES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    (
        "SET #y = :y ADD #a0 :a0, #a1 :a1, #a2 :a2",
        {"#y": "yr", "#a0": "c", "#a1": "d", "#a2": "e"},
        {":y": {"S": "2026/27"}, ":a0": _N1, ":a1": _N2, ":a2": {"N": "-3"}},
    ),
    (
        "SET #y = :y ADD #a0 :a0, #a1 :a1, #a2 :a2",
        {"#y": "yr", "#a0": "c", "#a1": "d", "#a2": "c"},
        {":y": {"S": "2026/27"}, ":a0": _N1, ":a1": _N2, ":a2": _N1},
    ),  # one attribute twice
    (
        "SET #y = :y ADD #a0 :a0, #a1 :a1, #a2 :a2",
        {"#y": "yr", "#a0": "c", "#a1": "d", "#a2": "e"},
        {":y": {"S": "2026/27"}, ":a0": _N1, ":a1": _N2},
    ),  # a value missing
    (
        "SET #y = :y ADD #a0 :a0, #a1 :a1, #a2 :a2",
        {"#y": "yr", "#a0": "c", "#a2": "e"},
        {":y": {"S": "x"}, ":a0": _N1, ":a1": _N2, ":a2": _N1},
    ),  # a name missing
    (
        "SET #y = :y ADD #a0 :a0, #a1 :a1, #a2 :a2",
        {"#y": "sk", "#a0": "c", "#a1": "d", "#a2": "e"},
        {":y": {"S": "x"}, ":a0": _N1, ":a1": _N2, ":a2": _N1},
    ),  # the sort key
    ("ADD #n :d", {"#n": "n"}, {":d": _N2}),
    ("ADD n :s", {}, {":s": _SA}),  # a string added to a number
    ("ADD t :n", {}, {":n": _N1}),  # a number added to a string set
    ("ADD t :ns, fresh :n", {}, {":ns": {"NS": ["1"]}, ":n": _N1}),  # a number set added to a string set
    ("ADD newset :ss, fresh :n, m.k :n", {}, {":ss": {"SS": ["a"]}, ":n": {"N": "5"}}),
    ("ADD s :n", {}, {":n": _N1}),  # a number added to a string
    ("ADD #k :n", {"#k": "pk"}, {":n": _N1}),  # the partition key
    ("SET m.a = :x, m.a[0] = :y", {}, {":x": {"L": []}, ":y": _N1}),  # overlapping paths
    ("SET m = :x, m.k = :y", {}, {":x": {"M": {}}, ":y": _N1}),
    ("SET #a = :x, #b = :y", {"#a": "q", "#b": "q"}, {":x": _N1, ":y": _N2}),  # one name twice
    ("SET #a = :x, #b = :y", {"#a": "q", "#b": "r"}, {":x": _N1, ":y": _N2}),
    ("SET #m.k = :x, #m = :y", {"#m": "m"}, {":x": _N1, ":y": {"M": {}}}),
    ("SET a = :x REMOVE a", {}, {":x": _N1}),
    ("REMOVE #r0, #r1", {"#r0": "n", "#r1": "n"}, {}),
    ("REMOVE #r0, #r1", {"#r0": "n", "#r1": "s"}, {}),
    ("SET #nope = :x", {}, {":x": _N1}),  # no names at all
    ("SET #nope = :x", {"#other": "o"}, {":x": _N1}),  # the name missing, another unused
    ("SET n = :missing", {}, {}),
    ("SET pk = :x", {}, {":x": {"S": "o"}}),  # the partition key
    ("SET #k = :x", {"#k": "sk"}, {":x": {"S": "o"}}),  # the sort key by its name
    ("SET #k = :x", {"#k": "other"}, {":x": {"S": "o"}}),
    ("REMOVE sk", {}, {}),
    ("SET gk = :e", {}, {":e": {"S": ""}}),  # an empty string as an index key
    ("SET s = :e", {}, {":e": {"S": ""}}),  # an empty string as a value
    ("SET gk = :n", {}, {":n": _N1}),  # an index key of the wrong type
    ("SET gk = :s", {}, {":s": {"S": "g2"}}),
    (
        "SET m.k = :x, m.a[1] = :y, m.fresh = :z, #a.#b = :x",
        {"#a": "m", "#b": "b"},
        {":x": _N1, ":y": {"S": "y"}, ":z": {"L": [_N1]}},
    ),
    ("SET m.nope.deeper = :x", {}, {":x": _N1}),  # below an attribute that does not exist
    ("SET l[5] = :x", {}, {":x": {"N": "9"}}),
    ("SET n[0] = :x", {}, {":x": _N1}),  # an index into a number
    ("REMOVE m.a[0], l[0], n, m.a[1]", {}, {}),
    ("DELETE t :t", {}, {":t": {"SS": ["z", "absent"]}}),
    ("DELETE t :all", {}, {":all": {"SS": ["y", "z"]}}),  # the last members: the attribute goes
    ("DELETE t :n", {}, {":n": _N1}),  # not a set
    ("DELETE ns :t", {}, {":t": {"SS": ["z"]}}),  # a string set from a number set
    ("DELETE nope :t", {}, {":t": {"SS": ["z"]}}),
    ("SET l = list_append(l, :l), c = list_append(:l, l)", {}, {":l": {"L": [_N1]}}),
    ("SET l = list_append(nope, :l)", {}, {":l": {"L": [_N1]}}),  # a list that does not exist
    ("SET x = list_append(n, :l)", {}, {":l": {"L": [_N1]}}),  # a number is not a list
    ("SET n = if_not_exists(n, :z) + :one", {}, {":z": {"N": "0"}, ":one": _N1}),
    ("SET c = if_not_exists(nope, :z) - :one", {}, {":z": {"N": "0"}, ":one": _N1}),
    ("SET l = list_append(if_not_exists(nope, :e), :l)", {}, {":e": {"L": []}, ":l": {"L": [_N1]}}),
    ("SET #u = if_not_exists(#u, :z)", {"#u": "used"}, {":z": {"N": "0"}}),
    ("SET c = n + :one, d = n - m.k", {}, {":one": _N1}),  # paths in values
    ("SET c = nope + :one", {}, {":one": _N1}),  # a value path that does not exist
    ("SET c = if_not_exists(nope, nada)", {}, {}),
    ("SET n = :x + :y", {}, {":x": _N1, ":y": _SA}),  # arithmetic on a string
    ("SET c = :x + :y - n", {}, {":x": _N1, ":y": _N2}),
    ("SET c = if_not_exists(nope, n) + if_not_exists(m.k, :x)", {}, {":x": _N1}),
    ("SET name = :x", {}, {":x": _N1}),  # a reserved word
    ("SET a = :x SET b = :x", {}, {":x": _N1}),  # two SET clauses
    ("ADD n :x SET c = :x ADD c :x", {}, {":x": _N1}),  # two ADD clauses
    (
        "SET a = :x, b = :y ADD n :x REMOVE q, m.k DELETE t :t",
        {},
        {":x": _N1, ":y": {"BOOL": True}, ":t": {"SS": ["y"]}},
    ),
]


def _validation_table() -> Any:
    return _create_table(
        "validation-check",
        sort_key=("sk", "S"),
        types={"gk": "S"},
        indexes={"by-gk": ("gk", None)},
    )


def _validation_item(i: int) -> dict[str, Any]:
    return {
        "pk": {"S": f"v{i}"},
        "sk": {"S": "s"},
        "n": {"N": "7"},
        "s": {"S": "text"},
        "gk": {"S": "g"},
        "m": {"M": {"a": {"L": [_N1, _N2]}, "k": {"N": "3"}}},
        "l": {"L": [{"S": "first"}]},
        "t": {"SS": ["y", "z"]},
        "ns": {"NS": ["1", "2"]},
    }


def _validation_request(i: int, pk: str | None = None) -> dict[str, Any]:
    """The ``UpdateItem`` of :data:`VALIDATED_UPDATES` ``i`` on its item (or on the item ``pk``)."""
    expression, names, values = VALIDATED_UPDATES[i]
    return {
        "TableName": "validation-check",
        "Key": {"pk": {"S": pk or f"v{i}"}, "sk": {"S": "s"}},
        "UpdateExpression": expression,
        **({"ExpressionAttributeNames": names} if names else {}),
        **({"ExpressionAttributeValues": values} if values else {}),
    }


def _refusal(e: ClientError) -> Any:
    return (
        e.response["Error"]["Code"],
        e.response["Error"]["Message"],
        e.response.get("CancellationReasons"),
    )


def _transactions_of_four(ddb: Any, stored: Any) -> list[Any]:
    """Three updates and a fourth in one transaction, each on a fresh item: applied with a fourth that
    applies, none applied with one that is refused."""
    out: list[Any] = []

    def at(start: str) -> int:
        return next(
            i for i, (expression, _, _) in enumerate(VALIDATED_UPDATES) if expression.startswith(start)
        )

    together = [at("SET #y = :y ADD"), at("SET m.k = :x"), at("SET l = list_append(if_not_exists")]
    for last in (at("ADD newset"), at("ADD n :s")):  # four applied, then three and one refused: none applied
        for i in (*together, last):
            ddb.put_item(TableName="validation-check", Item=_validation_item(i))
        try:
            ddb.transact_write_items(
                TransactItems=[{"Update": _validation_request(i)} for i in (*together, last)]
            )
            out.append("written")
        except ClientError as e:
            out.append(_refusal(e))
        out.append(stored(*(f"v{i}" for i in (*together, last))))
    return out


def _validation_outcomes(ddb: Any) -> list[Any]:
    """Each update of :data:`VALIDATED_UPDATES` on a fresh item, as an ``UpdateItem`` (the new attributes
    and the item, or moto's refusal) and in a transaction between two counter updates; last, transactions
    of four updates (applied, then refused whole)."""
    out: list[Any] = []

    def stored(*keys: str) -> Any:
        return [
            ddb.get_item(TableName="validation-check", Key={"pk": {"S": k}, "sk": {"S": "s"}}).get("Item")
            for k in keys
        ]

    counters = [{"Update": _validation_request(0, pk)} for pk in ("c1", "c2")]
    for i in range(len(VALIDATED_UPDATES)):  # the first of a text makes its plan, the second uses it
        ddb.put_item(TableName="validation-check", Item=_validation_item(i))
        try:
            out.append(ddb.update_item(**_validation_request(i), ReturnValues="ALL_NEW")["Attributes"])
        except ClientError as e:
            out.append(_refusal(e))
        except Exception as e:  # moto fails on a name it is not given (AWS refuses it)
            out.append((type(e).__name__, str(e)))
        out.append(stored(f"v{i}"))
        ddb.put_item(TableName="validation-check", Item=_validation_item(i))
        try:
            ddb.transact_write_items(
                TransactItems=[counters[0], {"Update": _validation_request(i)}, counters[1]]
            )
            out.append("written")
        except ClientError as e:
            out.append(_refusal(e))
        out.append(stored(f"v{i}"))
    out.append(stored("c1", "c2"))  # the counters of the transactions that were written
    out.extend(_transactions_of_four(ddb, stored))
    return out


def test_update_expressions_are_validated_as_motos_own_validation_validates_them(rt: LocalRuntime) -> None:
    """Each update, refused or applied, on its own and in transactions: the same new attributes, stored items
    and refusals (code, message, cancellation reasons) as with moto's own validation, traversal and tree
    copy; the validated tree of each is the one moto's own validation leaves, or the same exception."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser
    from moto.dynamodb.parsing.validators import UpdateExpressionValidator

    assert getattr(UpdateExpressionValidator.validate, "_avdual_plan", False)
    ddb = _validation_table()
    fast = _validation_outcomes(ddb)
    ddb.delete_table(TableName="validation-check")
    with _motos_own(*_validation_places()):
        _validation_table()
        own = _validation_outcomes(ddb)
    assert fast == own
    refusals = {o[1] for o in own if isinstance(o, tuple)}
    assert len(refusals) >= 15 and "written" in own  # both outcomes, many kinds of refusal

    table = dynamodb_backends[ACCOUNT][REGION].get_table("validation-check")
    stored = {
        "pk": {"S": "v"},
        "sk": {"S": "s"},
        "n": _N1,
        "m": {"M": {"a": {"L": [_N1]}}},
        "l": {"L": []},
        "t": {"SS": ["z"]},
    }

    def validated(expression: str, names: dict[str, str], values: dict[str, Any]) -> Any:
        return _validated_tree(table, stored, expression, names, values)

    for expression, names, values in VALIDATED_UPDATES:
        with contextlib.suppress(Exception):  # a text that does not parse is refused before validation
            UpdateExpressionParser.make(expression)
            fast_trees = [validated(expression, names, values) for _ in range(2)]
            with _motos_own(*_validation_places()):
                own_tree = validated(expression, names, values)
            assert fast_trees == [own_tree, own_tree]


def test_a_parsed_update_expression_runs_only_the_checks_that_can_act_on_it(rt: LocalRuntime) -> None:
    """The plan of reporting's counter update leaves out the checks that find nothing to do (functions,
    arithmetic, SET checks of an ADD) and decides the action counts once; one with functions and values
    runs them."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from avdual.runtime.moto_patches import _VALIDATION_STEPS, _validation_plan

    def plan(expression: str) -> dict[str, Any]:
        steps = _validation_plan(UpdateExpressionParser.make(expression), validators)
        assert steps is not None
        return dict(zip(_VALIDATION_STEPS, steps, strict=True))

    adds = plan("ADD #a0 :a0, #a1 :a1")  # run: the checks of its names, values and paths
    assert [s for s, leaves in adds.items() if leaves is not True] == [
        "OverlappingPathsValidator",
        "UpdateHashRangeKeyValidator",
        "ExpressionAttributeValueProcessor",
        "ExpressionAttributeResolvingProcessor",
    ]
    functions = plan("SET n = if_not_exists(n, :z) + :one")  # left out at most: counts, overlaps, keys
    assert [s for s, leaves in functions.items() if leaves is not False] == [
        "ActionCountValidator",
        "OverlappingPathsValidator",
        "UpdateHashRangeKeyValidator",
    ]
    assert plan("SET a = :x SET b = :x")["ActionCountValidator"] is False  # moto refuses it each time
    assert plan("SET m = :x, m.k = :y")["OverlappingPathsValidator"] is False


def test_a_check_walks_only_the_nodes_it_processes(rt: LocalRuntime) -> None:
    """The values check of reporting's counter update walks its two values; the resolving check its two
    paths with the hooks before each child of an action; a function and an operator are walked where they
    are; the missing-path check (its nodes are made by the checks before it) walks the whole tree."""
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from avdual.runtime.moto_patches import _VALIDATION_STEPS, _Walks

    def walked(expression: str) -> dict[str, Any]:
        walks = _Walks.of(UpdateExpressionParser.make(expression), validators)
        assert walks is not None
        return {
            step: at if at is None else [(walks.shape[i][1], j, hook) for i, j, hook in at]
            for step, at in zip(_VALIDATION_STEPS, walks.at, strict=True)
        }

    adds = walked("ADD #a0 :a0, #a1 :a1")
    assert adds["ExpressionAttributeValueProcessor"] == [("ExpressionAttributeValue", 1, False)] * 2
    assert (
        adds["ExpressionAttributeResolvingProcessor"]
        == [
            ("UpdateExpressionAddAction", 0, True),
            ("UpdateExpressionPath", 0, False),
            ("UpdateExpressionAddAction", 1, True),
        ]
        * 2
    )
    assert adds["NoneExistingPathChecker"] is None
    functions = walked("SET n = if_not_exists(n, :z) + :one")
    assert functions["UpdateExpressionFunctionEvaluator"] == [("UpdateExpressionFunction", 0, False)]
    assert functions["ExecuteOperations"] == [("UpdateExpressionValue", 1, False)]
    assert functions["TypeMismatchValidator"] == [("UpdateExpressionSetAction", 0, False)]
    assert all(walked(e)[step] is None for e in ("ADD n :x", "SET a = :x") for step in _VALIDATION_STEPS[:3])


def _parsed_updates() -> list[Any]:
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    parsed = []
    for expression in [*UPDATE_EXPRESSIONS, *(u[0] for u in VALIDATED_UPDATES)]:
        with contextlib.suppress(Exception):  # a text that does not parse is refused before validation
            parsed.append(UpdateExpressionParser.make(expression))
    return parsed


def test_a_validators_tree_is_copied_from_its_recipe_as_deepcopy_copies_it(rt: LocalRuntime) -> None:
    """The copy of each parsed update expression made from its recipe: the same classes, values, parent
    links and attributes (in moto's order) as ``copy.deepcopy`` gives, its nodes listed root first in
    pre-order, none shared with the parsed tree or another copy; the validator holds what moto's own
    ``__init__`` gives it."""
    import copy

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators

    from avdual.runtime.moto_patches import _Walks

    parsed_trees = _parsed_updates()
    assert len(parsed_trees) > 50
    for parsed in parsed_trees:
        walks = _Walks.of(parsed, validators)
        assert walks is not None  # the parser's trees have recipes
        nodes, again, deep = walks.copy(), walks.copy(), copy.deepcopy(parsed)
        assert _shape(nodes[0], []) == _shape(deep, []) == _shape(parsed, [])
        assert [id(n) for n in _nodes(nodes[0])] == [id(n) for n in nodes]
        assert [list(vars(n)) for n in nodes] == [list(vars(n)) for n in _nodes(deep)]
        assert not {id(n) for n in nodes} & {id(n) for n in [*_nodes(parsed), *again]}
    _validation_table()
    table = dynamodb_backends[ACCOUNT][REGION].get_table("validation-check")
    item = Item(DynamoType({"S": "v"}), DynamoType({"S": "s"}), {"pk": {"S": "v"}, "sk": {"S": "s"}})
    names, values = {"#y": "yr", "#a0": "c", "#a1": "d", "#a2": "e"}, {":y": _SA, ":a0": _N1}
    fast = validators.UpdateExpressionValidator(parsed_trees[-1], names, values, item, table)
    with _motos_own(*_validation_places()):
        own = validators.UpdateExpressionValidator(parsed_trees[-1], names, values, item, table)
    assert [k for k in vars(fast) if not k.startswith("_avdual")] == list(vars(own))
    for attribute in ("expression_attribute_names", "expression_attribute_values", "item", "table"):
        assert getattr(fast, attribute) is getattr(own, attribute)
    assert [type(p) for p in fast.processors] == [type(p) for p in own.processors]
    assert _shape(fast.node_to_validate, []) == _shape(own.node_to_validate, [])


def test_a_value_below_a_function_is_walked_where_it_ends_up(rt: LocalRuntime) -> None:
    """A tree the parser does not make (an arithmetic value as a function's argument: moto never computes
    it when ``if_not_exists`` picks the other argument, and refuses it when it picks it) is validated as
    moto's own validation validates it: the checks after the functions walk the whole tree."""
    import copy

    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item
    from moto.dynamodb.parsing import validators
    from moto.dynamodb.parsing.ast_nodes import UpdateExpressionFunction, UpdateExpressionValue
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from avdual.runtime.moto_patches import _VALIDATION_STEPS, _Walks

    tree = copy.deepcopy(UpdateExpressionParser.make("SET a = if_not_exists(b, :x)"))
    function = next(n for n in _nodes(tree) if isinstance(n, UpdateExpressionFunction))
    value = next(
        n
        for n in _nodes(copy.deepcopy(UpdateExpressionParser.make("SET a = :y + :z")))
        if isinstance(n, UpdateExpressionValue)
    )
    function.children[2], value.parent = value, function
    walks = _Walks.of(tree, validators)
    assert walks is not None and walks.at[_VALIDATION_STEPS.index("ExecuteOperations")] is None
    _validation_table()
    table = dynamodb_backends[ACCOUNT][REGION].get_table("validation-check")
    values = {":x": _N1, ":y": _N2, ":z": {"S": "not a number"}}

    def validated(attrs: dict[str, Any]) -> Any:
        item = Item(
            DynamoType({"S": "v"}), DynamoType({"S": "s"}), {"pk": {"S": "v"}, "sk": {"S": "s"}, **attrs}
        )
        try:
            return _shape(validators.UpdateExpressionValidator(tree, {}, values, item, table).validate(), [])
        except Exception as e:
            return (type(e), str(e))

    answers = []
    for attrs in ({}, {"b": {"N": "5"}}):
        fast = validated(attrs)
        with _motos_own(*_validation_places()):
            own = validated(attrs)
        assert fast == own
        answers.append(own)
    assert answers[0][0] is AssertionError and answers[1][0] is not AssertionError
