"""The German office dashboard in a real browser: Playwright drives Debian's Chromium against the local
gateway on a loopback port.

Seeded state (companions, 36 intakes through the API, some on the waitlist) → log in as the office →
the page shows the right totals (exact: the office's own view), the charts, makes a report on demand, and the
browser reports no console errors (CSP included). The office's actions: a waitlist row opens the intake
(audited), a rebalance is previewed and applied after a confirmation, the school-year report is ordered.
Screenshots of each step go to ``out/screenshots/``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import serving

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]


SHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
OFFICE = {"sub": "office-test", "cognito:groups": "office", "cognito:username": "buero"}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter[str], Any]]:
    from avdual.auth import user_for
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario

    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=3) for c in scenario["companions"]]
    with LocalRuntime(stage="dash", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        submit_all(rt, load_intakes()[:36], drain_every=12)
        truth = Counter(a["status"] for a in rt.scan("assignments"))
        rt.cognito.ensure_user(user_for("office"))
        rt.cognito.ensure_user(user_for("school", school="RFS"))
        with serving(rt, deliver=False) as base:
            yield base, truth, rt


def log_in_as_office(page: Any, base: str) -> None:
    from avdual.auth import LOCAL_PASSWORD

    page.goto(base + "/dashboard")
    assert page.title() == "AV dual – Dashboard Bildungsbüro"
    page.get_by_label("Benutzername oder E-Mail").fill("buero")
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.locator("body[data-loaded=true]").wait_for()


def test_office_sees_the_right_totals_and_charts(server: tuple[str, Counter[str], Any], page: Any) -> None:
    base, truth, _ = server
    log_in_as_office(page, base)

    def kpi(label: str) -> str:
        return page.locator(f'.kpi[data-kpi="{label}"] .value').inner_text()

    assert kpi("Anmeldungen insgesamt") == str(sum(truth.values())) == "36"
    assert kpi("zugeordnet") == str(truth["assigned"]) and kpi("auf der Warteliste") == str(
        truth["waitlisted"]
    )
    footer = page.locator("#status-table tfoot td").all_inner_texts()
    assert footer[-1] == "36" and footer[1] == str(truth["assigned"])
    assert not {"<3", "x"} & set(page.locator("#status-table td").all_inner_texts())  # exact counts
    assert page.locator("#waitlist-summary").inner_text().startswith(f"{truth['waitlisted']} Schülerinnen")
    for img in ("#caseload-chart", "#waitlist-chart"):
        assert page.locator(img).get_attribute("src").startswith("data:image/png;base64,")
        assert page.locator(img).evaluate("i => i.naturalWidth") == 900
    assert page.locator("#companions-table tbody tr").count() == 11

    page.get_by_role("button", name="Wochenbericht jetzt erstellen").click()
    page.locator("#report-result button", has_text="PDF").wait_for()
    assert "per E-Mail versandt" in page.locator("#report-result").inner_text()
    report_id = page.locator("#report-result [data-report]").get_attribute("data-report")

    # the audit log of today, newest first: this dashboard's waitlist (the office), the 36 submissions
    page.get_by_role("button", name="Protokoll anzeigen").click()
    page.get_by_text("37 Einträge.").wait_for()
    rows = page.locator("#audit-table tbody tr")
    cells = [rows.nth(i).locator("td").all_inner_texts() for i in range(37)]
    assert cells[0][2:5] == ["Bildungsbüro", "aufgelistet", "Berichte"]
    assert {(c[2], c[3], c[4]) for c in cells[1:]} == {("Schule", "angelegt", "Anmeldungen")}
    assert page.locator("#audit-more").is_hidden()
    assert page.problems == []  # no script errors, no CSP violations
    # too long a period: the API's German message is shown
    page.get_by_label("Von", exact=True).fill("2026-01-01")
    page.get_by_role("button", name="Protokoll anzeigen").click()
    page.get_by_text("Höchstens 31 Tage auf einmal abfragen.").wait_for()
    assert [p for p in page.problems if "422" not in p] == []

    # the report's files come through the API with the office's token (no presigned link)
    with page.expect_download() as download:
        page.locator("#report-result button", has_text="PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    # a link from the report e-mail opens the dashboard and downloads the file
    with page.expect_download() as download:
        page.goto(f"{base}/dashboard#bericht={report_id}&format=xlsx")
    assert download.value.suggested_filename.endswith(".xlsx")
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"


def test_school_staff_are_sent_to_their_form(server: tuple[str, Counter[str], Any], page: Any) -> None:
    """School staff logging in on the dashboard land on their own page (the form); the dashboard never
    asks for its figures."""
    from avdual.auth import LOCAL_PASSWORD, user_for

    base, _, _ = server
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/dashboard/summary" in r.url else None)
    page.goto(base + "/dashboard")
    page.get_by_label("Benutzername oder E-Mail").fill(user_for("school", school="RFS").username)
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(base + "/")
    page.locator("#intake-form").wait_for(state="visible")
    assert page.locator("#who-name").inner_text() == "Angemeldet: schule-rfs"
    assert asked == []
    assert page.locator("#site-nav").is_hidden()  # one page for a school: no navigation


# The office's actions, in this order on the module's state (the first finds students waiting).
def test_a_waitlist_row_opens_the_intake_and_the_read_is_audited(
    server: tuple[str, Counter[str], Any], page: Any
) -> None:
    base, _, rt = server
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_as_office(page, base)
    ref = page.locator("#waitlist-table tbody tr").first.locator("button[data-intake]")
    intake_id = ref.get_attribute("data-intake")
    intake = rt.api("GET", f"/intakes/{intake_id}", claims=OFFICE).json()
    ref.click()
    name = f"{intake['student']['given_name']} {intake['student']['family_name']}"
    page.locator("#student-title", has_text=name).wait_for()
    assert "Warteliste" in page.locator("#student-facts").inner_text()
    page.screenshot(path=str(SHOTS / "dashboard-student.png"))
    page.get_by_role("button", name="Schließen").click()
    audited = [e for e in rt.scan("audit-log") if e["service"] == "intake" and e["action"] == "read"]
    assert any(intake_id in e["intake_ids"] and e["role"] == "office" for e in audited)
    assert page.problems == []


def test_a_capacity_change_assigns_a_waiting_student(
    server: tuple[str, Counter[str], Any], page: Any
) -> None:
    from playwright.sync_api import expect

    base, _, rt = server

    def waiting() -> int:
        return sum(1 for a in rt.scan("assignments") if a["status"] == "waitlisted")

    def assigned_to(companion_id: str) -> int:
        rows = rt.scan("assignments")
        return sum(1 for a in rows if a.get("companion_id") == companion_id and a["status"] == "assigned")

    before = waiting()
    assert before and assigned_to("B01") == 3  # Sabine Krämer's RFS is full, RFS students wait
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_as_office(page, base)
    page.get_by_role("button", name="Sabine Krämer: Kapazität oder Abwesenheit ändern").click()
    edit = page.locator("#companion-dialog")
    expect(edit.get_by_label("Kapazität (Schülerinnen und Schüler)")).to_have_value("3")
    edit.get_by_label("Kapazität (Schülerinnen und Schüler)").fill("4")
    page.screenshot(path=str(SHOTS / "dashboard-capacity-edit.png"))
    edit.get_by_role("button", name="Änderung prüfen").click()
    confirm = page.locator("#confirm-dialog")
    confirm.get_by_text("Kapazität 3 → 4 (zurzeit 3 zugeordnet).").wait_for()
    # matching's preview: who gets the place (the longest-waiting RFS student), and why
    longest = rt.api("GET", "/waitlist", query={"school_id": "RFS"}, claims=OFFICE).json()[0]["intake_id"]
    confirm.get_by_text("Vorschau: 1 von der Warteliste zugeordnet.").wait_for()
    placed = confirm.locator("tbody tr")
    assert placed.count() == 1 and placed.locator("td").first.inner_text() == "…" + longest[-8:]
    assert placed.locator("td").nth(4).inner_text() == "Sabine Krämer"
    page.screenshot(path=str(SHOTS / "dashboard-capacity-confirm.png"))
    confirm.get_by_role("button", name="Änderung übernehmen").click()
    page.locator("#companion-state", has_text="Gespeichert: Sabine Krämer").wait_for()
    rt.drain()  # matching gives the freed place to the longest-waiting RFS student; reporting follows
    assert (waiting(), assigned_to("B01")) == (before - 1, 4)
    page.get_by_role("button", name="Aktualisieren").click()
    expect(page.locator("#waitlist-summary")).to_contain_text(f"{before - 1} Schülerinnen und Schüler warten")
    row = page.locator("#companions-table tbody tr", has_text="Sabine Krämer")
    expect(row.locator("td").nth(3)).to_have_text("4")
    expect(row.locator("td").nth(4)).to_have_text("4")
    page.screenshot(path=str(SHOTS / "dashboard-capacity-done.png"), full_page=True)
    assert page.problems == []


def test_a_rebalance_is_previewed_and_applied_after_a_confirmation(
    server: tuple[str, Counter[str], Any], page: Any
) -> None:
    from playwright.sync_api import expect

    from contracts.reference import CAREER_FIELDS, LANGUAGES

    base, _, rt = server
    # a companion for every school joins: the waiting students get places, the rebalance proposes moves
    newcomer = {
        "companion_id": "B12",
        "name": "Lena Vogt",
        "email": "l.vogt@landkreis-ludwigsburg.example",
        "school_ids": ["RFS", "MPS", "OWS", "EBS", "CSS", "BSZBB"],
        "capacity": 20,
        "fte": 1.0,
        "languages": sorted(LANGUAGES)[:10],
        "career_fields": sorted(CAREER_FIELDS),
        "gender": "weiblich",
    }
    assert rt.api("POST", "/companions", body=newcomer, claims=OFFICE).status == 200
    rt.drain()
    plan = rt.api("POST", "/assignments/rebalance", query={"dry_run": "true"}, claims=OFFICE).json()
    assert plan["moves"], plan  # the scenario has moves worth making
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_as_office(page, base)
    page.locator("#companions-table tbody tr", has_text="Lena Vogt").wait_for()

    page.get_by_role("button", name="Vorschlag berechnen").click()
    page.locator("#rebalance-state", has_text="Vorschlag:").wait_for()
    rows = page.locator("#rebalance-table tbody tr")
    assert rows.count() == len(plan["moves"])
    first = rows.first.locator("td").all_inner_texts()
    assert first[4] == "Lena Vogt" and first[7].startswith("−")  # to the newcomer, cheaper
    page.screenshot(path=str(SHOTS / "dashboard-rebalance-preview.png"), full_page=True)

    def companions_of_moved() -> set[str]:
        moved = {m["intake_id"] for m in plan["moves"]}
        return {a["companion_id"] for a in rt.scan("assignments") if a["intake_id"] in moved}

    before = companions_of_moved()
    page.get_by_role("button", name="Neuverteilung anwenden").click()
    dialog = page.locator("#confirm-dialog")
    dialog.get_by_text(f"{len(plan['moves'])} Schülerinnen und Schüler wechseln").wait_for()
    page.screenshot(path=str(SHOTS / "dashboard-rebalance-confirm.png"))
    dialog.get_by_role("button", name="Abbrechen").click()  # cancelled: nothing changes
    assert dialog.is_hidden() and companions_of_moved() == before != {"B12"}
    page.get_by_role("button", name="Neuverteilung anwenden").click()
    dialog.get_by_role("button", name="Neuverteilung anwenden").click()
    page.locator("#rebalance-state", has_text=f"Angewendet: {len(plan['moves'])} Wechsel").wait_for()
    assert companions_of_moved() == {"B12"}
    assert page.locator("#rebalance-table tbody tr", has_text="angewendet").count() == len(plan["moves"])
    rt.drain()  # the events of the moves reach reporting (make serve delivers them in the background)
    newcomer_has = [a for a in rt.scan("assignments") if a.get("companion_id") == "B12"]
    placed = sum(1 for a in newcomer_has if a["status"] == "assigned")
    page.get_by_role("button", name="Aktualisieren").click()
    newcomer_row = page.locator("#companions-table tbody tr", has_text="Lena Vogt")
    expect(newcomer_row.locator("td").nth(3)).to_have_text(str(placed))  # zugeordnet, after the moves
    page.screenshot(path=str(SHOTS / "dashboard-rebalance-applied.png"), full_page=True)
    assert page.problems == []


def test_the_office_moves_a_student_to_a_companion_of_its_choice(
    server: tuple[str, Counter[str], Any], page: Any
) -> None:
    """After the rebalance the newcomer has room: the office opens a student of Sabine Krämer by the
    Kennung, sees every RFS companion with the cost of that choice, and moves the student (audited)."""
    base, _, rt = server
    at_b01 = sorted(a["intake_id"] for a in rt.scan("assignments") if a.get("companion_id") == "B01")[0]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in_as_office(page, base)
    page.get_by_label("Anmeldung öffnen (Kennung)").fill(at_b01)
    page.get_by_role("button", name="Öffnen", exact=True).click()
    dialog = page.locator("#student-dialog")
    options = dialog.locator("#choice-table tbody tr")
    options.first.wait_for()
    names = [options.nth(i).locator("td").nth(1).inner_text() for i in range(options.count())]
    assert any(n.startswith("Sabine Krämer (jetzt)") for n in names) and any("Lena Vogt" in n for n in names)
    dialog.get_by_label("Lena Vogt wählen").check()
    dialog.get_by_label("Grund der Wahl").select_option("student_request")
    page.screenshot(path=str(SHOTS / "dashboard-choice.png"))
    dialog.get_by_role("button", name="Zuordnen", exact=True).click()
    confirm = page.locator("#confirm-dialog")
    confirm.get_by_text("Grund: Wunsch der Schülerin / des Schülers.").wait_for()
    confirm.get_by_role("button", name="Zuordnen", exact=True).click()
    dialog.locator("#choice-state", has_text="Zugeordnet: Lena Vogt").wait_for()
    (moved,) = [a for a in rt.scan("assignments") if a["intake_id"] == at_b01]
    assert (moved["status"], moved["companion_id"]) == ("assigned", "B12")
    log = rt.api("GET", "/audit", claims=OFFICE).json()["items"]
    assert any(e["action"] == "assign" and e["intake_ids"] == [at_b01] for e in log)
    assert page.problems == []


def test_the_school_year_report_is_ordered_after_a_confirmation(
    server: tuple[str, Counter[str], Any], page: Any
) -> None:
    base, _, rt = server  # it leaves the office (steering group): small counts suppressed
    log_in_as_office(page, base)
    dialog = page.locator("#confirm-dialog")
    page.get_by_role("button", name="Schuljahresbericht bestellen").click()
    dialog.get_by_text("Fallzahlen von 1 oder 2 sind darin gesperrt").wait_for()
    dialog.get_by_role("button", name="Bericht bestellen").click()
    page.locator("#report-result", has_text="per E-Mail versandt").wait_for()
    assert "Schuljahr" in page.locator("#report-result").inner_text()
    reports = rt.api("GET", "/reports", claims=OFFICE).json()
    assert any(r["report_type"] == "school_year" for r in reports)
    assert page.problems == []
