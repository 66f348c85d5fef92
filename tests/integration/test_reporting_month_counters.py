"""A school's month counters (``inprog#<YYYY-MM>#<school>``, ``nointern#…``) are the attributes of one item
per school and school year, ``months#<school>``: a fact's transaction updates that item instead of one item
per month, and reads give the counters back by their keys (docs/adr/0023-bounded-report-reads.md). Runs on
the embedded runtime (moto)."""

from __future__ import annotations

from collections import Counter

from boto3.dynamodb.conditions import Key

from avdual.runtime import LocalRuntime
from services.reporting.dal.aggregates import AggregateStore, CounterKey

YEAR = "year#2026/27"
DELTAS: Counter[CounterKey] = Counter(
    {
        (YEAR, "inprog#2026-12#RFS"): 1,
        (YEAR, "inprog#2027-01#RFS"): 1,
        (YEAR, "nointern#2026-12#RFS"): 1,
        (YEAR, "inprog#2026-12#MPS"): 2,
        (YEAR, "school#RFS#assigned"): 1,
        (YEAR, "intern#RFS#0"): 1,
    }
)


def stored(store: AggregateStore) -> dict[str, dict]:
    items = store.table.query(KeyConditionExpression=Key("pk").eq(YEAR), ConsistentRead=True)["Items"]
    return {i["sk"]: {k: v for k, v in i.items() if k not in ("pk", "sk")} for i in items}


def test_a_schools_month_counters_are_one_item_read_back_by_their_keys(rt: LocalRuntime) -> None:
    with rt.lock:
        store = AggregateStore()
        store.add_counters(DELTAS)
        assert stored(store) == {
            "months#RFS": {"inprog#2026-12": 1, "inprog#2027-01": 1, "nointern#2026-12": 1},
            "months#MPS": {"inprog#2026-12": 2},
            "school#RFS#assigned": {"n": 1},
            "intern#RFS#0": {"n": 1},
        }
        assert store.counters("2026/27") == {sk: n for (_, sk), n in DELTAS.items()}
        assert store.counters("2026/27", per_companion=False) == store.counters("2026/27")
        # a later fact takes a month back (the student left): the attribute goes to 0, as a counter item would
        store.add_counters(Counter({(YEAR, "inprog#2027-01#RFS"): -1, (YEAR, "inprog#2027-02#RFS"): 0}))
        assert store.counters("2026/27")["inprog#2027-01#RFS"] == 0
        assert "inprog#2027-02#RFS" not in store.counters("2026/27")  # nothing added, nothing written


def test_month_counters_written_one_item_each_before_still_count(rt: LocalRuntime) -> None:
    """A stage holds month counters as items of their own from before: they add to the school's item."""
    with rt.lock:
        store = AggregateStore()
        store.table.put_item(Item={"pk": YEAR, "sk": "inprog#2026-12#RFS", "n": 3})
        store.add_counters(DELTAS)
        assert store.counters("2026/27")["inprog#2026-12#RFS"] == 4
        assert store.counters("2026/27")["nointern#2026-12#RFS"] == 1


def test_bulk_loading_writes_the_same_items_as_the_facts(rt: LocalRuntime) -> None:
    with rt.lock:
        store = AggregateStore()
        store.put_counters(dict(DELTAS))
        assert store.counters("2026/27") == {sk: n for (_, sk), n in DELTAS.items()}
        assert set(stored(store)) == {"months#RFS", "months#MPS", "school#RFS#assigned", "intern#RFS#0"}
