"""A school secretary's day in a real browser: correct an intake ("Korrigieren": the form in edit mode, only
the changes sent with the loaded version, someone else's change meanwhile explained in German), withdraw one
with a reason; the duplicate warning and a class list uploaded twice on a desktop and a phone (390 px).
Screenshots of each step in ``out/screenshots/``."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import PHONE, login, no_horizontal_scrolling, open_page, school_system

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]
SHOTS = Path("out/screenshots")


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    with school_system("school") as served:
        yield served


def submitted(rt: Any, given: str, family: str, **changes: Any) -> str:
    """An intake of the school RFS, stored through the API as the web form would."""
    from tests.conftest import VALID_FORM
    from tests.integration.test_intake_api import SCHOOL

    form = copy.deepcopy(VALID_FORM)
    form["student"].update(given_name=given, family_name=family, **changes)
    r = rt.api("POST", "/intakes", body=form, claims=SCHOOL)
    assert r.status == 201, r.body
    return str(r.json()["intake_id"])


def stored(rt: Any, intake_id: str) -> dict[str, Any]:
    from tests.integration.test_intake_api import OFFICE

    return dict(rt.api("GET", f"/intakes/{intake_id}", claims=OFFICE).json())


def open_list(page: Any, base: str) -> None:
    login(page, base, "schule-rfs")
    page.locator("#intake-form").wait_for(state="visible")
    page.get_by_role("button", name="Meine Anmeldungen").click()
    page.locator("#list-table tbody tr").first.wait_for()


@pytest.fixture(params=["desktop", "390"])
def screen(request: pytest.FixtureRequest, browser: Any) -> Iterator[tuple[str, Any]]:
    """A desktop page and a phone's (390 px), each with its own tag: ``""`` or ``"-390"``."""
    phone = request.param == "390"
    with open_page(browser, **(PHONE if phone else {})) as pg:
        yield ("-390" if phone else ""), pg


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_correcting_an_intake(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    iid = submitted(rt, "Lena", "Tippfeler", phone="0711 999")
    open_list(page, base)
    page.get_by_role("button", name="Anmeldung von Lena Tippfeler korrigieren").click()
    page.get_by_role("heading", name="Anmeldung korrigieren").wait_for()
    # the form shows what is stored
    assert page.get_by_label("Nachname *").input_value() == "Tippfeler"
    assert page.get_by_label("Telefon (freiwillig)").input_value() == "0711 999"
    assert page.get_by_label("Geburtsdatum *").input_value() == "2010-05-17"
    assert page.get_by_label("Die Schülerin / der Schüler hat eingewilligt *").is_checked()
    assert "Lena Tippfeler" in page.locator("#edit-banner").inner_text()
    page.get_by_label("Nachname *").fill("Tippfehler")
    page.get_by_label("Telefon (freiwillig)").fill("")  # removed: sent as null
    page.get_by_label("Klasse *").fill("AVd1b")
    shot(page, "correct-form")
    page.get_by_role("button", name="Korrektur speichern").click()
    page.get_by_text("Die Anmeldung von Lena Tippfeler wurde korrigiert.").wait_for()
    row = page.locator("#list-table tbody tr", has_text="Tippfehler, Lena")
    assert row.locator('td[data-label="Klasse"]').inner_text() == "AVd1b"
    view = stored(rt, iid)
    assert view["student"]["family_name"] == "Tippfehler" and view["class_name"] == "AVd1b"
    assert view["student"].get("phone") is None and view["version"] == 2
    assert page.problems == []


def test_a_correction_after_someone_elses_is_explained_and_reloaded(
    server: tuple[str, Any], page: Any
) -> None:
    from tests.integration.test_intake_api import OFFICE

    base, rt = server
    iid = submitted(rt, "Mara", "Doppelt")
    open_list(page, base)
    page.get_by_role("button", name="Anmeldung von Mara Doppelt korrigieren").click()
    page.get_by_role("heading", name="Anmeldung korrigieren").wait_for()
    # meanwhile the office corrects the class
    assert rt.api("PATCH", f"/intakes/{iid}", body={"class_name": "AVd1e"}, claims=OFFICE).status == 200
    page.get_by_label("Vorname *").fill("Marah")
    page.get_by_role("button", name="Korrektur speichern").click()
    summary = page.locator("#form-errors")
    summary.get_by_text("Die Anmeldung wurde inzwischen geändert").wait_for()
    assert "nicht gespeichert" in summary.inner_text()
    shot(page, "correct-conflict")
    assert stored(rt, iid)["student"]["given_name"] == "Mara"  # nothing overwritten
    page.get_by_role("button", name="Anmeldung neu laden").click()
    page.locator("#form-errors").wait_for(state="hidden")
    assert page.get_by_label("Klasse *").input_value() == "AVd1e"  # the office's change is shown
    page.get_by_label("Vorname *").fill("Marah")
    page.get_by_role("button", name="Korrektur speichern").click()
    page.get_by_text("Die Anmeldung von Mara Doppelt wurde korrigiert.").wait_for()
    view = stored(rt, iid)
    assert view["student"]["given_name"] == "Marah" and view["class_name"] == "AVd1e" and view["version"] == 3


def test_withdrawal_asks_for_the_reason(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    iid = submitted(rt, "Tom", "Zweimal")
    open_list(page, base)
    page.get_by_role("button", name="Anmeldung von Tom Zweimal zurückziehen").click()
    dialog = page.get_by_role("dialog", name="Anmeldung zurückziehen")
    assert dialog.get_by_role("radio").count() == 4
    reasons = dialog.locator("label").all_inner_texts()
    assert [r.strip() for r in reasons] == [
        "Einwilligung widerrufen",
        "doppelt erfasst",
        "irrtümlich erfasst",
        "Schule verlassen",
    ]
    dialog.get_by_role("button", name="Zurückziehen und Angaben löschen").click()
    dialog.get_by_text("Bitte einen Grund auswählen.").wait_for()  # no reason, nothing happens
    assert stored(rt, iid)["status"] != "withdrawn"
    dialog.get_by_label("doppelt erfasst").check()
    shot(page, "withdraw-dialog")
    dialog.get_by_role("button", name="Zurückziehen und Angaben löschen").click()
    page.get_by_text(
        "Die Anmeldung wurde zurückgezogen (doppelt erfasst) und die Angaben gelöscht."
    ).wait_for()
    view = stored(rt, iid)
    assert (
        view["status"] == "withdrawn" and view["withdrawn_reason"] == "duplicate" and view["student"] is None
    )
    assert page.problems == []


def test_the_duplicate_warning_links_the_intake_already_there(
    server: tuple[str, Any], screen: tuple[str, Any]
) -> None:
    from tests.browser.test_intake_form_browser import fill

    base, rt = server
    tag, page = screen
    dob = "2010-02-04" if tag else "2010-02-03"  # another student on each screen
    iid = submitted(rt, "Zoë", "Schondahl", date_of_birth=dob)
    login(page, base, "schule-rfs")
    page.locator("#intake-form").wait_for(state="visible")
    fill(page, dob=dob, given="Zoe", family="Schondahl")  # typed without the diaeresis
    page.get_by_role("button", name="Anmeldung absenden").click()
    box = page.locator("#duplicate-box")
    box.get_by_text("ist für das Schuljahr 2026/27 an dieser Schule bereits angemeldet").wait_for()
    assert iid in box.inner_text()
    assert box.is_visible() and no_horizontal_scrolling(page)
    shot(page, f"duplicate-warning{tag}")
    before = len(rt.scan("intakes"))
    # the link opens the intake already there, to correct it
    box.get_by_role("link", name="Vorhandene Anmeldung öffnen").click()
    page.get_by_role("heading", name="Anmeldung korrigieren").wait_for()
    assert page.get_by_label("Vorname *").input_value() == "Zoë"
    assert len(rt.scan("intakes")) == before  # nothing stored
    # a different person with the same name and birthday: stored on the explicit override
    page.get_by_role("button", name="Neue Anmeldung").click()
    fill(page, dob=dob, given="Zoe", family="Schondahl")
    page.get_by_role("button", name="Anmeldung absenden").click()
    box.get_by_role("button", name="Trotzdem als neue Anmeldung speichern").click()
    page.locator("#confirmation").get_by_text("Anmeldung gespeichert").wait_for()
    assert len(rt.scan("intakes")) == before + 1
    assert [p for p in page.problems if "409 (CONFLICT)" not in p] == []  # the browser logs the 409s


def test_uploading_a_class_list_twice_stores_nothing_the_second_time(
    server: tuple[str, Any], screen: tuple[str, Any], tmp_path: Path
) -> None:
    from tests.integration.test_intake_batch import csv_bytes, rows

    base, rt = server
    tag, page = screen
    data = rows(6)
    for r in data:
        r[1] = r[1].replace("Muster", "Telefonliste" if tag else "Klassenliste")  # other students each time
    path = tmp_path / "klasse-avd1a.csv"
    path.write_bytes(csv_bytes(data))
    login(page, base, "schule-rfs")
    page.get_by_role("button", name="Klassenliste hochladen").click()
    page.get_by_label("Version des Einwilligungstexts (falls keine Spalte)").fill("EV-2026-08")
    page.get_by_label("Datei *").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen", exact=True).click()
    result = page.locator("#batch-result")
    result.get_by_text("6 Zeile(n) gespeichert, 0 Zeile(n) bereits vorhanden").wait_for()
    stored = len(rt.scan("intakes"))
    events = len(rt.scan("intake-outbox"))
    page.get_by_label("Datei *").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen", exact=True).click()
    result.get_by_text("0 Zeile(n) gespeichert, 6 Zeile(n) bereits vorhanden").wait_for()
    assert result.locator('#batch-rows li[data-status="duplicate"]').count() == 6
    first = result.locator("#batch-rows li").first.inner_text()
    assert first.startswith("Zeile 2: Bereits vorhanden: angemeldet am")
    assert no_horizontal_scrolling(page)
    shot(page, f"classlist-twice{tag}")
    assert len(rt.scan("intakes")) == stored and len(rt.scan("intake-outbox")) == events
    assert page.problems == []


def test_the_error_summary_names_every_field_at_once(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    login(page, base, "schule-rfs")
    page.locator("#intake-form").wait_for(state="visible")
    page.get_by_label("Vorname *").fill("Kim")
    page.get_by_label("Nachname *").fill("Zujung")
    page.get_by_label("Geburtsdatum *").fill("2016-03-01")  # 10 years old at the start of the school year
    page.get_by_label("Die Schülerin / der Schüler hat eingewilligt *").check()
    page.get_by_label("Praktikumstage pro Woche").fill("5")
    # no class, no gender, no guardian consent
    page.get_by_role("button", name="Anmeldung absenden").click()
    summary = page.locator("#form-errors")
    summary.wait_for(state="visible")
    items = summary.locator("li").all_inner_texts()
    shot(page, "error-summary")
    assert (
        summary.locator("h3").inner_text()
        == f"Bitte diese {len(items)} Angaben prüfen – es wurde nichts gespeichert"
    )
    named = {item.split(":", 1)[0] for item in items}
    assert {"Klasse", "Geschlecht", "Geburtsdatum", "Einwilligung der Erziehungsberechtigten"} <= named
    assert "Praktikumstage pro Woche" in named
    assert not [i for i in items if i.startswith("Pflichtfeld")]  # every message names its field
    age = next(i for i in items if i.startswith("Geburtsdatum"))
    assert "14–21 Jahre" in age
    days = next(i for i in items if i.startswith("Praktikumstage pro Woche"))
    assert "3" in days  # the limit is said
    # a message is a link to its field
    summary.get_by_role("link", name="Klasse", exact=False).first.click()
    assert page.evaluate("() => document.activeElement.id") == "f-class_name"
    assert page.get_by_label("Klasse *").get_attribute("aria-invalid") == "true"
    assert not [i for i in rt.scan("intakes") if i.get("student", {}).get("family_name") == "Zujung"]
    assert [p for p in page.problems if "422" not in p] == []
