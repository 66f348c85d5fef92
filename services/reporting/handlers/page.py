"""The German office dashboard page, served by the reporting API at ``GET /dashboard`` (no build step).

``web/dashboard.html`` gets ``web/dashboard.css`` and ``web/dashboard.js`` inlined and a JSON config block
from the API Gateway stage variables (Cognito endpoint and app client: set by CDK, locally by the runtime),
like the intake web form. The page holds no data: it logs in and reads ``GET /dashboard/summary``. A
strict Content-Security-Policy allows exactly the inlined script and style, and ``data:`` images (charts).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

WEB = Path(__file__).resolve().parent.parent / "web"
#: Stage variables the page reads (CDK sets them, the local runtime too).
STAGE_VARIABLES = {"authEndpoint": "auth_endpoint", "userPoolClientId": "client_id", "region": "region"}


@cache
def _assets() -> tuple[str, str, str]:
    return tuple(
        (WEB / n).read_text(encoding="utf-8")  # type: ignore[return-value]
        for n in ("dashboard.html", "dashboard.css", "dashboard.js")
    )


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render(stage_variables: Mapping[str, str] | None) -> tuple[str, dict[str, str]]:
    """The page and its security headers."""
    html, css, js = _assets()
    sv = stage_variables or {}
    config = {key: sv.get(var) or None for var, key in STAGE_VARIABLES.items()}
    connect = ["'self'"]
    parts = urlsplit(str(config.get("auth_endpoint") or ""))
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
