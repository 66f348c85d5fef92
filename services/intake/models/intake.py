"""Intake form models (pydantic): the API input and the stored record.

German validation messages are raised as ``ValueError`` text; see ``common.api.german_errors``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from contracts.events import Gender
from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def _no_control_chars(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError("Steuerzeichen sind nicht erlaubt.")
    return value


class _Form(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Student(_Form):
    given_name: Name
    family_name: Name
    date_of_birth: date
    gender: Gender
    languages: list[str] = Field(default_factory=list, max_length=10,
                                 description="ISO 639-1 codes of languages the student speaks")
    parent_contact_language: str | None = Field(default=None, description="ISO 639-1 code")

    _names = field_validator("given_name", "family_name")(_no_control_chars)

    @field_validator("languages")
    @classmethod
    def _known_languages(cls, v: list[str]) -> list[str]:
        unknown = [x for x in v if x not in LANGUAGES]
        if unknown:
            raise ValueError("Unbekannte Sprache (ISO-639-1-Code erwartet).")
        return v

    @field_validator("parent_contact_language")
    @classmethod
    def _known_language(cls, v: str | None) -> str | None:
        if v is not None and v not in LANGUAGES:
            raise ValueError("Unbekannte Sprache (ISO-639-1-Code erwartet).")
        return v


class Consent(_Form):
    student: bool = Field(description="Student consented to the processing")
    guardian: bool | None = Field(default=None, description="Guardian consent; required under 18")
    text_version: str = Field(min_length=1, max_length=20, description="Version of the consent text")
    given_on: date


class IntakeForm(_Form):
    """``POST /intakes`` body."""

    school_id: str = Field(description=f"One of {', '.join(SCHOOLS)}")
    school_year: str = Field(pattern=r"^\d{4}/\d{2}$", examples=["2026/27"])
    class_name: str = Field(min_length=1, max_length=32)
    student: Student
    german_support: bool = False
    career_fields: list[str] = Field(default_factory=list, max_length=3)
    consent: Consent

    @field_validator("school_id")
    @classmethod
    def _known_school(cls, v: str) -> str:
        if v not in SCHOOLS:
            raise ValueError("Unbekannte Schule.")
        return v

    @field_validator("career_fields")
    @classmethod
    def _known_fields(cls, v: list[str]) -> list[str]:
        if any(x not in CAREER_FIELDS for x in v):
            raise ValueError("Unbekanntes Berufsfeld.")
        return v

    _class = field_validator("class_name")(_no_control_chars)


IntakeStatus = Literal["submitted", "withdrawn"]


class IntakeCreated(BaseModel):
    """``201`` response of ``POST /intakes``."""

    intake_id: str
    status: IntakeStatus
    submitted_at: datetime


class IntakeRecord(BaseModel):
    """The stored intake (DynamoDB item), personal data included."""

    intake_id: str
    school_id: str
    school_year: str
    class_name: str
    student: Student
    german_support: bool
    career_fields: list[str]
    consent: Consent
    status: IntakeStatus = "submitted"
    submitted_at: datetime
    submitted_by: str
    expires_at: int | None = Field(default=None, description="Epoch seconds (DynamoDB TTL)")
