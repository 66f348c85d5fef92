"""Unit tests of the matching cost model (cost.py) and the online ranking (choose.py). Pure, no I/O."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.events import StudentProfile
from services.matching.logic import choose
from services.matching.logic import cost as cm
from services.matching.logic.cost import CRITERIA, Context, Explanation, Weights
from services.matching.models.matching import Companion, LeavePeriod
from tests.unit.matching.builders import companion, profile

FAST = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
FEW = settings(max_examples=30, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
GENDERS = ["weiblich", "maennlich", "divers", "keine_angabe"]
FIELDS = ["metall", "elektro", "handel", "gesundheit", "it"]
LANGS = ["de", "tr", "ar", "uk", "ru"]


def on_leave(cid: str, *periods: tuple[date, date], **kw: Any) -> Companion:
    """A companion with leave periods given as ``(start, end)`` tuples."""
    return companion(cid, leave_periods=[LeavePeriod(start=a, end=b) for a, b in periods], **kw)


profiles = st.builds(
    profile,
    school_id=st.sampled_from(["RFS", "MPS"]),
    class_name=st.sampled_from(["AVd1", "AVd2"]),
    gender=st.sampled_from(GENDERS),
    parent_contact_language=st.none() | st.sampled_from(LANGS),
    career_fields=st.lists(st.sampled_from(FIELDS), max_size=3, unique=True),
    preferred_companion_gender=st.none() | st.sampled_from(GENDERS),
    previous_companion_id=st.none() | st.sampled_from(["A", "B", "C"]),
    consent_present=st.booleans(),
)


@st.composite
def companions(draw: st.DrawFn, cid: str | None = None) -> Companion:
    cap = draw(st.integers(0, 5))
    return companion(
        cid or draw(st.sampled_from(["A", "B", "C"])),
        school_ids=draw(
            st.lists(st.sampled_from(["RFS", "MPS", "OWS"]), min_size=1, max_size=2, unique=True)
        ),
        capacity=cap,
        used=draw(st.integers(0, cap + 1)),
        active=draw(st.booleans()),
        languages=draw(st.lists(st.sampled_from(LANGS), max_size=3, unique=True)),
        career_fields=draw(st.lists(st.sampled_from(FIELDS), max_size=3, unique=True)),
        gender=draw(st.sampled_from(GENDERS)),
    )


contexts = st.builds(
    lambda pairs: Context({k: Counter(v) for k, v in pairs.items()}),
    st.dictionaries(
        st.tuples(st.sampled_from(["RFS", "MPS"]), st.sampled_from(["AVd1", "AVd2"])),
        st.dictionaries(st.sampled_from(["A", "B", "C"]), st.integers(0, 6)),
    ),
)
weights = st.builds(Weights, **{name: st.floats(0, 10, allow_nan=False) for name in Weights.model_fields})


# --------------------------------------------------------------------------------------------- explanation
@FAST
@given(profiles, companions(), contexts, weights)
def test_explanation_components_sum_to_total(
    p: StudentProfile, c: Companion, ctx: Context, w: Weights
) -> None:
    expl = cm.cost(p, c, ctx, w)
    if cm.violations(p, c):
        assert expl is None
        return
    assert expl is not None
    assert tuple(expl.components) == CRITERIA
    assert all(v >= 0 for v in expl.components.values())
    assert all(round(v, 6) == v for v in expl.components.values())
    assert expl.total == round(sum(expl.components.values()), 6)
    assert expl.total == pytest.approx(sum(expl.components.values()), abs=1e-9)
    assert expl.units == sum(cm.to_units(v) for v in expl.components.values())
    # each weighted criterion is bounded by its weight (factor in [0, 1], load share < 1 when feasible)
    for name, v in expl.components.items():
        assert v <= getattr(w, name) + 5e-7


@FEW
@given(profiles, st.lists(companions(), max_size=6), contexts)
def test_candidate_cost_and_explanation_come_from_the_cost_model(
    p: StudentProfile, cs: list[Companion], ctx: Context
) -> None:
    ranked = choose.rank(p, cs, ctx)
    assert len(ranked) == sum(1 for c in cs if choose.eligible(p, c))
    for cand in ranked:
        expl = cm.cost(p, cand.companion, ctx)
        assert expl is not None
        assert cand.explanation == expl.components
        assert cand.cost == expl.total == round(sum(cand.explanation.values()), 6)
    assert [(k.cost, k.companion.companion_id) for k in ranked] == sorted(
        (k.cost, k.companion.companion_id) for k in ranked
    )


def test_explanation_of_rounds_each_component_before_summing() -> None:
    e = Explanation.of({"a": 1 / 3, "b": 2 / 3, "c": 0.1234567})
    assert e.components == {"a": 0.333333, "b": 0.666667, "c": 0.123457}
    assert e.total == round(0.333333 + 0.666667 + 0.123457, 6)


# --------------------------------------------------------------------------------------------- hard rules
@pytest.mark.parametrize(
    ("p", "c", "rule"),
    [
        (profile(school_id="MPS"), companion("A"), "school"),
        (profile(), companion("A", active=False), "inactive"),
        (profile(), companion("A", capacity=2, used=2), "capacity"),
        (profile(), companion("A", capacity=0), "capacity"),
        (profile(consent_present=False), companion("A"), "consent"),
        (
            profile(start_date=date(2026, 9, 14)),
            on_leave("A", (date(2026, 9, 1), date(2026, 9, 30))),
            "inactive",
        ),
    ],
)
def test_hard_rules_give_no_cost(p: StudentProfile, c: Companion, rule: str) -> None:
    assert cm.violations(p, c) == [rule]
    assert cm.cost(p, c) is None
    assert not choose.eligible(p, c)
    assert choose.rank(p, [c]) == []


def test_leave_outside_the_start_date_and_capacity_switch() -> None:
    c = on_leave("A", (date(2026, 9, 1), date(2026, 9, 30)))
    assert cm.cost(profile(start_date=date(2026, 10, 1)), c) is not None
    assert cm.cost(profile(), c) is not None  # no start date: only the active flag counts
    full = companion("A", capacity=1, used=1)
    assert cm.cost(profile(), full) is None
    assert cm.cost(profile(), full, check_capacity=False) is not None


def test_waitlist_reason() -> None:
    assert choose.waitlist_reason(profile(consent_present=False), [companion("A")]) == "no_consent"
    assert (
        choose.waitlist_reason(profile(), [companion("A", school_ids=["MPS"])]) == "no_companion_for_school"
    )
    assert choose.waitlist_reason(profile(), [companion("A", active=False)]) == "no_active_companion"
    assert choose.waitlist_reason(profile(), [companion("A", capacity=1, used=1)]) == "no_capacity"


# --------------------------------------------------------------------------------------------- soft criteria
SOFT_CASES: list[tuple[str, StudentProfile, dict[str, Any], dict[str, Any], Context]] = [
    # (criterion, profile, better companion "Z" fields, worse companion "A" fields, context)
    ("continuity", profile(previous_companion_id="Z"), {}, {}, Context()),
    (
        "class_cohesion",
        profile(class_name="AVd2"),
        {},
        {},
        Context({("RFS", "AVd2"): Counter({"Z": 3, "A": 1}), ("RFS", "AVd1"): Counter({"A": 9})}),
    ),
    (
        "career_fields",
        profile(career_fields=["it", "handel"]),
        {"career_fields": ["it", "handel"]},
        {"career_fields": ["it"]},
        Context(),
    ),
    (
        "parent_language",
        profile(parent_contact_language="tr"),
        {"languages": ["de", "tr"]},
        {"languages": ["de"]},
        Context(),
    ),
    (
        "gender_preference",
        profile(preferred_companion_gender="maennlich"),
        {"gender": "maennlich"},
        {"gender": "weiblich"},
        Context(),
    ),
    ("load_balance", profile(), {"used": 10}, {"used": 11}, Context()),
]


@pytest.mark.parametrize(
    ("criterion", "p", "better", "worse", "ctx"), SOFT_CASES, ids=[c[0] for c in SOFT_CASES]
)
def test_each_soft_criterion_moves_the_ranking(
    criterion: str, p: StudentProfile, better: dict[str, Any], worse: dict[str, Any], ctx: Context
) -> None:
    z, a = companion("Z", **better), companion("A", **worse)
    ranked = choose.rank(p, [a, z], ctx)
    assert [k.companion.companion_id for k in ranked] == ["Z", "A"]  # against the id tie-break
    diff = {k: ranked[1].explanation[k] - ranked[0].explanation[k] for k in CRITERIA}
    assert diff[criterion] > 0
    assert all(v == 0 for k, v in diff.items() if k != criterion)
    # switching the criterion off restores the id tie-break
    off = Weights(**{criterion: 0.0})
    assert [k.companion.companion_id for k in choose.rank(p, [z, a], ctx, off)] == ["A", "Z"]


def test_soft_criteria_without_a_stated_need_cost_nothing() -> None:
    c = companion("A", languages=[], career_fields=[], gender="divers", used=0)
    p = profile(parent_contact_language="de", preferred_companion_gender="keine_angabe", career_fields=[])
    e = cm.cost(p, c)
    assert e is not None and e.total == 0 and set(e.components) == set(CRITERIA)
    e2 = cm.cost(profile(parent_contact_language=None, preferred_companion_gender=None), c)
    assert e2 is not None and e2.total == 0


def test_values_of_each_criterion() -> None:
    w = Weights()
    c = companion("A", career_fields=["it"], languages=["de"], gender="weiblich", capacity=40, used=10)
    p = profile(
        previous_companion_id="B",
        career_fields=["it", "handel", "bau"],
        parent_contact_language="ar",
        preferred_companion_gender="maennlich",
    )
    ctx = Context({("RFS", "AVd1"): Counter({"A": 1, "B": 3})})
    e = cm.cost(p, c, ctx, w)
    assert e is not None
    assert e.components == {
        "continuity": w.continuity,
        "class_cohesion": round(w.class_cohesion * 3 / 4, 6),
        "career_fields": round(w.career_fields * 2 / 3, 6),
        "parent_language": w.parent_language,
        "gender_preference": w.gender_preference,
        "load_balance": round(w.load_balance * 10 / 40, 6),
    }


def test_cohesion_does_not_count_the_student_itself() -> None:
    ctx = Context({("RFS", "AVd1"): Counter({"A": 1, "B": 1})})
    p = profile()
    assert cm.cohesion_share(p, "A", ctx) == 0.5
    # the student is the one at A: the only classmate is at B
    assert cm.cohesion_share(p, "A", ctx, current_companion_id="A") == 1.0
    assert cm.cohesion_share(p, "B", ctx, current_companion_id="A") == 0.0
    assert (
        cm.cohesion_share(p, "A", Context({("RFS", "AVd1"): Counter({"A": 1})}), current_companion_id="A")
        == 0.0
    )


def test_context_from_counts_per_class_and_companion() -> None:
    ctx = cm.context_from([(profile(), "A"), (profile(), "A"), (profile(class_name="AVd2"), "B")])
    assert ctx.class_counts == {("RFS", "AVd1"): Counter({"A": 2}), ("RFS", "AVd2"): Counter({"B": 1})}


def test_weights_are_frozen_and_non_negative() -> None:
    w = Weights()
    with pytest.raises(ValidationError):
        w.continuity = 1.0  # type: ignore[misc]
    with pytest.raises(ValidationError):
        Weights(continuity=-1)
    assert Weights.model_validate(w.model_dump()) == w


# --------------------------------------------------------------------------------------------- tie-break
@FEW
@given(profiles.filter(lambda p: p.consent_present), st.randoms(use_true_random=False))
def test_ties_are_broken_by_companion_id_whatever_the_input_order(
    p: StudentProfile, rnd: random.Random
) -> None:
    cs = [companion(cid, school_ids=[p.school_id]) for cid in ["B07", "A01", "C00", "A10", "B02"]]
    rnd.shuffle(cs)
    ranked = choose.rank(p, cs)
    assert [k.companion.companion_id for k in ranked] == ["A01", "A10", "B02", "B07", "C00"]
    assert len({k.cost for k in ranked}) == 1


@FEW
@given(
    profiles,
    st.lists(companions(), max_size=6, unique_by=lambda c: c.companion_id),
    contexts,
    st.randoms(use_true_random=False),
)
def test_rank_is_independent_of_input_order(
    p: StudentProfile, cs: list[Companion], ctx: Context, rnd: random.Random
) -> None:
    first = choose.rank(p, cs, ctx)
    shuffled = list(cs)
    rnd.shuffle(shuffled)
    assert choose.rank(p, shuffled, ctx) == first
