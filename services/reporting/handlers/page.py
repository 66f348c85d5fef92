"""The German office dashboard page, served by the reporting API at ``GET /dashboard`` (no build step).

``web/dashboard.html`` gets the shared header, login and look plus ``web/dashboard.css`` and
``web/dashboard.js`` inlined (``common.web``)
and the Cognito config block, like the intake web form. The page holds no data: it logs in and
reads ``GET /dashboard/summary``; charts are ``data:`` images.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.web import STAGE_VARIABLES, WebPage, render_page
from contracts import reference

WEB = Path(__file__).resolve().parent.parent / "web"
PAGE = WebPage(
    path="/dashboard",
    heading="Dashboard des Bildungsbüros",
    title="AV dual – Dashboard Bildungsbüro",
    html=WEB / "dashboard.html",
    css=WEB / "dashboard.css",
    js=WEB / "dashboard.js",
    login_note="Das Dashboard ist nur für Mitarbeitende des Bildungsbüros.",
)
__all__ = ["STAGE_VARIABLES", "render"]


def render(stage_variables: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The page and its security headers; the German labels of the codes an intake shows come with the
    config (one source: ``contracts.reference``)."""
    labels = {
        "schools": reference.SCHOOLS,
        "career_fields": reference.CAREER_FIELDS,
        "languages": reference.LANGUAGES,
        "gender": reference.GENDER_LABELS,
        "status": reference.STATUS_LABELS,
        "track": reference.TRACK_LABELS,
        "certificate": reference.CERTIFICATE_LABELS,
        "office_reasons": reference.OFFICE_REASON_LABELS,
    }
    return render_page(PAGE, stage_variables, {"labels": labels})
