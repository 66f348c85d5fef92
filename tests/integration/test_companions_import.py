"""``avdual companions import`` says what it does (the import findings of the registry issue): duplicate
ids are row errors, every row is "neu", "geändert (fields)" or "unverändert", ``--dry-run`` shows the same
with the moves the change would cause and writes nothing, messages state the rule, and a changed "Schulen"
column that would leave a student with a companion who no longer serves their school is refused with the
student named — or applied through matching when confirmed (never left in place)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from avdual import matching_cli
from avdual.runtime import LocalRuntime
from tests.conftest import OFFICE, companion
from tests.integration.test_matching import check_invariants, outbox, seed, state, submit

HEADER = "Kennung;Name;E-Mail;Schulen;Kapazität\n"


def run_import(
    rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str, *args: str
) -> tuple[int, str]:
    @contextmanager
    def local(base_url: Any, token: Any, *, with_intakes: bool = False) -> Iterator[matching_cli.Api]:
        yield matching_cli.LocalApi(rt)

    out = Console(record=True, width=300)
    monkeypatch.setattr(matching_cli, "api_for", local)
    monkeypatch.setattr(matching_cli, "console", out)
    path = tmp_path / "begleitungen.csv"
    path.write_text(HEADER + text, encoding="utf-8")
    from avdual.cli import app

    result = CliRunner().invoke(app, ["companions", "import", str(path), *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    rt.drain()
    return result.exit_code, out.export_text()


def row_says(out: str, row: int, text: str) -> bool:
    """A table line of file row ``row`` contains ``text``."""
    return any(
        line.count("│") >= 4 and line.split("│")[1].strip() == str(row) and text in line
        for line in out.splitlines()
    )


ROWS = (
    "B01;Begleitung B01;b01@example.org;MPS;2\n"  # drops RFS: its two RFS students have nobody else
    "B02;Begleitung B02;b02@example.org;MPS;2\n"  # as stored
    "B03;Neu Drei;b03@example.org;OWS;40\n"
    "B04;Vier;b04@example.org;OWS;-1\n"
    "B05;Fünf;b05@example.org;OWS;10\n"
    "B05;Fünf bis;b05@example.org;OWS;12\n"
)


def test_dry_run_reports_every_row_and_the_moves_and_changes_nothing(
    rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(rt, companion("B01", ["RFS"], 2), companion("B02", ["MPS"], 2))
    students = submit(rt, range(2))
    before = state(rt)
    code, out = run_import(rt, monkeypatch, tmp_path, ROWS, "--dry-run")
    assert code == 1  # rows with errors
    assert row_says(out, 2, "geändert (Schulen)") and row_says(out, 2, "2 zurück auf die Warteliste")
    assert row_says(out, 3, "unverändert") and row_says(out, 4, "│ neu ")
    assert "Kapazität: mindestens 0." in out
    assert out.count("Kennung kommt mehrfach in der Datei vor") == 2  # both B05 rows, neither applied
    assert all(("…" + s[-6:]) in out for s in students) and "betreut die Schule nicht" in out
    assert "3 von 6 Zeilen geprüft: 1 neu, 1 geändert, 1 unverändert; 3 mit Fehlern." in out
    assert state(rt) == before and {c["companion_id"] for c in rt.scan("companions")} == {"B01", "B02"}


def test_import_refuses_a_change_that_strands_students_and_applies_it_when_confirmed(
    rt: LocalRuntime, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seed(rt, companion("B01", ["RFS"], 2), companion("B02", ["MPS"], 2))
    students = submit(rt, range(2))
    row = "B01;Begleitung B01;b01@example.org;MPS;2\n"
    code, out = run_import(rt, monkeypatch, tmp_path, row)
    assert code == 1 and "Die Änderung ließe 2 Schüler/innen ohne Begleitung" in out
    assert all(state(rt)[s] == ("assigned", "B01") for s in students)  # nothing half-done
    assert next(c for c in rt.scan("companions") if c["companion_id"] == "B01")["school_ids"] == ["RFS"]
    code, out = run_import(rt, monkeypatch, tmp_path, row, "--allow-waitlist")
    assert code == 0 and "geändert (Schulen)" in out
    assert all(state(rt)[s] == ("waitlisted", None) for s in students)
    assert sorted(e["intake_id"] for e in outbox(rt, "StudentWaitlisted")) == sorted(students)
    code, out = run_import(rt, monkeypatch, tmp_path, row)
    assert code == 0 and "unverändert" in out  # the same file again changes nothing
    check_invariants(rt)


def test_the_school_rule_holds_after_a_replace_through_the_api(rt: LocalRuntime) -> None:
    """The school-rule finding through ``POST /companions``: replacing a companion's school list moves its
    student of the removed school to a companion who serves it (``CompanionReassigned``)."""
    seed(rt, companion("A", ["RFS", "MPS"], 2), companion("B", ["RFS"], 2))
    (rfs,) = submit(rt, [0])
    if state(rt)[rfs] != ("assigned", "A"):  # make sure A has the RFS student
        r = rt.api(
            "POST",
            f"/assignments/{rfs}/companion",
            body={"companion_id": "A", "reason": "workload"},
            claims=OFFICE,
        )
        assert r.status == 200, r.body
        rt.drain()
    r = rt.api("POST", "/companions", body=companion("A", ["MPS"], 2), claims=OFFICE)
    assert r.status == 200, r.body
    change = r.json()["change"]
    assert change["kind"] == "changed" and change["changed_fields"] == ["school_ids"]
    assert [(m["intake_id"], m["to_companion_id"]) for m in change["moves"]] == [(rfs, "B")]
    assert "betreut die Schule nicht" in change["moves"][0]["why"]
    rt.drain()
    assert state(rt)[rfs] == ("assigned", "B")
    (moved,) = [e for e in outbox(rt, "CompanionReassigned") if e["cause"] == "registry_change"]
    assert (moved["from_companion_id"], moved["to_companion_id"]) == ("A", "B")
    check_invariants(rt)
