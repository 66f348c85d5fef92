"""Pure intake rules: ages, consent, dates, changed fields, merge patch, partial models."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from common.errors import DomainValidationError
from services.intake.logic import rules
from services.intake.models.intake import IntakeForm, IntakePatch, WithdrawReason
from tests.conftest import VALID_FORM

TODAY = date(2026, 11, 30)


def form(**changes: object) -> IntakeForm:
    data = {**VALID_FORM, **changes}
    return IntakeForm.model_validate(data).normalised()


def errors(f: IntakeForm, today: date = TODAY, submitted_on: date = TODAY) -> dict[str, str]:
    try:
        rules.check_form(f, today=today, submitted_on=submitted_on)
    except DomainValidationError as e:
        return {x.field: x.message for x in e.errors}
    return {}


@pytest.mark.parametrize(
    ("dob", "age"), [("2010-08-01", 16), ("2010-08-02", 15), ("2012-08-01", 14), ("2004-08-02", 21)]
)
def test_age_on_school_year_start(dob: str, age: int) -> None:
    assert rules.age_on(date.fromisoformat(dob), date(2026, 8, 1)) == age


def test_age_bands() -> None:
    assert [rules.age_band(a) for a in (14, 15, 16, 17, 18, 19, 21)] == [
        "unter_16",
        "unter_16",
        "16",
        "17",
        "18",
        "19_plus",
        "19_plus",
    ]


def test_valid_form_has_no_errors_and_returns_the_band() -> None:
    assert rules.check_form(form(), today=TODAY, submitted_on=TODAY) == "16"


def test_guardian_needed_under_18_on_the_submission_date_only() -> None:
    adult = {**VALID_FORM["student"], "date_of_birth": "2008-11-29"}  # 18 since yesterday
    consent = {**VALID_FORM["consent"], "guardian": None}
    assert errors(form(student=adult, consent=consent)) == {}
    assert "consent.guardian" in errors(form(student=adult, consent=consent), submitted_on=date(2026, 11, 28))


def test_several_errors_at_once_each_with_its_field() -> None:
    bad = form(
        student={**VALID_FORM["student"], "date_of_birth": "2027-01-01"},
        consent={**VALID_FORM["consent"], "student": False, "given_on": "2027-01-01"},
    )
    assert set(errors(bad)) == {
        "student.date_of_birth",
        "consent.student",
        "consent.given_on",
    }  # the guardians' date defaults to the student's (future) one: reported there, once


def test_school_year_window() -> None:
    assert "school_year" in errors(form(school_year="2016/17"))
    assert "school_year" in errors(form(school_year="2028/29"))
    next_year = form(school_year="2027/28", student={**VALID_FORM["student"], "date_of_birth": "2011-05-17"})
    assert errors(next_year, today=date(2027, 3, 1)) == {}  # registering for the next school year


def test_changed_fields_are_dotted_names() -> None:
    before = {"a": 1, "s": {"x": 1, "y": 2}, "gone": 1}
    after = {"a": 1, "s": {"x": 3, "y": 2}, "new": 2}
    assert rules.changed_fields(before, after) == ["gone", "new", "s.x"]
    assert rules.matching_relevant(["student.phone"]) is False
    assert rules.matching_relevant(["student.phone", "career_fields"]) is True


def test_merge_patch_rfc7396() -> None:
    target = {"a": "b", "c": {"d": "e", "f": "g"}}
    assert rules.merge_patch(target, {"a": "z", "c": {"f": None}}) == {"a": "z", "c": {"d": "e"}}
    assert rules.merge_patch({"a": [1]}, {"a": [2, 3]}) == {"a": [2, 3]}
    assert rules.merge_patch({"a": 1}, {"b": {"c": 1}}) == {"a": 1, "b": {"c": 1}}


def test_patch_model_keeps_the_field_rules() -> None:
    ok = IntakePatch.model_validate({"student": {"given_name": "  Zoë "}})
    assert ok.model_dump(exclude_unset=True) == {"student": {"given_name": "Zoë"}}
    with pytest.raises(ValidationError) as e:
        IntakePatch.model_validate({"student": {"given_name": "R=2", "unknown": 1}, "career_fields": ["x"]})
    assert {".".join(map(str, x["loc"])) for x in e.value.errors()} == {
        "student.given_name",
        "student.unknown",
        "career_fields.0",
    }
    assert IntakePatch.model_validate({"remark": None}).model_dump(exclude_unset=True) == {"remark": None}


def test_withdraw_reasons_match_the_event_contract() -> None:
    from typing import get_args

    from contracts.events import IntakeWithdrawnData

    assert set(get_args(WithdrawReason)) == set(
        get_args(IntakeWithdrawnData.model_fields["reason"].annotation)
    )
