"""JSON Schema snapshots: a schema change without a version bump must fail."""

from __future__ import annotations

import dataclasses

from pydantic import create_model

from contracts import events, schemas
from contracts.events import INTAKE_SUBMITTED, IntakeSubmittedData


def test_snapshots_match_current_schemas() -> None:
    assert schemas.check_snapshots() == []


def test_unversioned_change_is_detected(monkeypatch) -> None:
    changed = create_model("IntakeSubmittedData", __base__=IntakeSubmittedData, new_field=(str, ...))
    monkeypatch.setattr(events, "ChangedIntakeSubmittedData", changed, raising=False)
    spec = dataclasses.replace(INTAKE_SUBMITTED, data_model_name="ChangedIntakeSubmittedData")
    monkeypatch.setitem(schemas.EVENTS, spec.detail_type, spec)
    problems = schemas.check_snapshots()
    assert any("without a version bump" in p for p in problems)


def test_version_bump_needs_a_new_snapshot(monkeypatch) -> None:
    spec = dataclasses.replace(INTAKE_SUBMITTED, version=INTAKE_SUBMITTED.version + 1)
    monkeypatch.setitem(schemas.EVENTS, spec.detail_type, spec)
    assert any("no snapshot" in p for p in schemas.check_snapshots())


def test_openapi_snapshot_is_current() -> None:
    from pathlib import Path

    from avdual.openapi import openapi_json

    path = Path(__file__).resolve().parents[2] / "contracts" / "openapi.json"
    committed = path.read_text(encoding="utf-8")
    assert committed == openapi_json(), (
        "OpenAPI drifted: run `avdual openapi` and commit contracts/openapi.json"
    )
