"""The companions' page /begleitung in a real browser: Playwright drives Debian's Chromium against the local
gateway on a loopback port, with the runtime delivering events in the background as `make serve` does.

A companion logs in, sees the own caseload (names composed from intake), searches, opens a student, records an
internship with a company new to the directory, a goal-agreement meeting and the exit into training at that
company; the page shows the derived Klebeeffekt, and the office's dashboard then shows the internship and a
Klebeeffekt of one. Screenshots at desktop width and at 390 px go to out/screenshots/.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contracts import calendar
from tests.browser.conftest import open_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]

SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
NOTE = "Vater begleitet zum Betrieb, Sorge wegen Fahrtweg"  # personal: only the page may show it


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """The companion's browser in the county's time zone (overrides conftest's): the exit form proposes the
    page's today, which the services check against the county's day (contracts/calendar.py); in the
    container's UTC the page would propose the day before between midnight in Ludwigsburg and midnight UTC."""
    with open_page(browser, timezone_id=calendar.TZ_NAME) as pg:
        yield pg


@pytest.fixture(scope="module")
def server() -> Iterator[dict[str, Any]]:
    from werkzeug.serving import make_server

    from avdual.auth import user_for
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario
    from avdual.server import Gateway, deliver_forever

    scenario = load_scenario()
    with LocalRuntime(stage="cw", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        intakes = load_intakes()[:24]
        submit_all(rt, intakes, drain_every=12)
        rt.drain()
        assigned: dict[str, list[str]] = {}
        for a in rt.scan("assignments"):
            if a.get("status") == "assigned":
                assigned.setdefault(a["companion_id"], []).append(a["intake_id"])
        companion, caseload = max(assigned.items(), key=lambda kv: len(kv[1]))
        names = {
            i["intake_id"]: f"{i['student']['given_name']} {i['student']['family_name']}"
            for i in rt.scan("intakes")
            if i["intake_id"] in caseload
        }
        other = next(c for c in assigned if c != companion)
        for u in (
            user_for("office"),
            user_for("school", school="RFS"),
            user_for("companion", companion=companion),
            user_for("companion", companion=other),
        ):
            rt.cognito.ensure_user(u)
        httpd = make_server("127.0.0.1", 0, Gateway(rt), threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        stop = threading.Event()
        pump = threading.Thread(target=deliver_forever, args=(rt, stop), daemon=True)
        thread.start()
        pump.start()
        try:
            yield {
                "base": f"http://127.0.0.1:{httpd.server_port}",
                "companion": companion,
                "other": other,
                "names": names,
                "companion_name": next(
                    c["name"] for c in scenario["companions"] if c["companion_id"] == companion
                ),
            }
        finally:
            stop.set()
            pump.join(timeout=5)
            httpd.shutdown()
            thread.join(timeout=5)


def _login(page: Any, base: str, path: str, username: str) -> None:
    from avdual.auth import LOCAL_PASSWORD

    page.goto(base + path)
    page.get_by_label("Benutzername oder E-Mail").fill(username)
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()


def test_companion_records_internship_meeting_and_exit_and_the_dashboard_counts_them(
    server: dict[str, Any], page: Any
) -> None:
    from avdual.auth import user_for

    base, names = server["base"], server["names"]
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base, "/begleitung", user_for("companion", companion=server["companion"]).username)
    page.locator("body[data-loaded=true]").wait_for()
    assert page.title() == "AV dual – Begleitung"
    assert page.get_by_role("heading", name="Meine Schülerinnen und Schüler").is_visible()
    assert page.locator("#who-name").inner_text() == server["companion_name"]  # the name, not a login name
    rows = page.locator("#students tbody tr")
    assert rows.count() == len(names)
    shown = set(page.locator("#students tbody tr td:first-child").all_inner_texts())
    assert shown == set(names.values())  # names composed from intake, only the own caseload
    assert (
        page.locator("#students tbody tr").first.locator("td").nth(4).inner_text().endswith("0 von 40 Tagen")
    )
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "begleitung-liste-desktop.png"), full_page=True)

    name = sorted(names.values())[0]
    page.get_by_label("Suche nach Name").fill(name.split()[-1])
    assert name in page.locator("#students tbody").inner_text()
    page.get_by_role("button", name=name, exact=True).click()
    page.get_by_role("heading", name=name, exact=True).wait_for()
    assert "Begründung der Zuordnung" in page.locator("#assignment-data").inner_text()
    assignment = page.locator("#assignment-data").inner_text()
    assert f"{server['companion_name']} ({server['companion']})" in assignment  # named, code in brackets

    _record_internship_with_a_new_company(page)
    _record_goal_meeting(page)
    _refused_dates_store_nothing(page)
    _record_exit_into_training(page)
    page.screenshot(path=str(SHOTS / "begleitung-schueler-desktop.png"), full_page=True)

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(SHOTS / "begleitung-schueler-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    page.get_by_role("button", name="← Zurück zur Liste").click()
    page.locator("#students td", has_text="ausgetreten").wait_for()  # the list read again
    assert "6 von 40 Tagen" in page.locator("#students tbody tr", has_text=name).inner_text()
    page.get_by_label("Suche nach Name").fill("")
    page.screenshot(path=str(SHOTS / "begleitung-liste-390.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert [p for p in page.problems if "422" not in p] == []  # only the refused date; no CSP violations

    _dashboard_counts_internship_and_klebeeffekt(page, base)


def _record_internship_with_a_new_company(page: Any) -> None:
    from playwright.sync_api import expect

    # an internship with a company new to the directory
    page.get_by_role("button", name="Praktikum erfassen").click()
    page.get_by_text("Neuen Betrieb ins Verzeichnis aufnehmen").click()
    page.get_by_label("Name des Betriebs").fill("Autohaus Klebe GmbH")
    page.get_by_label("Ort", exact=True).fill("Ludwigsburg")
    page.get_by_label("Branche").select_option("kfz")
    page.get_by_role("button", name="Betrieb aufnehmen").click()
    expect(page.locator("#company-select")).not_to_have_value("")
    assert "Autohaus Klebe GmbH" in page.locator("#company-select").inner_text()
    page.get_by_label("Berufsfeld", exact=True).select_option("kfz")
    page.get_by_label("Montag").check()
    page.get_by_label("Dienstag").check()
    page.get_by_label("Bisher absolvierte Tage").fill("6")
    page.get_by_label("Lernaufgabe").fill("Reifenwechsel begleiten")
    page.get_by_role("button", name="Praktikum speichern").click()
    page.locator("#internships tbody tr").first.wait_for()
    assert "Autohaus Klebe GmbH" in page.locator("#internships").inner_text()
    assert "Montag, Dienstag" in page.locator("#internships").inner_text()


def _record_goal_meeting(page: Any) -> None:
    # a goal-agreement meeting with a note
    page.get_by_role("button", name="Gespräch oder Kontakt erfassen").click()
    page.get_by_label("Art", exact=True).select_option("goal_agreement")
    page.get_by_label("Erziehungsberechtigte").check()
    page.get_by_label("Kurze Notiz").fill(NOTE)
    page.get_by_role("button", name="Gespräch speichern").click()
    page.locator("#meetings tbody tr").first.wait_for()
    assert "Zielvereinbarungsgespräch" in page.locator("#meetings").inner_text()
    assert NOTE in page.locator("#meetings").inner_text()


def _refused_dates_store_nothing(page: Any) -> None:
    from playwright.sync_api import expect

    # a bad date gets the API's German message, nothing is stored
    page.get_by_role("button", name="Praktikum erfassen").click()
    expect(page.locator("#company-select option")).to_have_count(2)
    page.locator("#company-select").select_option(index=1)
    page.get_by_label("Modell", exact=True).select_option("block")
    page.get_by_label("Beginn", exact=True).fill("2027-03-10")
    page.get_by_label("Ende (geplant)").fill("2027-03-01")
    page.get_by_role("button", name="Praktikum speichern").click()
    page.get_by_text("Das Ende des Praktikums liegt vor seinem Beginn.").wait_for()
    assert page.locator("#internships tbody tr").count() == 1
    page.locator("#internship-form").get_by_role("button", name="Abbrechen").click()


def _record_exit_into_training(page: Any) -> None:
    # the exit into training at that company: the Klebeeffekt is derived
    page.get_by_role("button", name="Austritt erfassen").click()
    page.get_by_label("Verbleib", exact=True).select_option("dual_training")
    assert "Autohaus Klebe GmbH" in page.locator("#x-company option:checked").inner_text()
    page.get_by_role("button", name="Austritt speichern").click()
    page.get_by_text("ja – früherer Praktikumsbetrieb").wait_for()
    assert "Duale Ausbildung" in page.locator("#exit").inner_text()
    assert page.get_by_role("button", name="Praktikum erfassen").is_hidden()  # ended: read only
    # the internship that was still open is not shown as running after the exit
    internships = page.locator("#internships").inner_text()
    assert "läuft" not in internships
    assert "nicht beendet" in internships


def _dashboard_counts_internship_and_klebeeffekt(page: Any, base: str) -> None:
    # the office's dashboard counts the internship and a Klebeeffekt of one
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("button", name="Abmelden").click()
    _login(page, base, "/dashboard", "buero")
    page.locator("body[data-loaded=true]").wait_for()

    def kpi(label: str) -> str:
        return page.locator(f'#casework .kpi[data-kpi="{label}"] .value').inner_text()

    for _ in range(20):  # the runtime delivers the events in the background, as EventBridge does
        if page.locator("#casework").is_visible() and kpi("Klebeeffekt") == "1":
            break
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Aktualisieren").click()

    assert kpi("mit Praktikum") == "1"
    assert kpi("Klebeeffekt") == "1" and kpi("Ausbildungsbeginne") == "1"
    assert "100" in page.locator('#casework .kpi[data-kpi="Klebeeffekt"] .prev').inner_text()
    page.locator("#casework").screenshot(path=str(SHOTS / "dashboard-casework.png"))
    assert [p for p in page.problems if "422" not in p] == []


def test_another_companion_sees_neither_the_student_nor_the_note(server: dict[str, Any], page: Any) -> None:
    from avdual.auth import user_for

    _login(page, server["base"], "/begleitung", user_for("companion", companion=server["other"]).username)
    page.locator("body[data-loaded=true]").wait_for()
    text = page.locator("#students").inner_text()
    assert not any(n in text for n in server["names"].values())
    assert NOTE not in page.content()


def test_school_staff_cannot_use_the_page(server: dict[str, Any], page: Any) -> None:
    from avdual.auth import user_for

    _login(page, server["base"], "/begleitung", user_for("school", school="RFS").username)
    page.get_by_text("nur für die AV dual-Begleiter/innen und das Bildungsbüro").wait_for()
    assert page.locator("#list").is_hidden()
