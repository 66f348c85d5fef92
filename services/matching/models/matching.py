"""Matching models: companion registry entries and assignment records."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.events import Gender, StudentProfile
from contracts.reference import SCHOOLS


class CompanionIn(BaseModel):
    """``POST /companions`` body (office). ``companion_id`` is chosen by the office (e.g. ``B01``)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    companion_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    name: str = Field(min_length=1, max_length=100)
    email: str = Field(min_length=3, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    school_ids: list[str] = Field(min_length=1, max_length=6)
    capacity: int = Field(ge=0, le=200, description="Maximum number of students (target about 40)")
    fte: float = Field(default=1.0, gt=0, le=1.0, description="Full-time equivalent share")
    languages: list[str] = Field(default_factory=list)
    career_fields: list[str] = Field(default_factory=list)
    gender: Gender = "keine_angabe"
    active: bool = True

    @field_validator("school_ids")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        if any(s not in SCHOOLS for s in v):
            raise ValueError("Unbekannte Schule.")
        return v


class Companion(CompanionIn):
    """Stored companion with the atomic capacity counter ``used``."""

    used: int = Field(default=0, ge=0)

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.used)


AssignmentStatus = Literal["assigned", "waitlisted", "ended", "withdrawn"]


class Assignment(BaseModel):
    """One item per student known to matching."""

    intake_id: str
    status: AssignmentStatus
    profile: StudentProfile | None = None
    companion_id: str | None = None
    cost: float | None = None
    explanation: dict[str, float] = Field(default_factory=dict)
    submitted_at: datetime | None = None
    waitlisted_at: str | None = None
    waitlist_school: str | None = None
    assigned_at: datetime | None = None
    updated_at: datetime
