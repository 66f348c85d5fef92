"""The demo scenario played into a runtime as weeks of history (``make serve``'s default state).

The runtime's simulated clock starts ``weeks - 1`` weeks back; the companions are registered, then the
scenario's intakes arrive in weekly batches (most in the first week, fewer later, as at the start of a school
year), the clock moving on a week between two batches; the last batch arrives now, in the current week.
Schedules fall due on the way as on AWS (the Wochenbericht each Monday, the daily waiting check), so reports,
alerts and every week-over-week figure have a past; at the end the clock shows the real time again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from avdual.demo import seed_companions, submit_all
from avdual.runtime import LocalRuntime

WEEK = timedelta(days=7)
#: Share of the intakes per week, oldest week first (the bulk arrives when the school year starts).
WEEKLY_SHARES = {1: (1,), 2: (3, 1), 3: (3, 2, 1), 4: (4, 3, 2, 1)}


@dataclass
class History:
    """What was loaded: intakes per week, the assignments' status counts, reports made, seconds taken."""

    weeks: int
    companions: int = 0
    intakes_per_week: list[int] = field(default_factory=list)
    status: Counter[str] = field(default_factory=Counter)
    reports: int = 0
    seconds: float = 0.0


def clock_start(now: datetime, weeks: int) -> datetime:
    """Where the runtime's clock starts so that ``weeks`` weekly batches end with one at ``now``."""
    return now - (weeks - 1) * WEEK


def weekly_batches(forms: list[dict[str, Any]], weeks: int) -> list[list[dict[str, Any]]]:
    """``forms`` in ``weeks`` consecutive batches by :data:`WEEKLY_SHARES` (every form exactly once)."""
    if weeks not in WEEKLY_SHARES:
        raise ValueError(f"weeks must be one of {sorted(WEEKLY_SHARES)}")
    shares = WEEKLY_SHARES[weeks]
    bounds = [round(len(forms) * sum(shares[:i]) / sum(shares)) for i in range(len(shares) + 1)]
    return [forms[a:b] for a, b in pairwise(bounds)]


def play_weeks(
    rt: LocalRuntime,
    scenario: dict[str, Any],
    forms: list[dict[str, Any]],
    *,
    weeks: int,
    progress: Callable[[str], None] = lambda line: None,
) -> History:
    """Companions, then the intakes week by week, the clock a week further after each batch (see module)."""
    t0 = time.perf_counter()
    history = History(weeks)
    seed_companions(rt, scenario)
    rt.drain()
    history.companions = len(scenario["companions"])
    for week, batch in enumerate(weekly_batches(forms, weeks), 1):
        if week > 1:  # the week's schedules run: the Wochenbericht on Monday, the daily checks
            fired = rt.advance(WEEK)
            history.reports += sum(1 for _, name in fired if name == "weekly-report")
        submit_all(rt, batch)
        history.intakes_per_week.append(len(batch))
        progress(f"Woche {week}/{weeks}: {len(batch)} Anmeldungen")
    with rt.lock:
        history.status = Counter(a["status"] for a in rt.scan("assignments"))
    history.seconds = time.perf_counter() - t0
    return history
