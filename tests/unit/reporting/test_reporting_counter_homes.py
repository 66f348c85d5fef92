"""Where a school year's counters are stored (``dal.aggregates.counter_home``): every counter a student's
state contributes is an attribute of the school's, the school's week's or the county's item, except a
companion's caseload (an item of its own, in the caseload index), found from where its key names the school;
and how many items a fact's transaction updates (docs/adr/0023-bounded-report-reads.md)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given

from services.reporting.dal.aggregates import counter_home, counter_updates
from services.reporting.logic.projection import Fact, counters, deltas, merge, merge_all
from services.reporting.models.aggregates import COMPANION_COUNTER, COUNTS_ITEM
from tests.unit.reporting.test_reporting_casework import FACTS as CASEWORK_FACTS
from tests.unit.reporting.test_reporting_projection import (
    SETTINGS,
    T0,
    assigned,
    fact_sets,
    life,
    submitted,
)


def _homes(facts: list[Fact]) -> dict[str, str | None]:
    s = merge_all(None, facts)
    assert s is not None
    home = {sk: counter_home(pk, sk) for pk, sk in counters(s) if pk.startswith("year#")}
    return {sk: h[0] if h else None for sk, h in home.items()}


def _held_by_counts_items(homes: dict[str, str | None]) -> None:
    for sk, item in homes.items():
        if sk.startswith(f"{COMPANION_COUNTER}#"):
            assert item is None, sk
        else:
            assert item is not None and item.split("#")[0] == COUNTS_ITEM, sk


@SETTINGS
@given(fact_sets())
def test_every_counter_of_a_student_is_held_by_a_counts_item(facts: list[Fact]) -> None:
    _held_by_counts_items(_homes(facts))


def test_a_whole_life_with_casework_is_held_by_the_schools_weeks_and_countys_items() -> None:
    homes = _homes(life()) | _homes(CASEWORK_FACTS)
    _held_by_counts_items(homes)
    items = set(homes.values())
    assert {"counts", "counts#RFS", "counts#RFS#2026-09-14"} <= items
    assert homes["dest#dual_training#1"] == "counts" and homes["career#kfz"] == "counts"
    assert homes["class#RFS#AVd1b"] == "counts#RFS"
    assert any(k.startswith("inprog#") and h == "counts#RFS" for k, h in homes.items())  # the months
    assert any(k.startswith("intern#") and h == "counts#RFS" for k, h in homes.items())


def test_a_submission_updates_three_counter_items_and_an_assignment_five() -> None:
    """Were each counter an item: 11 and 15 (each item of a transaction costs two write units on AWS)."""
    s1 = merge(None, submitted())
    s2 = merge(s1, assigned(T0 + timedelta(minutes=1)))
    first, second = deltas(None, s1), deltas(s1, s2)
    assert (len(first), len(second)) == (11, 39)
    keys = [[(u["Key"]["pk"]["S"], u["Key"]["sk"]["S"]) for u in counter_updates(d)] for d in (first, second)]
    year = "year#2026/27"
    assert keys[0] == [(year, "counts"), (year, "counts#RFS"), (year, "counts#RFS#2026-09-14")]
    assert keys[1] == [
        ("goals#2026/27", "B01"),
        (year, "companion#B01#assigned"),
        (year, "counts"),
        (year, "counts#RFS"),
        (year, "counts#RFS#2026-09-14"),
    ]


@SETTINGS
@given(fact_sets())
def test_a_facts_counter_updates_stay_within_dynamodbs_expression_limits(facts: list[Fact]) -> None:
    """An item's counters that change are one ``ADD`` each in one expression: "The maximum length of any
    expression string is 4 KB" (DynamoDB developer guide, "Constraints in Amazon DynamoDB", Expression
    parameters). ``ADD`` actions are not operators, so the 300-operator limit is not reached; a fact's
    transaction has far fewer than its 100 items ("DynamoDB transactions" on the same page)."""
    s = None
    for f in [*facts, *life()]:
        new = merge(s, f)
        updates = counter_updates(deltas(s, new))
        assert len(updates) + 3 <= 100  # + the state and a waitlist item with its period item
        for u in updates:
            assert len(u["UpdateExpression"].encode()) <= 4096
            assert not any(op in u["UpdateExpression"] for op in ("+", "-"))
        s = new
