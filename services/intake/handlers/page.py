"""The German intake web form, served by the intake API at ``GET /`` (no build step).

``web/index.html`` gets the shared header, login and look plus ``web/app.css`` and ``web/app.js`` inlined
(``common.web``) and a JSON
config block with the Cognito settings plus the reference data of ``contracts.reference``
(schools, languages, career fields).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from common.web import STAGE_VARIABLES, WebPage, render_page
from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS, WITHDRAW_REASON_LABELS
from services.intake.models.intake import CONSENT_TEXT_VERSION

WEB = Path(__file__).resolve().parent.parent / "web"
PAGE = WebPage(
    path="/",
    heading="Anmeldung zur AV dual-Begleitung",
    title="AV dual – Anmeldung von Schülerinnen und Schülern",
    html=WEB / "index.html",
    css=WEB / "app.css",
    js=WEB / "app.js",
)
__all__ = ["STAGE_VARIABLES", "render"]


def render(stage_variables: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The page and its security headers."""
    return render_page(
        PAGE,
        stage_variables,
        {
            "schools": SCHOOLS,
            "languages": LANGUAGES,
            "career_fields": CAREER_FIELDS,
            "consent_text_version": CONSENT_TEXT_VERSION,
            "withdraw_reasons": WITHDRAW_REASON_LABELS,
        },
    )
