"""A random but plausible matching pool (students and companions) for the benchmarks and the tests of
the rebalance; not product code."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from contracts.events import StudentProfile
from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS
from services.matching.logic import cost as cm
from services.matching.logic.flow_solver import StudentState
from services.matching.models.matching import Companion


def random_pool(
    n_students: int, n_companions: int, seed: int = 0
) -> tuple[list[StudentState], list[Companion]]:
    """A random but plausible pool for benchmarks and tests (``make bench``: 5,000 × 200).

    Companions serve one or two of the six schools with capacities summing to about 110 % of
    the students; about 85 % of the students are currently assigned (never above capacity),
    the rest wait. Deterministic for a given ``seed``.
    """
    rng = random.Random(seed)
    schools = sorted(SCHOOLS)
    fields_, langs = sorted(CAREER_FIELDS), sorted(k for k in LANGUAGES if k != "de")
    genders = ["weiblich", "maennlich", "divers"]
    mean_cap = max(1.0, 1.1 * n_students / max(1, n_companions))
    companions: list[Companion] = []
    for j in range(n_companions):
        own = [schools[j % len(schools)]]
        if rng.random() < 0.3:
            own.append(rng.choice([x for x in schools if x != own[0]]))
        companions.append(
            Companion(
                companion_id=f"B{j:04d}",
                name=f"Begleitung {j}",
                email=f"b{j}@example.org",
                school_ids=own,
                capacity=min(200, max(1, round(mean_cap * rng.uniform(0.8, 1.2)))),
                languages=["de", *rng.sample(langs, rng.randint(0, 2))],
                career_fields=rng.sample(fields_, rng.randint(2, 4)),
                gender=rng.choice(genders),  # type: ignore[arg-type]
                active=rng.random() < 0.97,
            )
        )
    serving = {sc: [c for c in companions if sc in c.school_ids] for sc in schools}
    weights = [sum(c.capacity / len(c.school_ids) for c in serving[sc]) or 0.1 for sc in schools]
    used = {c.companion_id: 0 for c in companions}
    base = datetime(2026, 6, 1, tzinfo=UTC)
    students: list[StudentState] = []
    for i in range(n_students):
        school = rng.choices(schools, weights)[0]
        pool = serving[school]
        profile = StudentProfile(
            school_id=school,
            school_year="2026/27",
            class_name=f"AVd{rng.randint(1, 4)}",
            age_band=rng.choice(["unter_16", "16", "17", "18", "19_plus"]),  # type: ignore[arg-type]
            gender=rng.choice(genders),  # type: ignore[arg-type]
            parent_contact_language="de" if rng.random() < 0.6 else rng.choice(langs),
            career_fields=rng.sample(fields_, rng.randint(1, 3)),
            preferred_companion_gender=rng.choice(genders) if rng.random() < 0.2 else None,  # type: ignore[arg-type]
            previous_companion_id=rng.choice(pool).companion_id if pool and rng.random() < 0.1 else None,
            consent_present=rng.random() < 0.98,
        )
        current = None
        if rng.random() < 0.85:
            free = [
                c
                for c in pool
                if cm.feasible(profile, c, check_capacity=False) and used[c.companion_id] < c.capacity
            ]
            if free:
                current = rng.choice(free).companion_id
                used[current] += 1
        students.append(
            StudentState(
                intake_id=f"01JAAAAAAAAAAAAAAA{i:08d}",
                profile=profile,
                companion_id=current,
                submitted_at=base + timedelta(minutes=rng.randint(0, 60 * 24 * 90)),
            )
        )
    companions = [c.model_copy(update={"used": used[c.companion_id]}) for c in companions]
    return students, companions
