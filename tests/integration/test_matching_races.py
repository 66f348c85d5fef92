"""Race safety by deterministic interleavings (docs/architecture.md, "The local runtime").

moto is not thread-safe, so no threads: several writes are **prepared from the same stale read**
(what concurrent Lambda invocations would do) and then written against moto in **every order**
(``itertools.permutations``). After each order: no companion above its capacity, every counter
equals the number of assignments it guards, and no student is assigned twice.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from avdual.runtime import LocalRuntime
from contracts.events import StudentProfile
from services.matching.dal.store import (
    AlreadyDecidedError,
    CompanionFullError,
    CompanionWrite,
    MatchingStore,
    StudentWrite,
)
from services.matching.logic import assignment_rules, flow_solver
from services.matching.logic.apply_plan import companion_writes, schedule
from services.matching.models.matching import Assignment, Companion

NOW = datetime(2026, 9, 15, tzinfo=UTC)
Op = tuple[str, Callable[[], None]]
EXPECTED = (CompanionFullError, AlreadyDecidedError)


@pytest.fixture(scope="module")
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="races", log_level="ERROR") as runtime:
        yield runtime


def profile(cls: str = "AVd1", school: str = "RFS") -> StudentProfile:
    return StudentProfile(
        school_id=school, school_year="2026/27", class_name=cls, age_band="16", gender="weiblich"
    )


def sid(ns: str, n: int) -> str:
    return f"01J{ns}{n:0{23 - len(ns)}d}"


def add_companion(store: MatchingStore, cid: str, capacity: int, schools: tuple[str, ...] = ("RFS",)) -> None:
    fields = Companion(
        companion_id=cid,
        name=f"B {cid}",
        email=f"{cid}@example.org",
        school_ids=list(schools),
        capacity=capacity,
    ).model_dump(mode="json", exclude={"companion_id", "used", "revision", "version"})
    store.commit([], [CompanionWrite(cid, fields=fields, new=True)])


def change_registry(store: MatchingStore, seen: Companion, **fields: Any) -> None:
    """A registry change as the registry use case writes it: guarded by what it read of the companion."""
    cap = fields.get("capacity", seen.capacity)
    store.commit(
        [], [CompanionWrite(seen.companion_id, seen.revision, 0, seen.version, limit=cap, fields=fields)]
    )


def assigned(ns: str, n: int, cid: str) -> Assignment:
    return Assignment(
        intake_id=sid(ns, n),
        status="assigned",
        profile=profile(),
        companion_id=cid,
        cost=0.0,
        assigned_at=NOW,
        submitted_at=NOW,
        updated_at=NOW,
    )


def waiting(ns: str, n: int) -> Assignment:
    return assignment_rules.waiting_state(
        sid(ns, n), profile(), "no_capacity", at=NOW, submitted_at=NOW, profile_updated_at=None
    )


def release(store: MatchingStore, new_state: Assignment, companion_id: str) -> None:
    if not store.release(new_state, companion_id):
        raise AlreadyDecidedError(new_state.intake_id)


def snapshot(store: MatchingStore, ns: str) -> list[Companion]:
    """The stale read every prepared write is based on (only this interleaving's companions)."""
    return [c for c in store.list_companions() if c.companion_id.startswith(ns)]


def check(store: MatchingStore, ns: str, order: tuple[str, ...]) -> dict[str, int]:
    comps = {c.companion_id: c for c in snapshot(store, ns)}
    per: Counter[str] = Counter()
    for a in store.all_assignments(now=NOW):
        if a.intake_id.startswith(f"01J{ns}") and a.status == "assigned":
            per[a.companion_id or "?"] += 1
    for a in store.all_assignments(now=NOW):
        if a.intake_id.startswith(f"01J{ns}") and a.status == "assigned" and a.profile is not None:
            assert a.profile.school_id in comps[a.companion_id or "?"].school_ids, (order, a.intake_id)
    for cid, c in comps.items():
        assert c.used <= c.capacity, (order, cid, c.used, c.capacity)
        assert c.used == per[cid], (order, cid, c.used, per[cid])
    return {cid: c.used for cid, c in comps.items()}


def run_all_orders(
    rt: LocalRuntime, name: str, build: Callable[[MatchingStore, str], list[Op]]
) -> list[dict[str, Any]]:
    """Build the scenario fresh for every order (own namespace), write the prepared ops in that order."""
    outcomes = []
    store = MatchingStore()
    with rt.lock:
        n_ops = len(build(store, f"{name}X"))
        clear(store)
        for k, perm in enumerate(itertools.permutations(range(n_ops))):
            ns = f"{name}{k:03d}"
            ops = build(store, ns)
            order = tuple(ops[i][0] for i in perm)
            ok = []
            for i in perm:
                label, write = ops[i]
                try:
                    write()
                    ok.append(label)
                except EXPECTED:
                    pass
            outcomes.append({"ns": ns, "order": order, "ok": ok, "used": check(store, ns, order)})
            clear(store)
    return outcomes


def clear(store: MatchingStore) -> None:
    """Empty the matching tables between orders (keeps every scan small)."""
    for table, key in ((store.companions, "companion_id"), (store.assignments, "intake_id")):
        for item in table.scan(ProjectionExpression="#k", ExpressionAttributeNames={"#k": key})["Items"]:
            table.delete_item(Key={key: item[key]})


# ------------------------------------------------------------------------------------- scenarios
def test_more_claims_than_free_slots_from_one_stale_read(rt: LocalRuntime) -> None:
    """Four students see the same companion with 2 free slots and claim it, in all 24 orders."""

    def build(store: MatchingStore, ns: str) -> list[Op]:
        add_companion(store, f"{ns}A", 2)
        stale = snapshot(store, ns)
        ops: list[Op] = []
        for n in range(4):
            a = assignment_rules.prepare_claim(sid(ns, n), profile(), stale, [], at=NOW)
            assert a is not None and a.companion_id == f"{ns}A"
            ops.append((f"claim{n}", lambda a=a: store.claim(a, from_waitlist=False)))
        return ops

    outcomes = run_all_orders(rt, "C", build)
    assert len(outcomes) == 24
    assert all(len(o["ok"]) == 2 and list(o["used"].values()) == [2] for o in outcomes)
    assert all(o["ok"] == [x for x in o["order"]][:2] for o in outcomes)  # first come, first served


def test_duplicate_deliveries_of_one_student_claim_only_one_slot(rt: LocalRuntime) -> None:
    """The same waiting student is worked off by two invocations (one chose A, one B) while a new
    intake claims A's last slot: whatever the order, the student holds one slot and A is not overbooked."""

    def build(store: MatchingStore, ns: str) -> list[Op]:
        add_companion(store, f"{ns}A", 1)
        add_companion(store, f"{ns}B", 1)
        store.put_waitlisted(waiting(ns, 0))
        w = store.get_assignment(sid(ns, 0), now=NOW)
        assert w is not None
        to_a = w.model_copy(update={"status": "assigned", "companion_id": f"{ns}A", "cost": 0.0})
        to_b = w.model_copy(update={"status": "assigned", "companion_id": f"{ns}B", "cost": 0.0})
        new = assigned(ns, 1, f"{ns}A")
        return [
            ("wait→A", lambda: store.claim(to_a, from_waitlist=True)),
            ("wait→B", lambda: store.claim(to_b, from_waitlist=True)),
            ("new→A", lambda: store.claim(new, from_waitlist=False)),
        ]

    for o in run_all_orders(rt, "D", build):
        assert ("wait→A" in o["ok"]) != ("wait→B" in o["ok"]), o  # exactly one of the two
        assert sum(o["used"].values()) == len(o["ok"])


def test_exit_reassign_capacity_cut_and_claims_interleaved(rt: LocalRuntime) -> None:
    """A is full (2/2), B has one free slot (0/1). Prepared from that read: an exit at A, a move
    A→B, a new claim at B, the office cutting B's capacity to 0, and a claim at A prepared after the
    exit was seen. 120 orders; never above capacity — also not after the capacity cut."""

    def build(store: MatchingStore, ns: str) -> list[Op]:
        a, b = f"{ns}A", f"{ns}B"
        add_companion(store, a, 2)
        add_companion(store, b, 1)
        s0, s1 = assigned(ns, 0, a), assigned(ns, 1, a)
        store.claim(s0, from_waitlist=False)
        store.claim(s1, from_waitlist=False)
        ended = s0.model_copy(update={"status": "ended"})
        moved = s1.model_copy(update={"companion_id": b})
        stale = {c.companion_id: c for c in snapshot(store, ns)}
        return [
            ("exit s0", lambda: release(store, ended, a)),
            ("move s1 A→B", lambda: store.reassign(moved, a)),
            ("new s2→B", lambda: store.claim(assigned(ns, 2, b), from_waitlist=False)),
            ("cut B to 0", lambda: change_registry(store, stale[b], capacity=0)),
            ("new s3→A", lambda: store.claim(assigned(ns, 3, a), from_waitlist=False)),
        ]

    outcomes = run_all_orders(rt, "E", build)
    assert len(outcomes) == 120
    for o in outcomes:
        assert "exit s0" in o["ok"]
        assert not ({"move s1 A→B", "new s2→B"} <= set(o["ok"])), o  # B had one slot
        if "cut B to 0" in o["ok"]:  # the cut only succeeds while B is empty, and B stays empty after it
            assert o["used"][f"{o['ns']}B"] == 0, o
    assert any("cut B to 0" not in o["ok"] for o in outcomes)  # the cut is refused while B is in use


def test_rebalance_cycle_against_a_concurrent_move(rt: LocalRuntime) -> None:
    """A rebalance swap of two full companions (one transaction) races a single move of one of the
    same students to a third companion and a new claim there."""

    def build(store: MatchingStore, ns: str) -> list[Op]:
        a, b, c = f"{ns}A", f"{ns}B", f"{ns}C"
        for cid in (a, b, c):
            add_companion(store, cid, 1)
        s0, s1 = assigned(ns, 0, a), assigned(ns, 1, b)
        store.claim(s0, from_waitlist=False)
        store.claim(s1, from_waitlist=False)
        stale = {x.companion_id: x for x in snapshot(store, ns)}
        swap = [
            flow_solver.Move(s0.intake_id, a, b, 0.0, 0.0),
            flow_solver.Move(s1.intake_id, b, a, 0.0, 0.0),
        ]
        steps, rest = schedule(swap, {a: 0, b: 0, c: 1})
        assert rest == [] and len(steps) == 1 and steps[0].is_cycle
        writes = [
            StudentWrite(s0.model_copy(update={"companion_id": b}), a),
            StudentWrite(s1.model_copy(update={"companion_id": a}), b),
        ]
        return [
            ("swap", lambda: store.commit(writes, companion_writes(swap, stale))),
            ("move s0 A→C", lambda: store.reassign(s0.model_copy(update={"companion_id": c}), a)),
            ("new s2→C", lambda: store.claim(assigned(ns, 2, c), from_waitlist=False)),
        ]

    for o in run_all_orders(rt, "R", build):
        assert not ({"swap", "move s0 A→C"} <= set(o["ok"])), o
        assert sum(o["used"].values()) == 2 + ("new s2→C" in o["ok"])


def test_a_registry_change_and_claims_decided_on_the_old_entry(rt: LocalRuntime) -> None:
    """A serves RFS and MPS with two free places. From one read: the office removes MPS from A (its one MPS
    student moves to B in the same transaction), an MPS student and an RFS student claim A (decided on the
    old entry), and an RFS student moves from B to A. In no order does an MPS student end up at A, and no
    counter leaves its capacity: a claim decided on the old entry cannot be written after the change."""

    def build(store: MatchingStore, ns: str) -> list[Op]:
        a, b = f"{ns}A", f"{ns}B"
        add_companion(store, a, 3, ("RFS", "MPS"))
        add_companion(store, b, 2, ("RFS", "MPS"))
        mps = assigned(ns, 0, a).model_copy(update={"profile": profile(school="MPS")})
        rfs = assigned(ns, 1, b)
        store.claim(mps, from_waitlist=False)
        store.claim(rfs, from_waitlist=False)
        stale = {x.companion_id: x for x in snapshot(store, ns)}
        out = flow_solver.Move(mps.intake_id, a, b, 0.0, 0.0)
        writes = [StudentWrite(mps.model_copy(update={"companion_id": b}), a)]
        counters = companion_writes([out], stale)
        own = next(w for w in counters if w.companion_id == a)
        change = [
            CompanionWrite(
                a,
                stale[a].revision,
                own.delta,
                seen_version=stale[a].version,
                limit=3 - own.delta,
                fields={"school_ids": ["RFS"]},
            ),
            *(w for w in counters if w.companion_id != a),
        ]
        new_mps = assigned(ns, 2, a).model_copy(update={"profile": profile(school="MPS")})
        rev = stale[a].revision
        return [
            ("remove MPS from A", lambda: store.commit(writes, change)),
            ("MPS s2→A", lambda: store.claim(new_mps, from_waitlist=False, revision=rev)),
            ("RFS s3→A", lambda: store.claim(assigned(ns, 3, a), from_waitlist=False, revision=rev)),
            (
                "move s1 B→A",
                lambda: store.reassign(rfs.model_copy(update={"companion_id": a}), b, revision=rev),
            ),
        ]

    outcomes = run_all_orders(rt, "G", build)
    assert len(outcomes) == 24
    change = "remove MPS from A"
    for o in outcomes:
        assert not {"MPS s2→A", change} <= set(o["ok"]), o  # no MPS student at A after the change
        before = o["order"][: o["order"].index(change)]
        if change in o["ok"]:
            assert o["ok"] == [change], o  # whatever was decided on the old entry failed after it
        else:
            assert before and before[0] in o["ok"], o  # refused only because something landed first
