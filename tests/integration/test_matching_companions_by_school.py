"""A school's companions are read with one Query of the school's sparse index (``companions_for_school``):
each companion appears under every school it serves, with its live ``used``, and leaves a school's index when
the registry drops the school. Runs on the embedded runtime (moto)."""

from __future__ import annotations

from avdual.runtime import LocalRuntime
from services.matching.dal.store import MatchingStore
from tests.conftest import companion
from tests.integration.test_intake_api import OFFICE
from tests.integration.test_matching import seed, submit


def by_school(rt: LocalRuntime, school: str) -> list[tuple[str, int]]:
    with rt.lock:
        return [(c.companion_id, c.used) for c in MatchingStore().companions_for_school(school)]


def test_each_school_reads_exactly_the_companions_who_serve_it(rt: LocalRuntime) -> None:
    seed(rt, companion("B1", ["RFS"], 3), companion("B2", ["RFS", "MPS"], 3), companion("B3", ["OWS"], 3))
    assert by_school(rt, "RFS") == [("B1", 0), ("B2", 0)]
    assert by_school(rt, "MPS") == [("B2", 0)]
    assert by_school(rt, "OWS") == [("B3", 0)]
    assert by_school(rt, "EBS") == []
    submit(rt, [1], school="MPS")  # assigned to B2, the only companion of MPS
    assert by_school(rt, "RFS") == [("B1", 0), ("B2", 1)]  # the same item: its live counter
    r = rt.api("PATCH", "/companions/B2", body={"school_ids": ["MPS", "OWS"]}, claims=OFFICE)
    assert r.status == 200, r.body
    rt.drain()
    assert by_school(rt, "RFS") == [("B1", 0)]
    assert by_school(rt, "OWS") == [("B2", 1), ("B3", 0)]
    assert "serves_MPS" in next(c for c in rt.scan("companions") if c["companion_id"] == "B2")
    assert "serves_RFS" not in next(c for c in rt.scan("companions") if c["companion_id"] == "B2")
