"""Local end-to-end (item 8): matching is idempotent and order-tolerant.

Submissions, corrections and withdrawals are put on the bus — some withdrawals *before* their
submission — and delivered once, twice (``duplicate``) and twice in shuffled order. Duplicates
give exactly the single-delivery state; shuffling may change who got which companion (online
assignment is first come, first served), never the invariants: withdrawn students have no
assignment (no ghosts), counters equal assignments, nobody is above capacity or outside their
companion's schools, and nobody waits while a companion of their school has room.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from tests.conftest import OFFICE, companion
from tests.integration.test_matching import check_invariants, iid, publish, submitted, updated, withdrawn

N = 36
WITHDRAWN_EARLY = {3, 11}  # withdrawal published before the submission
WITHDRAWN_LATE = {0, 7, 20, 30}
UPDATED = {5: {"cls": "AVd2"}, 8: {"school": "MPS"}, 25: {"school": "RFS", "career_fields": ["it"]}}
COMPANIONS = [companion("A", ["RFS"], 8), companion("B", ["RFS", "MPS"], 6), companion("C", ["MPS"], 5)]


def school_of(n: int) -> str:
    return "MPS" if n % 3 == 0 else "RFS"


def run(*, duplicate: bool, shuffle: bool, seed: int = 0) -> dict[str, Any]:
    with LocalRuntime(
        stage=f"order{seed}", duplicate=duplicate, shuffle=shuffle, seed=seed, log_level="ERROR"
    ) as rt:
        for c in COMPANIONS:
            assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
        rt.drain()
        publish(rt, *(withdrawn(n, school_of(n)) for n in sorted(WITHDRAWN_EARLY)))
        events = [submitted(n, school=school_of(n), cls=f"AVd{n % 2 + 1}") for n in range(N)]
        for i in range(0, N, 6):
            publish(rt, *events[i : i + 6])
            rt.drain()
        publish(rt, *(updated(n, **kw) for n, kw in UPDATED.items()))
        publish(rt, *(withdrawn(n, school_of(n)) for n in sorted(WITHDRAWN_LATE)))
        rt.drain()
        check_invariants(rt)
        items = {a["intake_id"]: a for a in rt.scan("assignments")}
        comps = {c["companion_id"]: c for c in rt.scan("companions")}
        for a in items.values():  # nobody waits while a companion of their school has room
            if a["status"] == "waitlisted":
                school = a["profile"]["school_id"]
                assert all(
                    int(c["used"]) >= int(c["capacity"]) for c in comps.values() if school in c["school_ids"]
                )
        return {
            "state": {k: (a["status"], a.get("companion_id")) for k, a in items.items()},
            "used": {k: int(c["used"]) for k, c in comps.items()},
            "stats": rt.stats,
        }


@pytest.fixture(scope="module")
def once() -> dict[str, Any]:
    return run(duplicate=False, shuffle=False)


def test_no_ghost_assignment_for_withdrawn_students(once: dict[str, Any]) -> None:
    for n in WITHDRAWN_EARLY | WITHDRAWN_LATE:
        assert once["state"][iid(n)] == ("withdrawn", None)
    counts = Counter(s for s, _ in once["state"].values())
    assert counts["withdrawn"] == len(WITHDRAWN_EARLY | WITHDRAWN_LATE)
    assert counts["assigned"] == sum(once["used"].values()) == sum(c["capacity"] for c in COMPANIONS)
    assert counts["assigned"] + counts["waitlisted"] + counts["withdrawn"] == N


def test_duplicate_delivery_gives_the_same_state(once: dict[str, Any]) -> None:
    twice = run(duplicate=True, shuffle=False)
    assert twice["stats"].deliveries > once["stats"].deliveries
    assert twice["state"] == once["state"] and twice["used"] == once["used"]


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffled_duplicate_delivery_keeps_every_invariant(once: dict[str, Any], seed: int) -> None:
    shuffled = run(duplicate=True, shuffle=True, seed=seed)
    withdrawn_ids = {iid(n) for n in WITHDRAWN_EARLY | WITHDRAWN_LATE}
    assert {k for k, (s, _) in shuffled["state"].items() if s == "withdrawn"} == withdrawn_ids
    assert Counter(s for s, _ in shuffled["state"].values()) == Counter(s for s, _ in once["state"].values())
    assert shuffled["used"] == once["used"]  # every companion full in both (more students than places)
