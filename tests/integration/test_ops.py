"""Operations against the embedded runtime: DLQ listing and redrive, archive replay, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from avdual import ops
from avdual.runtime import LocalRuntime
from tests.conftest import OFFICE, companion


def test_dead_letter_listing_and_redrive(rt: LocalRuntime) -> None:
    rt.put_event_raw("avdual.intake", "IntakeSubmitted", {"metadata": {}, "data": {"bad": True}})
    rt.drain()
    with rt.lock:
        target = rt.ops_target()
        h = ops.health(target)
        assert not h["healthy"]
        rows = ops.list_dead_letters(target)
        assert {r["subscription"] for r in rows} >= {"matching-intake-events"}
        assert all(r["detail_type"] == "IntakeSubmitted" for r in rows)
        assert "bad" not in str(rows)  # no event data in listings
        moved = ops.redrive(target, "matching-intake-events")
        assert moved == {"matching-intake-events": 1}
    rt.drain()  # still poison: back in the DLQ after max_receive_count attempts
    with rt.lock:
        assert len(ops.list_dead_letters(rt.ops_target(), "matching-intake-events")) == 1


def test_replay_from_archive_is_harmless_for_idempotent_consumers(rt: LocalRuntime, form: dict) -> None:
    assert rt.api("POST", "/companions", body=companion("A", ["RFS"], 3), claims=OFFICE).status == 200
    start = datetime.now(UTC) - timedelta(minutes=5)
    assert rt.api("POST", "/intakes", body=form, claims=OFFICE).status == 201
    rt.drain()
    before_assign = {a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")}
    before_counters = {i["sk"]: int(i["n"]) for i in rt.scan("aggregates") if i["pk"].startswith("year#")}
    deliveries = rt.stats.deliveries
    with rt.lock:
        result = ops.replay(rt.ops_target(), start, datetime.now(UTC) + timedelta(minutes=1))
    assert result["state"] in ("STARTING", "RUNNING", "COMPLETED")
    rt.drain()
    assert rt.stats.deliveries > deliveries  # archived events were delivered again
    assert {a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")} == before_assign
    assert {i["sk"]: int(i["n"]) for i in rt.scan("aggregates") if i["pk"].startswith("year#")} == before_counters
