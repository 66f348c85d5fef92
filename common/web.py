"""Static web pages served by a service API (no build step): assets inlined, config block, strict CSP.

A page is ``<name>.html`` with the placeholders ``/*CONFIG*/``, ``/*STYLE*/`` and ``/*SCRIPT*/``;
the stylesheet and script (after the shared ``webassets/session.js``) are inlined and allowed by their
SHA-256 hashes in the Content-Security-Policy. The config block comes from the API Gateway stage
variables (Cognito endpoint and app client, set by CDK and locally by the runtime) plus ``extra_config``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Script shared by every page (config, Cognito login, token helpers), inlined before the page's own script.
SHARED_SCRIPT = Path(__file__).resolve().parent / "webassets" / "session.js"
#: Stage variables the pages read (CDK sets them, the local runtime too) → config keys.
STAGE_VARIABLES = {"authEndpoint": "auth_endpoint", "userPoolClientId": "client_id", "region": "region"}


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def render_page(
    html: Path,
    css: Path,
    js: Path,
    stage_variables: Mapping[str, str] | None,
    extra_config: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, str]]:
    """The page (str) and its security headers (CSP allowing exactly the inlined script and style)."""
    page_html, page_css, page_js = _read(html), _read(css), _read(SHARED_SCRIPT) + "\n" + _read(js)
    sv = stage_variables or {}
    config: dict[str, Any] = {key: sv.get(var) or None for var, key in STAGE_VARIABLES.items()}
    config.update(extra_config or {})
    connect = ["'self'"]
    parts = urlsplit(str(config.get("auth_endpoint") or ""))
    if parts.scheme == "https" and parts.netloc:
        connect.append(f"https://{parts.netloc}")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(page_js)}",
            f"style-src {_sha256(page_css)}",
            f"connect-src {' '.join(connect)}",
            "img-src 'self' data:",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
        ]
    )
    cfg = json.dumps(config).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    page = page_html.replace("/*CONFIG*/", cfg).replace("/*STYLE*/", page_css).replace("/*SCRIPT*/", page_js)
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return page, headers
