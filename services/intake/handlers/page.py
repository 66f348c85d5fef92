"""The German intake web form, served by the intake API at ``GET /`` (no build step).

``web/index.html`` gets ``web/app.css`` and ``web/app.js`` inlined and a JSON config block from
the API Gateway stage variables (Cognito endpoint and app client: set by CDK, locally by the
runtime) plus the reference data of ``contracts.reference`` (schools, languages, career
fields). A strict Content-Security-Policy allows exactly the inlined script and style.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from contracts.reference import CAREER_FIELDS, LANGUAGES, SCHOOLS
from services.intake.models.intake import CONSENT_TEXT_VERSION

WEB = Path(__file__).resolve().parent.parent / "web"
#: Stage variables the page reads (CDK sets them, the local runtime too).
STAGE_VARIABLES = {"authEndpoint": "auth_endpoint", "userPoolClientId": "client_id", "region": "region"}


@cache
def _assets() -> tuple[str, str, str]:
    return tuple((WEB / n).read_text(encoding="utf-8") for n in ("index.html", "app.css", "app.js"))  # type: ignore[return-value]


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render(stage_variables: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The page and its security headers."""
    html, css, js = _assets()
    sv = stage_variables or {}
    config: dict[str, object] = {key: sv.get(var) or None for var, key in STAGE_VARIABLES.items()}
    config.update(
        schools=SCHOOLS,
        languages=LANGUAGES,
        career_fields=CAREER_FIELDS,
        consent_text_version=CONSENT_TEXT_VERSION,
    )
    auth = str(config.get("auth_endpoint") or "")
    connect = ["'self'"]
    parts = urlsplit(auth)
    if parts.scheme == "https" and parts.netloc:
        connect.append(f"https://{parts.netloc}")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(js)}",
            f"style-src {_sha256(css)}",
            f"connect-src {' '.join(connect)}",
            "img-src 'self' data:",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    cfg = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = html.replace("/*CONFIG*/", cfg).replace("/*STYLE*/", css).replace("/*SCRIPT*/", js)
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return page, headers
