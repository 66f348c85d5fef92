"""The invariants of matching under random sequences of what happens in a county (hypothesis, stateful).

Each example runs a fresh embedded runtime and applies a random sequence of: intakes (with and without a start
date), exits, withdrawals, school changes of students (``IntakeUpdated``), registry changes through the API
(companions created or replaced, capacity, schools, a leave, the end of the activity, inactive) and the
simulated clock moving on by days (the daily sweep runs on the way). After every step, once every event is
delivered (a quiet point), it checks against an independent computation (networkx, with the rules written out
again here, not imported):

1. every assigned student's companion may have them: serves the school, consent present, active, the active
   period not over, and — while the assignment has not begun — neither on leave nor outside the active
   period on its first day; counters equal the assignments and stay within capacity;
2. **as many students are assigned as possible** under capacities, schools, activity and leave (a maximum flow
   over every student × companion pair the rules allow as of today);
3. **nobody is moved without a placement gained**: the students whose companion changed since the last quiet
   point are exactly as many as the fewest moves that give the same set of students a place (a min-cost flow
   where keeping one's still allowed companion costs 0 and any other companion 1).

``AVDUAL_MATCHING_EXAMPLES`` / ``AVDUAL_MATCHING_STEPS`` set the size: small in ``make test``, large in
``make fuzz`` (the count of examples and steps run goes to ``out/fuzz-matching.json``).
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import networkx as nx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from ulid import ULID

from avdual.runtime import LocalRuntime
from common.events import OutgoingEvent
from contracts.events import (
    INTAKE_SUBMITTED,
    INTAKE_UPDATED,
    INTAKE_WITHDRAWN,
    IntakeSubmittedData,
    IntakeUpdatedData,
    IntakeWithdrawnData,
)
from tests.conftest import OFFICE
from tests.integration.test_matching import publish

EXAMPLES = int(os.environ.get("AVDUAL_MATCHING_EXAMPLES", "3"))
STEPS = int(os.environ.get("AVDUAL_MATCHING_STEPS", "10"))
REPORT = Path(os.environ.get("AVDUAL_MATCHING_REPORT", "out/fuzz-matching.json"))
SCHOOLS = ("RFS", "MPS", "OWS")
COMPANIONS = ("B1", "B2", "B3", "B4")
BERLIN = ZoneInfo("Europe/Berlin")
RUN: Counter[str] = Counter()
_serial = itertools.count(1)


# --------------------------------------------------------------------------------------------- the oracle
def today_of(rt: LocalRuntime) -> date:
    return rt.clock.now().astimezone(BERLIN).date()


def school_year_of(day: date) -> str:
    start = day.year if day.month >= 8 else day.year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _day(v: Any) -> date | None:
    return date.fromisoformat(v) if v else None


def away(c: dict[str, Any], day: date) -> bool:
    """Outside the active period or on leave on ``day`` (all bounds inclusive)."""
    lo, hi = _day(c.get("active_from")), _day(c.get("active_until"))
    if (lo and day < lo) or (hi and day > hi):
        return True
    return any(_day(p["start"]) <= day <= _day(p["end"]) for p in c.get("leave_periods") or [])  # type: ignore[operator]


def first_day(profile: dict[str, Any], today: date) -> date:
    """The first day of an assignment made ``today``: the start date (else 1 August), never a past day."""
    year = int(profile["school_year"][:4])
    return max(_day(profile.get("start_date")) or date(year, 8, 1), today)


def may_keep(a: dict[str, Any], c: dict[str, Any], today: date) -> bool:
    """The rules an existing assignment must keep as of ``today``."""
    p = a["profile"]
    if not p.get("consent_present", True) or p["school_id"] not in c["school_ids"] or not c["active"]:
        return False
    if c.get("active_until") and today > _day(c["active_until"]):  # type: ignore[operator]
        return False
    assigned_day = datetime.fromisoformat(a["assigned_at"]).astimezone(BERLIN).date()
    start = first_day(p, assigned_day)
    return not (start >= today and away(c, start))


def may_take(p: dict[str, Any], c: dict[str, Any], today: date) -> bool:
    """The rules of a new assignment made ``today`` (capacity aside)."""
    if not p.get("consent_present", True) or p["school_id"] not in c["school_ids"] or not c["active"]:
        return False
    return not away(c, first_day(p, today))


def allowed(a: dict[str, Any], c: dict[str, Any], today: date) -> bool:
    current = a["status"] == "assigned" and a.get("companion_id") == c["companion_id"]
    return may_keep(a, c, today) if current else may_take(a["profile"], c, today)


def flow_graph(students: list[dict[str, Any]], comps: dict[str, dict[str, Any]], today: date) -> nx.DiGraph:
    g = nx.DiGraph()
    for a in students:
        g.add_edge("source", ("s", a["intake_id"]), capacity=1)
        for cid, c in comps.items():
            if allowed(a, c, today):
                g.add_edge(("s", a["intake_id"]), ("c", cid), capacity=1, weight=0)
    for cid, c in comps.items():
        g.add_edge(("c", cid), "sink", capacity=int(c["capacity"]))
    return g


def most_assignable(students: list[dict[str, Any]], comps: dict[str, dict[str, Any]], today: date) -> int:
    if not students or not comps:
        return 0
    return int(nx.maximum_flow_value(flow_graph(students, comps, today), "source", "sink"))


def fewest_moves(
    placed: list[dict[str, Any]],
    before: dict[str, dict[str, Any]],
    comps: dict[str, dict[str, Any]],
    today: date,
) -> int:
    """The fewest students of ``placed`` (assigned now) who must change companion so that all of them have
    one: staying with the companion they had (``before``: their record at the last quiet point) costs 0 where
    that assignment may still be kept, any other companion costs 1 if they had one (0 for a new placement)."""
    if not placed:
        return 0
    g = nx.DiGraph()
    for a in placed:
        node, prev = ("s", a["intake_id"]), before.get(a["intake_id"])
        g.add_edge("source", node, capacity=1)
        for cid, c in comps.items():
            if prev is not None and prev["companion_id"] == cid:
                ok, weight = may_keep({**prev, "profile": a["profile"]}, c, today), 0
            else:
                current = a["companion_id"] == cid and may_keep(a, c, today)
                ok, weight = current or may_take(a["profile"], c, today), int(prev is not None)
            if ok:
                g.add_edge(node, ("c", cid), capacity=1, weight=weight)
    for cid, c in comps.items():
        g.add_edge(("c", cid), "sink", capacity=int(c["capacity"]))
    flow = nx.max_flow_min_cost(g, "source", "sink")
    assert sum(flow["source"].values()) == len(placed), "the actual assignment is not feasible"
    return int(nx.cost_of_flow(g, flow))


# --------------------------------------------------------------------------------------------- the machine
def ulid_at(at: datetime) -> str:
    n = next(_serial)
    return str(ULID.from_bytes(int(at.timestamp() * 1000).to_bytes(6, "big") + n.to_bytes(10, "big")))


class County(RuleBasedStateMachine):
    """A county on the embedded runtime, changed step by step through the product's own paths."""

    def __init__(self) -> None:
        super().__init__()
        self.rt = LocalRuntime(stage=f"inv{next(_serial)}", log_level="ERROR")
        self.rt.start()
        self.companions: dict[str, dict[str, Any]] = {}
        self.before: dict[str, dict[str, Any]] = {}
        RUN["examples"] += 1

    def teardown(self) -> None:
        self.rt.stop()

    # ------------------------------------------------------------------ helpers
    def publish(self, *events: OutgoingEvent) -> None:
        publish(self.rt, *events)
        self.rt.drain()

    def office(self, method: str, path: str, body: dict[str, Any]) -> None:
        r = self.rt.api(method, path, body=body, query={"allow_waitlist": "true"}, claims=OFFICE)
        assert r.status == 200, (method, path, body, r.body)
        self.companions[r.json()["companion_id"]] = r.json()
        self.rt.drain()

    def students(self, status: str | None = None) -> list[dict[str, Any]]:
        return sorted(
            (
                a
                for a in self.rt.scan("assignments")
                if a.get("profile") and a["status"] in ((status,) if status else ("assigned", "waitlisted"))
            ),
            key=lambda a: a["intake_id"],
        )

    def day(self, offset: int) -> str:
        return (today_of(self.rt) + timedelta(days=offset)).isoformat()

    # ------------------------------------------------------------------ the county changes
    @initialize(n=st.integers(1, 3), capacity=st.integers(1, 3))
    def first_companions(self, n: int, capacity: int) -> None:
        for i, cid in enumerate(COMPANIONS[:n]):
            schools = [SCHOOLS[i % 3], SCHOOLS[(i + 1) % 3]] if i == 1 else [SCHOOLS[i % 3]]
            self.put_companion(cid, schools, capacity)

    @rule(
        cid=st.sampled_from(COMPANIONS),
        schools=st.lists(st.sampled_from(SCHOOLS), min_size=1, max_size=3, unique=True),
        capacity=st.integers(0, 4),
    )
    def put_companion(self, cid: str, schools: list[str], capacity: int) -> None:
        RUN["steps"] += 1
        body = {
            "companion_id": cid,
            "name": f"Begleitung {cid}",
            "email": f"{cid.lower()}@example.org",
            "school_ids": schools,
            "capacity": capacity,
        }
        self.office("POST", "/companions", body)

    @precondition(lambda self: self.companions)
    @rule(data=st.data(), capacity=st.integers(0, 4))
    def change_capacity(self, data: st.DataObject, capacity: int) -> None:
        RUN["steps"] += 1
        cid = data.draw(st.sampled_from(sorted(self.companions)))
        self.office("PATCH", f"/companions/{cid}", {"capacity": capacity})

    @precondition(lambda self: self.companions)
    @rule(data=st.data(), schools=st.lists(st.sampled_from(SCHOOLS), min_size=1, max_size=3, unique=True))
    def change_schools(self, data: st.DataObject, schools: list[str]) -> None:
        RUN["steps"] += 1
        cid = data.draw(st.sampled_from(sorted(self.companions)))
        self.office("PATCH", f"/companions/{cid}", {"school_ids": schools})

    @precondition(lambda self: self.companions)
    @rule(data=st.data(), start=st.integers(-3, 6), days=st.integers(0, 9))
    def leave(self, data: st.DataObject, start: int, days: int) -> None:
        RUN["steps"] += 1
        cid = data.draw(st.sampled_from(sorted(self.companions)))
        period = {"start": self.day(start), "end": self.day(start + days)}
        self.office("PATCH", f"/companions/{cid}", {"leave_periods": [period]})

    @precondition(lambda self: self.companions)
    @rule(data=st.data(), until=st.one_of(st.none(), st.integers(-1, 5)), active=st.booleans())
    def activity(self, data: st.DataObject, until: int | None, active: bool) -> None:
        RUN["steps"] += 1
        cid = data.draw(st.sampled_from(sorted(self.companions)))
        body = {"active": active, "active_until": None if until is None else self.day(until)}
        self.office("PATCH", f"/companions/{cid}", body)

    @rule(
        school=st.sampled_from(SCHOOLS),
        n=st.integers(1, 3),
        start=st.one_of(st.none(), st.integers(0, 12)),
        consent=st.sampled_from([True, True, True, False]),
    )
    def intakes(self, school: str, n: int, start: int | None, consent: bool) -> None:
        RUN["steps"] += 1
        at = self.rt.clock.now()
        events = []
        for k in range(n):
            iid = ulid_at(at + timedelta(milliseconds=k))
            data = IntakeSubmittedData(
                intake_id=iid,
                submitted_at=at + timedelta(milliseconds=k),
                school_id=school,
                school_year=school_year_of(today_of(self.rt)),
                class_name=f"AVd{k % 2 + 1}",
                age_band="16",
                gender="weiblich",
                start_date=None if start is None else self.day(start),  # type: ignore[arg-type]
                consent_present=consent,
            )
            events.append(
                OutgoingEvent(INTAKE_SUBMITTED, data, f"IntakeSubmitted:{iid}", "inv", occurred_at=at)
            )
        self.publish(*events)

    @precondition(lambda self: any(True for _ in self.students("assigned")))
    @rule(data=st.data())
    def exit(self, data: st.DataObject) -> None:
        RUN["steps"] += 1
        a = data.draw(st.sampled_from(self.students("assigned")))
        body = {"exit_date": self.day(0), "reason": "completed", "destination": "dual_training"}
        r = self.rt.api("POST", f"/assignments/{a['intake_id']}/exit", body=body, claims=OFFICE)
        assert r.status == 200, r.body
        self.rt.drain()

    @precondition(lambda self: any(True for _ in self.students()))
    @rule(data=st.data())
    def withdraw(self, data: st.DataObject) -> None:
        RUN["steps"] += 1
        a = data.draw(st.sampled_from(self.students()))
        at = self.rt.clock.now()
        w = IntakeWithdrawnData(
            intake_id=a["intake_id"],
            school_id=a["profile"]["school_id"],
            school_year=a["profile"]["school_year"],
            withdrawn_at=at,
            reason="left_school",
        )
        self.publish(
            OutgoingEvent(INTAKE_WITHDRAWN, w, f"IntakeWithdrawn:{a['intake_id']}", "inv", occurred_at=at)
        )

    @precondition(lambda self: any(True for _ in self.students()))
    @rule(data=st.data(), school=st.sampled_from(SCHOOLS))
    def school_change(self, data: st.DataObject, school: str) -> None:
        RUN["steps"] += 1
        a = data.draw(st.sampled_from(self.students()))
        at = self.rt.clock.now()
        p = {**a["profile"], "school_id": school}
        u = IntakeUpdatedData(
            intake_id=a["intake_id"], updated_at=at, changed_fields=["school_id"], matching_relevant=True, **p
        )
        key = f"IntakeUpdated:{a['intake_id']}:{at.isoformat()}"
        self.publish(OutgoingEvent(INTAKE_UPDATED, u, key, "inv", occurred_at=at))

    @rule(days=st.integers(1, 9))
    def time_passes(self, days: int) -> None:
        """The clock moves on to a morning after the daily sweep (06:30 in the county)."""
        RUN["steps"] += 1
        now = self.rt.clock.now().astimezone(BERLIN)
        target = datetime.combine(now.date() + timedelta(days=days), datetime.min.time(), BERLIN) + timedelta(
            hours=7
        )
        self.rt.advance(target.astimezone(UTC) - self.rt.clock.now())

    # ------------------------------------------------------------------ after every step
    @invariant()
    def quiet_point(self) -> None:
        if not self.companions:
            return
        today = today_of(self.rt)
        comps = {c["companion_id"]: c for c in self.rt.scan("companions")}
        students = self.students()
        placed = [a for a in students if a["status"] == "assigned"]
        per = Counter(a["companion_id"] for a in placed)
        for a in placed:
            assert may_keep(a, comps[a["companion_id"]], today), ("kept against the rules", a["intake_id"])
        for cid, c in comps.items():
            assert int(c["used"]) == per[cid] <= int(c["capacity"]), (cid, c["used"], per[cid], c["capacity"])
        assert len(placed) == most_assignable(students, comps, today), "a place stayed unused"
        had = {i: a["companion_id"] for i, a in self.before.items()}
        moved = sum(1 for a in placed if had.get(a["intake_id"]) not in (None, a["companion_id"]))
        assert moved == fewest_moves(placed, self.before, comps, today), "moved without a placement gained"
        assert self.rt.dead_letters == []
        self.before = {a["intake_id"]: a for a in placed}
        RUN["checks"] += 1


