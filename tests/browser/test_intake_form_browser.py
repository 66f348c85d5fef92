"""The German intake web form in a real browser: Playwright drives Debian's Chromium (``/usr/bin/chromium``)
against ``make serve``'s gateway on a loopback port.

Log in against the local Cognito → fill the form → submit → confirmation with the assignment status;
a wrong date shows the API's German message at the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import login as sign_in
from tests.browser.conftest import school_system

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    with school_system("browser") as served:
        yield served


def login(page: Any, base: str) -> None:
    sign_in(page, base, "schule-rfs")
    page.locator("#intake-form").wait_for(state="visible")


def fill(page: Any, *, dob: str, given: str = "Zoë", family: str = "Şahin-Müller") -> None:
    page.get_by_label("Klasse *").fill("AVd1a")
    page.get_by_label("Vorname *").fill(given)
    page.get_by_label("Nachname *").fill(family)
    page.get_by_label("Geburtsdatum *").fill(dob)
    page.locator('input[name="student.gender"][value="weiblich"]').check()
    page.get_by_label("Gesundheit, Pflege").check()
    page.get_by_label("Handel, Verkauf").check()
    page.get_by_label("Sprache für den Kontakt mit den Eltern").select_option("tr")
    page.get_by_label("Die Schülerin / der Schüler hat eingewilligt *").check()
    page.get_by_label("Die Erziehungsberechtigten haben eingewilligt (Pflicht unter 18)").check()


def test_school_logs_in_submits_and_sees_the_assignment(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    login(page, base)
    assert page.locator("#who-name").inner_text() == "Angemeldet: schule-rfs"
    assert page.locator("#f-school_id option").all_inner_texts() == ["Robert-Franck-Schule Ludwigsburg"]
    fill(page, dob="2010-05-17")
    page.get_by_role("button", name="Anmeldung absenden").click()
    confirmation = page.locator("#confirmation")
    confirmation.get_by_text("Anmeldung gespeichert").wait_for()
    page.locator("#confirmation-status", has_text="Zugeordnet").wait_for()
    assert "C01" in page.locator("#confirmation-status").inner_text()
    intake_id = page.locator("#confirmation-id").inner_text()
    with rt.lock:
        import boto3

        item = (
            boto3.resource("dynamodb")
            .Table(rt.names["intakes"])
            .get_item(Key={"intake_id": intake_id})["Item"]
        )
    assert item["student"]["given_name"] == "Zoë" and item["student"]["family_name"] == "Şahin-Müller"
    assert set(item["career_fields"]) == {"gesundheit", "handel"} and item["consent"]["guardian"] is True
    assert page.problems == []  # no script errors, no CSP violations


def test_a_wrong_date_shows_the_german_message_at_the_field(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    login(page, base)
    fill(page, dob="2031-02-03", given="Jonas", family="Öztürk")
    page.get_by_role("button", name="Anmeldung absenden").click()
    error = page.locator('[id="e-student.date_of_birth"]')
    error.get_by_text("Geburtsdatum: liegt in der Zukunft.").wait_for()
    dob = page.get_by_label("Geburtsdatum *")
    assert dob.get_attribute("aria-invalid") == "true"
    assert dob.get_attribute("aria-describedby") == "e-student.date_of_birth"
    assert page.locator("#form-errors").is_visible() and page.locator("#confirmation").is_hidden()
    # corrected and sent again: stored once
    dob.fill("2010-02-03")
    page.get_by_role("button", name="Anmeldung absenden").click()
    page.locator("#confirmation").get_by_text("Anmeldung gespeichert").wait_for()
    names = [i["student"]["family_name"] for i in rt.scan("intakes") if "student" in i]
    assert names.count("Öztürk") == 1


def test_every_form_control_has_a_label(server: tuple[str, Any], page: Any) -> None:
    base, _ = server
    login(page, base)
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll(
        '#intake-form input, #intake-form select, #intake-form textarea, ' +
        '#batch-form input, #batch-form select'))
        .filter(el => !(el.labels && el.labels.length) && !el.closest('label'))
        .map(el => el.name || el.id)""")
    assert unlabelled == []
    assert page.locator("html").get_attribute("lang") == "de"


def test_token_login_and_the_office_sees_every_school(server: tuple[str, Any], page: Any) -> None:
    base, rt = server
    with rt.lock:
        token = rt.cognito.token("office")
    page.goto(base + "/")
    page.get_by_text("Mit Token anmelden (Entwicklung)").click()
    page.locator("#token-input").fill(token)
    page.get_by_role("button", name="Token verwenden").click()
    page.locator("#intake-form").wait_for(state="visible")
    assert len(page.locator("#f-school_id option").all_inner_texts()) == 6
    page.get_by_role("button", name="Meine Anmeldungen").click()
    page.locator("#list-table").wait_for(state="visible")
    assert page.locator("#list-table tbody tr").count() >= 1
    # withdraw the first one: confirmed, erased, shown without a name
    first = page.locator("#list-table tbody tr").first
    name = first.locator("td").first.inner_text()
    first.get_by_role("button", name="zurückziehen").click()
    dialog = page.get_by_role("dialog", name="Anmeldung zurückziehen")
    dialog.get_by_label("Einwilligung widerrufen").check()
    dialog.get_by_role("button", name="Zurückziehen und Angaben löschen").click()
    page.get_by_text(
        "Die Anmeldung wurde zurückgezogen (Einwilligung widerrufen) und die Angaben gelöscht."
    ).wait_for()
    page.get_by_text("(gelöscht)").first.wait_for()
    assert name not in page.locator("#list-table").inner_text()


def test_wrong_password_is_a_german_message(server: tuple[str, Any], page: Any) -> None:
    base, _ = server
    page.goto(base + "/")
    page.get_by_label("Benutzername oder E-Mail").fill("schule-rfs")
    page.get_by_label("Passwort", exact=True).fill("falsch")
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("Benutzername oder Passwort ist falsch.").wait_for()


def test_swagger_ui_works_offline(server: tuple[str, Any], page: Any) -> None:
    """``/docs`` loads Swagger UI from the local package (no CDN) and renders every route."""
    from contracts.topology import ROUTES

    base, _ = server
    page.goto(base + "/docs")
    page.locator(".opblock").first.wait_for()
    paths = set(page.locator(".opblock-summary-path").all_inner_texts())
    assert {r.path for r in ROUTES if not r.public} <= {p.replace("\u200b", "") for p in paths}
    assert page.problems == []
