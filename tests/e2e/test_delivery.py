"""Local end-to-end: duplicate and shuffled delivery give the same final state as single delivery."""

from __future__ import annotations

from collections import Counter
from typing import Any

from avdual.demo import seed_companions, submit_all
from avdual.runtime import EventStormError, LocalRuntime
from avdual.scenario import load_intakes, load_scenario
from services.reporting.dal.aggregates import counters_of

N = 30


def final_state(*, duplicate: bool, shuffle: bool) -> dict[str, Any]:
    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=3) for c in scenario["companions"]]
    forms = load_intakes()[:N]
    with LocalRuntime(stage="e2e", duplicate=duplicate, shuffle=shuffle, seed=7, log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        ids = submit_all(rt, forms, drain_every=6)
        order = {iid: n for n, iid in enumerate(ids)}
        assignments = {
            order[a["intake_id"]]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")
        }
        counters = counters_of(i for i in rt.scan("aggregates") if i["pk"].startswith("year#"))
        used = {c["companion_id"]: int(c["used"]) for c in rt.scan("companions")}
        assert rt.dead_letters == []
        return {"assignments": assignments, "counters": counters, "used": used, "stats": rt.stats}


def _counts(state: dict[str, Any]) -> Counter:
    return Counter(s for s, _ in state["assignments"].values())


def test_duplicate_and_shuffled_delivery_give_the_same_state() -> None:
    once = final_state(duplicate=False, shuffle=False)
    twice = final_state(duplicate=True, shuffle=False)
    shuffled = final_state(duplicate=True, shuffle=True)
    assert twice["stats"].deliveries > once["stats"].deliveries  # duplicates really were delivered
    assert twice["assignments"] == once["assignments"]
    assert twice["counters"] == once["counters"] and twice["used"] == once["used"]
    # Shuffled order may change *which* companion gets whom (least loaded first), never the totals.
    schools = {k: v for k, v in once["counters"].items() if k.startswith("school#")}
    assert {k: v for k, v in shuffled["counters"].items() if k.startswith("school#")} == schools
    assert sum(shuffled["used"].values()) == sum(once["used"].values())
    assert _counts(shuffled) == _counts(once)
    for state in (once, twice, shuffled):  # reporting agrees with matching in every mode
        assert sum(state["used"].values()) == _counts(state)["assigned"]
        for cid, n in state["used"].items():
            assert state["counters"].get(f"companion#{cid}#assigned", 0) == n


def test_event_storm_is_stopped(form: dict) -> None:
    with LocalRuntime(stage="storm", max_deliveries=5, log_level="ERROR") as rt:
        for i in range(10):
            form["student"]["given_name"] = f"X{i}"
            rt.api("POST", "/intakes", body=form, claims={"sub": "x", "cognito:groups": "office"})
        try:
            rt.drain()
        except EventStormError:
            return
        raise AssertionError("no EventStormError")


def test_poison_message_goes_to_dead_letters_and_the_rest_is_processed(rt: LocalRuntime, form: dict) -> None:
    rt.put_event_raw("avdual.intake", "IntakeSubmitted", {"metadata": {}, "data": {"bad": True}})
    rt.api("POST", "/intakes", body=form, claims={"sub": "x", "cognito:groups": "office"})
    rt.drain()
    assert {d.subscription for d in rt.dead_letters} == {"matching-intake-events", "reporting-events"}
    assert [a["status"] for a in rt.scan("assignments")] == ["waitlisted"]


def test_processed_messages_are_deleted_in_batches_and_empty_queues_are_not_polled(
    rt: LocalRuntime, form: dict
) -> None:
    """As a Lambda event source mapping: up to 10 messages a receive, the processed ones of an invocation
    deleted with one DeleteMessageBatch ("Using Lambda with Amazon SQS": the mapping deletes the messages
    once the function succeeds); no receive of a queue that holds nothing."""
    for i in range(12):
        form["student"]["given_name"] = f"Batch{i}"
        r = rt.api("POST", "/intakes", body=form, claims={"sub": "x", "cognito:groups": "office"})
        assert r.status == 201
    rt.clear_call_counts()
    rt.drain()
    sqs_deliveries = sum(rt.stats.by_detail_type.values())
    calls = rt.runtime_calls
    assert calls["sqs.DeleteMessage"] == 0
    assert 0 < calls["sqs.DeleteMessageBatch"] < sqs_deliveries / 2  # 12 events per queue: 2 calls, not 12
    assert calls["sqs.ReceiveMessage"] == calls["sqs.DeleteMessageBatch"]  # every receive found messages
    assert rt.pending() == 0 and rt.dead_letters == []