def test_matching_keeps_its_invariants_through_random_histories() -> None:
    run_state_machine_as_test(
        County,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=EXAMPLES <= 10,
            suppress_health_check=list(HealthCheck),
        ),
    )
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(dict(RUN), indent=2) + "\n", encoding="utf-8")
    assert RUN["checks"] >= EXAMPLES


@pytest.mark.parametrize("capacity", [1])
def test_the_oracle_sees_the_linked_school_finding(capacity: int) -> None:
    """The oracle itself: one free place at an MPS-only companion, a full companion shared with OWS, an OWS
    student waiting → the maximum is one more than assigned (the finding of issue 16, item 2)."""
    today = date(2026, 10, 5)
    p = {"school_year": "2026/27", "start_date": None}
    comps = {
        "X": {"companion_id": "X", "school_ids": ["MPS"], "capacity": capacity, "active": True},
        "S": {"companion_id": "S", "school_ids": ["MPS", "OWS"], "capacity": 1, "active": True},
    }
    students = [
        {
            "intake_id": "m",
            "status": "assigned",
            "companion_id": "S",
            "assigned_at": "2026-09-01T08:00:00+00:00",
            "profile": {**p, "school_id": "MPS"},
        },
        {"intake_id": "w", "status": "waitlisted", "profile": {**p, "school_id": "OWS"}},
    ]
    assert most_assignable(students, comps, today) == 2
    now = "2026-10-05T08:00:00+00:00"
    placed = [
        {**students[0], "companion_id": "X", "assigned_at": now},
        {**students[1], "status": "assigned", "companion_id": "S", "assigned_at": now},
    ]
    assert fewest_moves(placed, {"m": students[0]}, comps, today) == 1
    assert fewest_moves([students[0]], {"m": students[0]}, comps, today) == 0
