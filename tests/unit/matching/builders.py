"""Test builders for matching's models: a student profile and a companion with sensible defaults."""

from __future__ import annotations

from typing import Any

from services.matching.models.matching import Companion, StudentProfile


def profile(**kw: Any) -> StudentProfile:
    """A profile at RFS, 2026/27, class AVd1, age band 16, female; ``kw`` overrides."""
    base: dict[str, Any] = {
        "school_id": "RFS",
        "school_year": "2026/27",
        "class_name": "AVd1",
        "age_band": "16",
        "gender": "weiblich",
    }
    return StudentProfile(**{**base, **kw})


def companion(cid: str, **kw: Any) -> Companion:
    """A companion ``cid`` serving RFS with capacity 40; ``kw`` overrides."""
    base: dict[str, Any] = {
        "companion_id": cid,
        "name": f"Begleitung {cid}",
        "email": f"{cid.lower()}@example.org",
        "school_ids": ["RFS"],
        "capacity": 40,
    }
    return Companion(**{**base, **kw})
