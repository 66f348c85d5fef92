"""A school year's counters are the attributes of a few items, named by their keys: the school's
(``counts#<school>``, with its month counters), the school's of a calendar week
(``counts#<school>#<week>``) and the county's (``counts``); a fact's transaction updates those items
instead of one item per counter, and reads give the counters back by their keys. A companion's caseload
stays an item of its own (it is in the caseload index). Counters a stage stored before (an item each, or a
``months#<school>`` item) still count (docs/adr/0023-bounded-report-reads.md). Runs on the embedded
runtime (moto)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from avdual.runtime import LocalRuntime
from common import aws
from contracts.topology import CASELOAD_INDEX
from services.reporting.dal.aggregates import AggregateStore, CounterKey
from services.reporting.logic.reactions import apply_fact
from tests.unit.reporting.test_reporting_projection import submitted

SY = "2026/27"
YEAR = f"year#{SY}"
DELTAS: Counter[CounterKey] = Counter(
    {
        (YEAR, "inprog#2026-12#RFS"): 1,
        (YEAR, "inprog#2027-01#RFS"): 1,
        (YEAR, "nointern#2026-12#RFS"): 1,
        (YEAR, "inprog#2026-12#MPS"): 2,
        (YEAR, "school#RFS#assigned"): 1,
        (YEAR, "school#RFS#submitted"): -1,
        (YEAR, "intern#RFS#0"): 1,
        (YEAR, "gender#MPS#weiblich"): 1,
        (YEAR, "new#2026-12-07#RFS#assigned"): 1,
        (YEAR, "lvl#2026-12-07#RFS#assigned"): 1,
        (YEAR, "move#2026-12-07#RFS#submitted#assigned"): 1,
        (YEAR, "new#2026-11-30#RFS#intakes"): 1,
        (YEAR, "career#kfz"): 1,
        (YEAR, "wait#0"): 1,
        (YEAR, "companion#B01#assigned"): 1,
    }
)
#: the items DELTAS are stored in, with their attributes
LAYOUT = {
    "counts#RFS": {
        "inprog#2026-12#RFS": 1,
        "inprog#2027-01#RFS": 1,
        "nointern#2026-12#RFS": 1,
        "school#RFS#assigned": 1,
        "school#RFS#submitted": -1,
        "intern#RFS#0": 1,
    },
    "counts#MPS": {"inprog#2026-12#MPS": 2, "gender#MPS#weiblich": 1},
    "counts#RFS#2026-12-07": {
        "new#2026-12-07#RFS#assigned": 1,
        "lvl#2026-12-07#RFS#assigned": 1,
        "move#2026-12-07#RFS#submitted#assigned": 1,
    },
    "counts#RFS#2026-11-30": {"new#2026-11-30#RFS#intakes": 1},
    "counts": {"career#kfz": 1, "wait#0": 1},
    "companion#B01#assigned": {"n": 1, CASELOAD_INDEX.pk: SY},
}


def stored(store: AggregateStore) -> dict[str, dict]:
    items = store.table.query(KeyConditionExpression=Key("pk").eq(YEAR), ConsistentRead=True)["Items"]
    return {i["sk"]: {k: v for k, v in i.items() if k not in ("pk", "sk")} for i in items}


def test_counters_are_attributes_of_a_few_items_read_back_by_their_keys(rt: LocalRuntime) -> None:
    with rt.lock:
        store = AggregateStore()
        store.add_counters(DELTAS)
        assert stored(store) == LAYOUT
        assert store.counters(SY) == {sk: n for (_, sk), n in DELTAS.items()}
        without_caseloads = store.counters(SY, per_companion=False)
        assert without_caseloads == {
            sk: n for (_, sk), n in DELTAS.items() if not sk.startswith("companion#")
        }
        assert store.counter(SY, "school#RFS#assigned") == 1
        assert store.counter(SY, "companion#B01#assigned") == 1
        assert store.counter(SY, "school#RFS#waitlisted") == 0
        # a later fact takes a month back (the student left): the attribute goes to 0, as a counter item would
        store.add_counters(Counter({(YEAR, "inprog#2027-01#RFS"): -1, (YEAR, "inprog#2027-02#RFS"): 0}))
        assert store.counters(SY)["inprog#2027-01#RFS"] == 0
        assert "inprog#2027-02#RFS" not in store.counters(SY)  # nothing added, nothing written


def test_counters_stored_an_item_each_or_by_month_before_still_count(rt: LocalRuntime) -> None:
    """A stage holds counters as items of their own, and month counters in ``months#<school>``, from before:
    reads add them to the items that hold them now."""
    with rt.lock:
        store = AggregateStore()
        store.table.put_item(Item={"pk": YEAR, "sk": "inprog#2026-12#RFS", "n": 3})
        store.table.put_item(Item={"pk": YEAR, "sk": "school#RFS#assigned", "n": 4})
        months = {"inprog#2026-12": 5, "nointern#2027-01": 1}
        store.table.put_item(Item={"pk": YEAR, "sk": "months#MPS", **months})
        store.add_counters(DELTAS)
        counters = store.counters(SY)
        assert counters["inprog#2026-12#RFS"] == 4
        assert counters["school#RFS#assigned"] == 5
        assert counters["inprog#2026-12#MPS"] == 7 and counters["nointern#2027-01#MPS"] == 1
        assert counters["career#kfz"] == 1
        assert store.counter(SY, "school#RFS#assigned") == 5


def test_bulk_loading_writes_the_same_items_as_the_facts(rt: LocalRuntime) -> None:
    with rt.lock:
        store = AggregateStore()
        store.put_counters(dict(DELTAS))
        assert store.counters(SY) == {sk: n for (_, sk), n in DELTAS.items()}
        assert stored(store) == LAYOUT


class _ConflictOnce:
    """The store's low-level client, whose first transaction DynamoDB cancels because another transaction
    was writing one of its items (``TransactionConflict``, as the DynamoDB API reference describes the
    cancellation reasons of ``TransactWriteItems``)."""

    def __init__(self, client: Any) -> None:
        self._client, self.conflicts = client, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def transact_write_items(self, **request: Any) -> Any:
        if self.conflicts == 0:
            self.conflicts += 1
            reasons = [{"Code": "None"}] * (len(request["TransactItems"]) - 1)
            raise ClientError(
                {
                    "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
                    "CancellationReasons": [*reasons, {"Code": "TransactionConflict"}],
                },
                "TransactWriteItems",
            )
        return self._client.transact_write_items(**request)


def test_a_transaction_conflict_on_a_shared_counter_item_is_retried(rt: LocalRuntime) -> None:
    """Many facts share a counter item, so two transactions may meet on it; the fact is applied again from a
    fresh read instead of failing the delivery."""
    with rt.lock:
        client = _ConflictOnce(aws.client("dynamodb"))
        store = AggregateStore(client=client)
        change = apply_fact(submitted(), store=store)
        assert client.conflicts == 1 and change.old is None
        assert store.get_state(change.new.intake_id) is not None
        assert store.counters(SY)["school#RFS#intakes"] == 1  # written once
