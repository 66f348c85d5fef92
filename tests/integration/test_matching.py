"""Matching against moto: capacity, schools, waitlist, claims from stale reads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from avdual.runtime import LocalRuntime
from services.matching.dal.store import CompanionFullError, MatchingStore
from services.matching.models.matching import Assignment
from tests.conftest import OFFICE, companion


def seed(rt: LocalRuntime, *companions: dict) -> None:
    for c in companions:
        assert rt.api("POST", "/companions", body=c, claims=OFFICE).status == 200
    rt.drain()


def submit(rt: LocalRuntime, form: dict, n: int, school: str = "RFS", cls: str = "AVd1a") -> list[str]:
    ids = []
    for i in range(n):
        form["school_id"], form["class_name"] = school, cls
        form["student"]["given_name"] = f"Kim{i}"
        r = rt.api("POST", "/intakes", body=form, claims=OFFICE)
        assert r.status == 201, r.body
        ids.append(r.json()["intake_id"])
    return ids


def test_assigns_within_schools_and_waitlists_over_capacity(rt: LocalRuntime, form: dict) -> None:
    seed(rt, companion("A", ["RFS"], 2), companion("B", ["MPS"], 5))
    ids = submit(rt, form, 3)
    rt.drain()
    items = {a["intake_id"]: a for a in rt.scan("assignments")}
    statuses = [items[i]["status"] for i in ids]
    assert statuses == ["assigned", "assigned", "waitlisted"]
    assert {items[i].get("companion_id") for i in ids[:2]} == {"A"}
    comps = {c["companion_id"]: c for c in rt.scan("companions")}
    assert int(comps["A"]["used"]) == 2 and int(comps["B"]["used"]) == 0


def test_capacity_raise_works_off_the_waitlist_in_submission_order(rt: LocalRuntime, form: dict) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    ids = submit(rt, form, 3)
    rt.drain()
    seed(rt, companion("A", ["RFS"], 2))
    items = {a["intake_id"]: a for a in rt.scan("assignments")}
    assert [items[i]["status"] for i in ids] == ["assigned", "assigned", "waitlisted"]


def test_two_claims_from_the_same_stale_read_never_overbook(rt: LocalRuntime) -> None:
    seed(rt, companion("A", ["RFS"], 1))
    store = MatchingStore()
    stale = store.get_companion("A")
    assert stale is not None and stale.free == 1
    now = datetime.now(UTC)
    claims = [Assignment(intake_id=f"01J{n:023d}", status="assigned", companion_id="A", updated_at=now)
              for n in range(2)]
    store.claim(claims[0], from_waitlist=False)
    with pytest.raises(CompanionFullError):
        store.claim(claims[1], from_waitlist=False)
    assert store.get_companion("A").used == 1  # type: ignore[union-attr]
