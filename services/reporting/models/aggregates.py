"""Reporting models: anonymous per-student projection and report figures (no names, no birth dates)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["submitted", "waitlisted", "assigned", "ended", "withdrawn"]
STATUSES: tuple[Status, ...] = ("submitted", "waitlisted", "assigned", "ended", "withdrawn")


class Projection(BaseModel):
    """Current status of one student as reporting knows it (IDs and categories only)."""

    intake_id: str
    school_id: str
    school_year: str
    status: Status
    companion_id: str | None = None
    as_of: datetime = Field(description="occurred_at of the newest fact applied (order tolerance)")


class SchoolRow(BaseModel):
    school_id: str
    school_name: str
    intakes: int = 0
    submitted: int = 0
    waitlisted: int = 0
    assigned: int = 0
    ended: int = 0
    withdrawn: int = 0


class CompanionRow(BaseModel):
    companion_id: str
    school_ids: list[str] = []
    assigned: int = 0
    capacity: int | None = None

    @property
    def utilisation(self) -> float | None:
        return None if not self.capacity else self.assigned / self.capacity


class StatusReport(BaseModel):
    report_id: str
    report_type: Literal["weekly", "school_year", "status"]
    school_year: str
    generated_at: datetime
    schools: list[SchoolRow]
    companions: list[CompanionRow]

    def totals(self) -> SchoolRow:
        t = SchoolRow(school_id="Summe", school_name="Summe")
        for row in self.schools:
            for f in ("intakes", "submitted", "waitlisted", "assigned", "ended", "withdrawn"):
                setattr(t, f, getattr(t, f) + getattr(row, f))
        return t
