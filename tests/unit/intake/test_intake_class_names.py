"""Class names are refused at intake when they cannot be class names – in particular every text a
spreadsheet would read as a formula (OWASP "CSV Injection" prefixes) – with one German message; the class
names schools write are accepted."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from common.field_errors import german_errors, model_fields
from common.spreadsheet import FORMULA_TRIGGERS, looks_like_formula
from services.intake.models.intake import CLASS_NAME_RULE, IntakeForm, IntakePatch
from tests.conftest import VALID_FORM

MESSAGE = f"Klasse: {CLASS_NAME_RULE}."
CONTROL = "Klasse: Steuerzeichen und unsichtbare Sonderzeichen sind nicht erlaubt."


def errors_for(class_name: str, model: type = IntakeForm) -> list[tuple[str, str]]:
    form = copy.deepcopy(VALID_FORM) if model is IntakeForm else {}
    form["class_name"] = class_name
    try:
        model.model_validate(form)
    except ValidationError as e:
        return [
            (x.field, x.message) for x in german_errors(e.errors(include_input=False), model_fields(model))
        ]
    return []


@pytest.mark.parametrize("name", ["AVd1a", "AV 1/2", "2BFS-1", "AVd.1", "AV_dual 1", "Küche 1", "AV (FSR) 1"])
def test_class_names_as_schools_write_them_are_accepted(name: str) -> None:
    assert errors_for(name) == [] and errors_for(name, IntakePatch) == []


@settings(max_examples=300, deadline=None)
@given(
    prefix=st.sampled_from(["", " ", "  "]),
    trigger=st.sampled_from(FORMULA_TRIGGERS),
    rest=st.text(max_size=25),
)
def test_no_class_name_that_reaches_an_export_looks_like_a_formula(
    prefix: str, trigger: str, rest: str
) -> None:
    """Whatever is sent: refused (one German message on ``class_name``), or stored as a name that no
    spreadsheet reads as a formula (tab, CR, LF and spaces around it are stripped)."""
    name = (prefix + trigger + rest)[:32]
    for model in (IntakeForm, IntakePatch):
        found = errors_for(name, model)
        if not found:
            stored = model.model_validate(
                {**(copy.deepcopy(VALID_FORM) if model is IntakeForm else {}), "class_name": name}
            )
            assert not looks_like_formula(stored.class_name), name
            continue
        assert [f for f, _ in found] == ["class_name"], (name, found)
        if name.strip()[:1] in "=+-@" and name.strip():
            assert found in ([("class_name", MESSAGE)], [("class_name", CONTROL)]), found
