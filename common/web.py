"""Web pages served by a service API (no build step): one look, assets inlined, config block, strict CSP.

A page is ``<name>.html`` with the placeholders ``<!--HEADER-->``, ``<!--LOGIN-->``, ``/*CONFIG*/``,
``/*STYLE*/`` and ``/*SCRIPT*/``. Every page gets the same header (product, page heading, navigation
by role, who is logged in), the same login and the same stylesheet (``webassets/``); its own stylesheet
and script follow the shared ones. Style and script are inlined and allowed by their SHA-256 hashes in
the Content-Security-Policy. The config block comes from the API Gateway stage variables (Cognito
endpoint and app client, set by CDK and locally by the runtime) plus the page's ``extra_config``.

The token login ("Mit Token anmelden (Entwicklung)") is part of the page only where the stage variables
say the page is served locally (:data:`LOCAL_LOGIN_VARIABLE`, set by the local runtime, never by CDK).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from contracts.topology import ROUTES

ASSETS = Path(__file__).resolve().parent / "webassets"
#: Script every page gets first (config, $, API base, Cognito call); then the shared login, session,
#: navigation and API call (not for a standalone page); then the page's own.
BASE_SCRIPT = ASSETS / "base.js"
SHARED_SCRIPT = ASSETS / "session.js"
#: Stylesheet shared by every page, inlined before the page's own.
SHARED_STYLE = ASSETS / "base.css"
#: Stage variables the pages read (CDK sets them, the local runtime too) → config keys.
STAGE_VARIABLES = {"authEndpoint": "auth_endpoint", "userPoolClientId": "client_id", "region": "region"}
#: Stage variable with which the local runtime marks a page served locally (``make serve``): only then
#: does the login offer a token field. CDK never sets it (an infra test pins that).
LOCAL_LOGIN_VARIABLE = "localTokenLogin"


@dataclass(frozen=True)
class NavLink:
    """A page in the header's navigation: its route path, German name, the roles it is for (and the
    role it is home to: where that role is sent when it logs in on a page not meant for it)."""

    path: str
    label: str
    roles: tuple[str, ...]
    home_of: str | None = None


#: Every page of the product. A link appears only once its page is a route of the topology.
NAVIGATION: tuple[NavLink, ...] = (
    NavLink("/", "Anmeldungen", ("office", "school"), home_of="school"),
    NavLink("/begleitung", "Meine Schülerinnen und Schüler", ("companion",), home_of="companion"),
    NavLink("/dashboard", "Dashboard", ("office",), home_of="office"),
)


@dataclass(frozen=True)
class WebPage:
    """A page: its route path, German heading (header) and title (browser tab), and its own files."""

    path: str
    heading: str
    title: str
    html: Path
    css: Path
    js: Path
    login_note: str = ""
    #: the page brings its own header, login and session script (the companions' page until it moves onto
    #: the shared ones): only the config block, its own style and script are inlined
    standalone: bool = False


@cache
def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def _href(path: str) -> str:
    """Relative link between pages (all at the API root, so the stage prefix in AWS stays)."""
    return "./" if path == "/" else path.lstrip("/")


@cache
def served_pages() -> tuple[NavLink, ...]:
    """The navigation's pages that the topology serves (GET routes)."""
    paths = {r.path for r in ROUTES if r.method == "GET"}
    return tuple(link for link in NAVIGATION if link.path in paths)


def _nav(current: str) -> str:
    links = []
    for link in served_pages():
        here = ' aria-current="page"' if link.path == current else ""
        links.append(
            f'<a href="{_href(link.path)}" data-roles="{" ".join(link.roles)}"{here} hidden>'
            f"{html.escape(link.label)}</a>"
        )
    return "".join(links)


def render_page(
    page: WebPage,
    stage_variables: Mapping[str, str] | None,
    extra_config: Mapping[str, Any] | None = None,
) -> tuple[str, dict[str, str]]:
    """The page (str) and its security headers (CSP allowing exactly the inlined script and style)."""
    sv = stage_variables or {}
    local = sv.get(LOCAL_LOGIN_VARIABLE) == "true"
    shared_css, shared_js = (
        ("", "") if page.standalone else (_read(SHARED_STYLE) + "\n", _read(SHARED_SCRIPT) + "\n")
    )
    page_css = shared_css + _read(page.css)
    page_js = _read(BASE_SCRIPT) + "\n" + shared_js + _read(page.js)
    config: dict[str, Any] = {key: sv.get(var) or None for var, key in STAGE_VARIABLES.items()}
    config["homes"] = {link.home_of: _href(link.path) for link in served_pages() if link.home_of}
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
    header = (
        _read(ASSETS / "header.html")
        .replace("<!--HEADING-->", html.escape(page.heading))
        .replace("<!--NAV-->", _nav(page.path))
    )
    login = (
        _read(ASSETS / "login.html")
        .replace("<!--LOGIN-NOTE-->", f"<p>{html.escape(page.login_note)}</p>" if page.login_note else "")
        .replace("<!--TOKEN-LOGIN-->", _read(ASSETS / "token-login.html") if local else "")
    )
    text = (
        _read(page.html)
        .replace("<!--TITLE-->", html.escape(page.title))
        .replace("<!--HEADER-->", header)
        .replace("<!--LOGIN-->", login)
        .replace("/*CONFIG*/", cfg)
        .replace("/*STYLE*/", page_css)
        .replace("/*SCRIPT*/", page_js)
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    return text, headers
