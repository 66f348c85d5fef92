"""While a local runtime runs, Python's collector skips what the process held when it started and collects the
first generation less often (``avdual.runtime.GC_FIRST_GENERATION``; docs/performance.md, "Local pipeline");
when it stops, both are as before, so a process that starts runtime after runtime (the tests) keeps
nothing frozen."""

from __future__ import annotations

import gc

from avdual.runtime import GC_FIRST_GENERATION, LocalRuntime


def test_the_collector_is_set_while_a_runtime_runs_and_as_before_after() -> None:
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    assert before[0] != GC_FIRST_GENERATION
    with LocalRuntime(stage="gc", log_level="ERROR"):
        assert gc.get_threshold() == (GC_FIRST_GENERATION, *before[1:])
        assert gc.get_freeze_count() > frozen
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
