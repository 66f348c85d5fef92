"""Every page has one look (shared header, login, stylesheet and script) and offers the token login only
where the local runtime serves it (stage variable ``localTokenLogin``, which CDK never sets)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from common import web
from contracts.topology import ROUTES, Route
from services.intake.handlers import page as form_page
from services.reporting.handlers import page as dashboard_page

AWS_STAGE = {
    "authEndpoint": "https://cognito-idp.eu-central-1.amazonaws.com/",
    "userPoolClientId": "abc123",
    "region": "eu-central-1",
}
LOCAL_STAGE = {"authEndpoint": "/_local/cognito", "region": "eu-central-1", web.LOCAL_LOGIN_VARIABLE: "true"}
PAGES = [form_page, dashboard_page]
PLACEHOLDERS = (
    *("<!--HEADER-->", "<!--LOGIN-->", "<!--TITLE-->", "<!--HEADING-->", "<!--NAV-->", "<!--LOGIN-NOTE-->"),
    *("<!--TOKEN-LOGIN-->", "/*CONFIG*/", "/*STYLE*/", "/*SCRIPT*/"),
)


def _config(text: str) -> dict[str, Any]:
    return json.loads(text.split('id="config">', 1)[1].split("</script>", 1)[0])


def _between(text: str, start: str, end: str) -> str:
    return text.split(start, 1)[1].split(end, 1)[0]


@pytest.mark.parametrize("module", PAGES, ids=["form", "dashboard"])
def test_in_aws_there_is_no_token_login(module: Any) -> None:
    text, headers = module.render(AWS_STAGE)
    assert "Mit Token anmelden" not in text and 'id="token-form"' not in text and "avdual token" not in text
    assert (
        "connect-src 'self' https://cognito-idp.eu-central-1.amazonaws.com"
        in headers["Content-Security-Policy"]
    )


@pytest.mark.parametrize("module", PAGES, ids=["form", "dashboard"])
def test_served_locally_the_token_login_is_offered(module: Any) -> None:
    text, _ = module.render(LOCAL_STAGE)
    assert text.count("Mit Token anmelden (Entwicklung)") == 1 and 'id="token-form"' in text


def test_every_page_has_the_same_header_login_style_and_script() -> None:
    rendered = [m.render(AWS_STAGE)[0] for m in PAGES]
    shared_css = web.SHARED_STYLE.read_text(encoding="utf-8")
    shared_js = (
        web.BASE_SCRIPT.read_text(encoding="utf-8") + "\n" + web.SHARED_SCRIPT.read_text(encoding="utf-8")
    )
    headers = []
    for text, module in zip(rendered, PAGES, strict=True):
        assert not [p for p in PLACEHOLDERS if p in text]
        assert _between(text, "<style>", "</style>").startswith(shared_css)
        assert _between(text, "<script>", "</script>").startswith(shared_js)
        assert text.count('<section id="login"') == 1 and text.count('<header class="top">') == 1
        assert f"<title>{module.PAGE.title}</title>" in text and f"<h1>{module.PAGE.heading}</h1>" in text
        header = _between(text, '<header class="top">', "</header>")
        headers.append(header.replace(module.PAGE.heading, "…").replace(' aria-current="page"', ""))
    assert headers[0] == headers[1]  # one header, only the heading and the current page differ


def test_navigation_marks_the_current_page_and_links_relatively() -> None:
    text, _ = dashboard_page.render(AWS_STAGE)
    nav = _between(text, '<nav id="site-nav"', "</nav>")
    links = dict(re.findall(r'<a href="([^"]+)" data-roles="([^"]+)"', nav))
    assert links["./"] == "office school" and links["dashboard"] == "office"
    assert re.search(r'<a href="dashboard" data-roles="office" aria-current="page"', nav)
    assert _config(text)["homes"]["school"] == "./" and _config(text)["homes"]["office"] == "dashboard"


def test_a_page_is_linked_once_the_topology_serves_it(monkeypatch: pytest.MonkeyPatch) -> None:
    served = {r.path for r in ROUTES if r.method == "GET"}
    assert all(link.path in served for link in web.served_pages())
    extra = (*ROUTES, *(Route("GET", n.path, "x-api", (), public=True) for n in web.NAVIGATION))
    monkeypatch.setattr(web, "ROUTES", extra)
    web.served_pages.cache_clear()
    try:
        text, _ = form_page.render(AWS_STAGE)
        assert _config(text)["homes"] == {"school": "./", "companion": "begleitung", "office": "dashboard"}
        assert 'href="begleitung" data-roles="companion"' in text
    finally:
        web.served_pages.cache_clear()


def test_config_cannot_break_out_of_its_script_block() -> None:
    text, _ = web.render_page(form_page.PAGE, {**AWS_STAGE, "region": "</script><script>alert(1)//"})
    assert "</script><script>alert(1)" not in text
    assert _config(text)["region"] == "</script><script>alert(1)//"
