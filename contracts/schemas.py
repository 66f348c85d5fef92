"""JSON Schema snapshots of every event (``contracts/schemas/<DetailType>.v<version>.json``).

A schema change without a version bump fails :func:`check_snapshots`: to change an event,
bump ``EventSpec.version`` and write the new snapshot (``avdual schemas --write``). Old
snapshots stay, so consumers can see every version that was ever published.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contracts.events import EVENTS, Envelope, EventSpec

SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"


def event_schema(spec: EventSpec) -> dict[str, Any]:
    """The JSON Schema of the EventBridge ``detail`` (envelope with this event's data model)."""
    model = Envelope[spec.data_model]  # type: ignore[name-defined]
    schema = model.model_json_schema()
    schema["title"] = spec.detail_type
    schema["x-source"] = spec.source.value
    schema["x-version"] = spec.version
    schema["description"] = spec.description
    return schema


def snapshot_path(spec: EventSpec) -> Path:
    return SCHEMA_DIR / f"{spec.detail_type}.v{spec.version}.json"


def _dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_snapshots() -> list[Path]:
    """Write snapshots that do not exist yet (never overwrites a published version)."""
    SCHEMA_DIR.mkdir(exist_ok=True)
    written = []
    for spec in EVENTS.values():
        p = snapshot_path(spec)
        if not p.exists():
            p.write_text(_dump(event_schema(spec)), encoding="utf-8")
            written.append(p)
    return written


def check_snapshots() -> list[str]:
    """Problems: a missing snapshot, or a schema that differs from its version's snapshot."""
    problems = []
    for spec in EVENTS.values():
        p = snapshot_path(spec)
        if not p.exists():
            problems.append(
                f"{spec.detail_type} v{spec.version}: no snapshot {p.name} (run avdual schemas --write)"
            )
        elif p.read_text(encoding="utf-8") != _dump(event_schema(spec)):
            problems.append(f"{spec.detail_type}: schema changed without a version bump (v{spec.version})")
    return problems
