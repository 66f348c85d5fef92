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
