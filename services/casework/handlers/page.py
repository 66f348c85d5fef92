"""The companions' page ``/begleitung``, served by the casework API (no build step).

``web/begleitung.html`` gets ``web/begleitung.css`` and ``web/begleitung.js`` inlined (``common.web``), the
Cognito config block and the German labels of every choice (from ``contracts``: declared once). The page holds
no data: it logs in and reads the casework, intake and matching routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from common.web import WebPage, render_page
from contracts import casework
from contracts.reference import (
    CAREER_FIELDS,
    DESTINATION_LABELS,
    DESTINATIONS_WITH_COMPANY,
    EXIT_REASON_LABELS,
    LANGUAGES,
    MATCHING_CRITERIA_LABELS,
    SCHOOLS,
)

WEB = Path(__file__).resolve().parent.parent / "web"
PAGE = WebPage(
    path="/begleitung",
    heading="AV dual – Begleitung",
    title="AV dual – Begleitung",
    html=WEB / "begleitung.html",
    css=WEB / "begleitung.css",
    js=WEB / "begleitung.js",
    standalone=True,
)


@cache
def labels() -> dict[str, Any]:
    """Every choice of the page with its German label, in the order offered."""
    return {
        "schools": SCHOOLS,
        "career_fields": CAREER_FIELDS,
        "languages": LANGUAGES,
        "internship_models": casework.INTERNSHIP_MODEL_LABELS,
        "weekdays": casework.WEEKDAY_LABELS,
        "end_reasons": casework.INTERNSHIP_END_REASON_LABELS,
        "meeting_types": casework.MEETING_TYPE_LABELS,
        "participants": casework.PARTICIPANT_ROLE_LABELS,
        "destinations": DESTINATION_LABELS,
        "exit_reasons": EXIT_REASON_LABELS,
        "criteria": MATCHING_CRITERIA_LABELS,
        "with_company": list(DESTINATIONS_WITH_COMPANY),
        "internship_target": casework.INTERNSHIP_TARGET_DAYS,
        "goal_meetings_per_year": casework.GOAL_MEETINGS_PER_YEAR,
    }


def render(stage_variables: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The page and its security headers."""
    return render_page(PAGE, stage_variables, {"labels": labels()})
