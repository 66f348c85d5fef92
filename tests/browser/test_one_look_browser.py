"""One look on every page, at a phone's width too: the intake form, the school's list and the office
dashboard at 390 px (no sideways scrolling, screenshots in ``out/screenshots/``); companions are offered
on the form only what they may do, and are sent to their own page where it is served.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import login, no_horizontal_scrolling, serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]
SHOTS = Path("out/screenshots")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    from avdual.auth import user_for
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    with LocalRuntime(stage="look", log_level="ERROR") as rt:
        seed_companions(rt, load_scenario())
        rt.drain()
        submit_all(rt, load_intakes()[:24], drain_every=12)
        for user in (
            user_for("office"),
            user_for("school", school="RFS"),
            user_for("companion", companion="B02"),
        ):
            rt.cognito.ensure_user(user)
        with serving(rt) as base:
            yield base


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_the_form_and_the_school_list_fit_a_phone(server: str, phone: Any) -> None:
    login(phone, server, "schule-rfs")
    phone.locator("#intake-form").wait_for(state="visible")
    assert phone.evaluate("() => document.documentElement.clientWidth") == 390
    assert no_horizontal_scrolling(phone)
    shot(phone, "form-390")
    phone.get_by_role("button", name="Meine Anmeldungen").click()
    phone.locator("#list-table tbody tr").first.wait_for()
    assert no_horizontal_scrolling(phone)
    # each row is a card: the column names stand beside the values, the table head is out of sight
    first = phone.locator("#list-table tbody tr").first
    assert first.locator("td").first.get_attribute("data-label") == "Name"
    assert phone.locator("#list-table thead").evaluate("h => h.getBoundingClientRect().width") <= 1
    widths = phone.locator("#list-table tbody tr").evaluate_all(
        "rows => rows.map(r => r.getBoundingClientRect().right)"
    )
    assert max(widths) <= 390
    shot(phone, "list-390")
    phone.get_by_role("button", name="Klassenliste hochladen").click()
    assert no_horizontal_scrolling(phone)
    assert phone.problems == []


def test_the_dashboard_fits_a_phone(server: str, phone: Any) -> None:
    login(phone, server, "buero", "/dashboard")
    phone.locator("body[data-loaded=true]").wait_for()
    assert no_horizontal_scrolling(phone)  # wide statistics scroll inside their own box, lists become cards
    assert phone.locator("#site-nav a:visible").all_inner_texts() == ["Anmeldungen", "Dashboard"]
    shot(phone, "dashboard-390")
    assert phone.problems == []


def test_a_companion_on_the_form_sees_their_students_only(server: str, page: Any) -> None:
    """Where the companions' page is not served, a companion gets the list of their own students on the form:
    no new intake, no class list, no withdrawal."""
    from common.web import served_pages

    if any(p.path == "/begleitung" for p in served_pages()):
        pytest.skip("the companions' page is served: companions are sent there (next test)")
    login(page, server, "begleitung-b02")
    page.locator("#list-table tbody tr").first.wait_for()
    assert page.locator(".tab:visible").all_inner_texts() == ["Meine Anmeldungen"]
    assert page.locator("#tab-intake").is_hidden() and page.locator("#tab-batch").is_hidden()
    assert page.get_by_role("button", name="zurückziehen").count() == 0
    assert page.problems == []


def test_a_companion_is_sent_to_the_companions_page(
    server: str, page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from common import web
    from contracts.topology import ROUTES, Route

    if not any(p.path == "/begleitung" for p in web.served_pages()):  # until it is, as it will be served
        monkeypatch.setattr(web, "ROUTES", (*ROUTES, Route("GET", "/begleitung", "x-api", (), public=True)))
        web.served_pages.cache_clear()
    try:
        login(page, server, "begleitung-b02")
        page.wait_for_url(server + "/begleitung")
        assert page.evaluate(
            "() => sessionStorage.getItem('avdual-token')"
        )  # the page there starts logged in
    finally:
        web.served_pages.cache_clear()
