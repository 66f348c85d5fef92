"""The slowest test files are collected first (the order `make test`'s xdist workers take files in)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import HEAVY_FILES, xdist_unit
from tests.infra.cfn import SYNTH_MODULES

ROOT = Path(__file__).resolve().parents[3]


def test_every_listed_file_exists_once() -> None:
    assert len(set(HEAVY_FILES)) == len(HEAVY_FILES)
    assert [f for f in HEAVY_FILES if not (ROOT / f).is_file()] == []


def test_the_listed_files_come_first_in_their_order(request: pytest.FixtureRequest) -> None:
    """In whatever this session collected (the whole suite, or only some files)."""
    files = list(dict.fromkeys(item.nodeid.split("::", 1)[0] for item in request.session.items))
    listed = [f for f in files if f in HEAVY_FILES]
    assert files[: len(listed)] == listed
    assert listed == [f for f in HEAVY_FILES if f in listed]


def test_make_test_keeps_the_collection_order() -> None:
    """xdist's default reorders the files by their number of tests."""
    makefile = (ROOT / "Makefile").read_text()
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in makefile
    assert "--dist loadfile\n" not in makefile


def test_the_modules_of_the_one_synth_are_one_xdist_unit() -> None:
    """They exist, read the shared synth (fixture ``synthesized``), and go to one worker; other files are
    their own unit."""
    for path in SYNTH_MODULES:
        assert "synthesized: " in (ROOT / path).read_text(), path
    assert {xdist_unit(f"{path}::test_x") for path in SYNTH_MODULES} == {SYNTH_MODULES[0]}
    other = "tests/infra/test_function_layers.py"
    assert xdist_unit(f"{other}::test_x[a]") == other
