"""The German office dashboard in a real browser: Playwright drives Debian's Chromium against the local
gateway on a loopback port.

Seeded state (companions, 36 intakes through the API, some on the waitlist) → log in as the office →
the page shows the right totals (exact: the office's own view), the charts, makes a report on demand, and the
browser reports no console errors (CSP included).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.browser,
    pytest.mark.enable_socket,  # loopback only: the server binds 127.0.0.1
]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Counter[str]]]:
    from werkzeug.serving import make_server

    from avdual.auth import user_for
    from avdual.demo import seed_companions, submit_all
    from avdual.runtime import LocalRuntime
    from avdual.scenario import load_intakes, load_scenario
    from avdual.server import Gateway

    scenario = load_scenario()
    scenario["companions"] = [dict(c, capacity=3) for c in scenario["companions"]]
    with LocalRuntime(stage="dash", log_level="ERROR") as rt:
        seed_companions(rt, scenario)
        rt.drain()
        submit_all(rt, load_intakes()[:36], drain_every=12)
        truth = Counter(a["status"] for a in rt.scan("assignments"))
        rt.cognito.ensure_user(user_for("office"))
        rt.cognito.ensure_user(user_for("school", school="RFS"))
        httpd = make_server("127.0.0.1", 0, Gateway(rt), threaded=True)
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{httpd.server_port}", truth
        finally:
            httpd.shutdown()
            thread.join(timeout=5)


def test_office_sees_the_right_totals_and_charts(server: tuple[str, Counter[str]], page: Any) -> None:
    from avdual.auth import LOCAL_PASSWORD

    base, truth = server
    page.goto(base + "/dashboard")
    assert page.title() == "AV dual – Dashboard Bildungsbüro"
    page.get_by_label("Benutzername oder E-Mail").fill("buero")
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.locator("body[data-loaded=true]").wait_for()

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
    page.get_by_label("Von").fill("2026-01-01")  # too long a period: the API's German message is shown
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


def test_school_staff_cannot_open_the_dashboard(server: tuple[str, Counter[str]], page: Any) -> None:
    from avdual.auth import LOCAL_PASSWORD, user_for

    base, _ = server
    page.goto(base + "/dashboard")
    page.get_by_label("Benutzername oder E-Mail").fill(user_for("school", school="RFS").username)
    page.get_by_label("Passwort", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.get_by_text("nur für das Bildungsbüro freigegeben").wait_for()
    assert page.locator("#app").is_hidden()
