"""Shared fixtures: the embedded runtime and sample forms."""

from __future__ import annotations

import copy
import itertools
import os
from collections.abc import Iterator
from typing import Any

# aws_xray_sdk creates its (unconnected) UDP emitter socket at import, even with tracing disabled;
# import it before pytest-socket blocks socket creation in the tests. Nothing is ever sent.
import aws_xray_sdk.core  # noqa: F401
import pytest

from avdual.runtime import LocalRuntime

# Offline test defaults: no X-Ray daemon socket, fake credentials, a region (nothing reaches AWS).
for _k, _v in {
    "POWERTOOLS_TRACE_DISABLED": "true",
    "AWS_DEFAULT_REGION": "eu-central-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
}.items():
    os.environ.setdefault(_k, _v)

OFFICE = {"sub": "office-test", "cognito:groups": "office"}

VALID_FORM: dict[str, Any] = {
    "school_id": "RFS",
    "school_year": "2026/27",
    "class_name": "AVd1a",
    "student": {
        "given_name": "Zeynep",
        "family_name": "Şahin-Müller",
        "date_of_birth": "2010-05-17",
        "gender": "weiblich",
        "languages": ["de", "tr"],
        "parent_contact_language": "tr",
    },
    "german_support": True,
    "career_fields": ["gesundheit", "handel"],
    "consent": {"student": True, "guardian": True, "text_version": "EV-2026-08", "given_on": "2026-09-15"},
}


def companion(cid: str, schools: list[str], capacity: int = 2, **kw: Any) -> dict[str, Any]:
    return {
        "companion_id": cid,
        "name": f"Begleitung {cid}",
        "email": f"{cid.lower()}@example.org",
        "school_ids": schools,
        "capacity": capacity,
        **kw,
    }


# `make test` runs pytest-xdist with `--dist loadfile --no-loadscope-reorder`: the two workers take whole
# files in collection order. The slowest files go first, slowest first, so that the run ends with short files
# on both workers (xdist's default order, by number of tests, can leave a slow file of one or two tests to
# the end, where one worker runs it alone). The forty slowest by test-seconds per file (`--junitxml`, setup
# included; the rest take under about 6 s of CPU each); docs/performance.md, "`make test`". A file left off
# this list only runs later; a listed file that is gone fails tests/unit/platform/test_heavy_files_first.py.
HEAVY_FILES = (
    "tests/integration/test_matching.py",
    "tests/browser/test_dashboard_browser.py",
    "tests/e2e/test_matching_order.py",
    "tests/e2e/test_delivery.py",
    "tests/infra/test_function_layers.py",
    "tests/integration/test_reporting_caseload.py",
    "tests/unit/reporting/test_reporting_export_formulas.py",
    "tests/e2e/test_reporting_delivery.py",
    "tests/e2e/test_reporting_privacy.py",
    "tests/integration/test_api_entry.py",
    "tests/fuzz/test_matching_invariants.py",
    "tests/integration/test_matching_races.py",
    "tests/integration/test_intake_batch.py",
    "tests/integration/test_reporting_service.py",
    "tests/infra/test_infra_hardening.py",
    "tests/browser/test_school_workflows_browser.py",
    "tests/infra/test_infra_auth.py",
    "tests/integration/test_alert_digest.py",
    "tests/fuzz/test_api_fuzz.py",
    "tests/integration/test_casework.py",
    "tests/integration/test_ops.py",
    "tests/browser/test_begleitung_browser.py",
    "tests/infra/test_aws_rules.py",
    "tests/browser/test_one_look_browser.py",
    "tests/e2e/test_erasure.py",
    "tests/unit/intake/test_intake_classlist_sweep.py",
    "tests/e2e/test_smoke.py",
    "tests/integration/test_scheduled_runs.py",
    "tests/browser/test_intake_form_browser.py",
    "tests/integration/test_moto_patches.py",
    "tests/integration/test_reporting_weeks.py",
    "tests/integration/test_intake_corrections.py",
    "tests/e2e/test_one_clock.py",
    "tests/unit/reporting/test_reporting_workbooks.py",
    "tests/infra/test_infra_stack.py",
    "tests/integration/test_outbox.py",
    "tests/integration/test_reporting_goal_index.py",
    "tests/unit/reporting/test_reporting_render.py",
    "tests/integration/test_reporting_runtime.py",
    "tests/e2e/test_report_redaction.py",
)


def xdist_unit(nodeid: str) -> str:
    """The work unit of a test under ``make test``'s ``--dist loadfile``: its file, except that the modules
    reading the one synthesized stack (``tests.infra.cfn.SYNTH_MODULES``) are one unit, so one worker runs
    them all and synthesizes once (a synth costs about 8 s more as the first of a process;
    docs/performance.md, "`make test`")."""
    from tests.infra.cfn import SYNTH_MODULES

    path = nodeid.split("::", 1)[0]
    return SYNTH_MODULES[0] if path in SYNTH_MODULES else path


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown with ``-p no:xdist`` (``make fuzz``)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's ``--dist loadfile`` with the units of :func:`xdist_unit`."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class OneSynthPerRun(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_unit(nodeid)

    return OneSynthPerRun(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files of ``HEAVY_FILES`` first, in its order; every other file after them in collection order (a
    stable sort: the tests of a file keep their order)."""
    rank = {path: i for i, path in enumerate(HEAVY_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))


@pytest.fixture
def form() -> dict[str, Any]:
    return copy.deepcopy(VALID_FORM)


_students = itertools.count(1)


def new_form() -> dict[str, Any]:
    """VALID_FORM for another student each call (the same student twice is a duplicate: 409)."""
    form = copy.deepcopy(VALID_FORM)
    n, letters = next(_students), ""
    while n:  # the number in letters (a name has no digits): 1 → "Ab", 27 → "Abb", …
        n, r = divmod(n, 26)
        letters = chr(ord("a") + r) + letters
    second = "A" + letters
    form["student"]["given_name"] = f"{VALID_FORM['student']['given_name']} {second}"
    return form


@pytest.fixture
def rt() -> Iterator[LocalRuntime]:
    with LocalRuntime(stage="test", log_level="ERROR") as runtime:
        yield runtime
