"""Report templates → HTML → PDF → PNG, with crafted contexts (see conftest.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from reporting_contexts import environment, school_year_context, weekly_context

from services.reporting.logic.pdf import html_to_pdf

PDFTOPPM = "/usr/bin/pdftoppm"


class Tables(HTMLParser):
    """Collects, per <table>, its class and the text of its data cells (<td>)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[str]]] = []
        self._cell: list[str] | None = None
        self.images: list[dict[str, str | None]] = []
        self.row_headers = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("class") or "", []))
        elif tag == "td":
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "th" and a.get("scope") == "row":
            self.row_headers += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.tables[-1][1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse(html: str) -> Tables:
    p = Tables()
    p.feed(html)
    return p


def assert_no_small_counts(html: str) -> Tables:
    p = parse(html)
    stat = [cells for cls, cells in p.tables if "stat" in cls.split()]
    assert stat, "no statistical tables found"
    for cells in stat:
        numbers = [c.replace(".", "") for c in cells]
        assert not [c for c in numbers if c in ("1", "2")], cells
    return p


def render(name: str, ctx: dict, strict: bool = True) -> str:
    return environment(strict).get_template(name).render(**ctx)


def assert_pdf_renders(pdf: bytes, tmp_path: Path) -> None:
    assert pdf.startswith(b"%PDF")
    if not Path(PDFTOPPM).exists():
        pytest.skip("pdftoppm not installed")
    (tmp_path / "r.pdf").write_bytes(pdf)
    subprocess.run(
        [PDFTOPPM, "-png", "-r", "50", str(tmp_path / "r.pdf"), str(tmp_path / "page")],
        check=True,
        timeout=60,
    )
    pages = sorted(tmp_path.glob("page*.png"))
    assert pages and pages[0].read_bytes().startswith(b"\x89PNG")


def test_weekly_report_renders_to_pdf_with_exact_counts(tmp_path: Path) -> None:
    html = render("weekly.html.j2", weekly_context())
    p = parse(html)
    stat = [c for cls, cells in p.tables if "stat" in cls.split() for c in cells]
    assert "1" in stat and not {"<3", "x"} & set(stat)  # internal report: nothing withheld
    assert '<html lang="de">' in html and "Wochenbericht AV dual" in html and "KW 48/2026" in html
    for heading in (
        "Auf einen Blick",
        "Was in KW 48/2026 geschah",
        "So passen Woche und Stand zusammen",
        "Stand nach Schule",
        "Warteliste",
        "Auslastung der AV dual-Begleiter/innen",
        "Betreuungsschlüssel je Schule",
    ):
        assert heading in html
    assert "Wochenbeginn + Zugänge − Abgänge = Stand" in html
    assert "länger als 14 Tage" in html and "Vollständig ausgelastet" in html
    assert len(p.images) == 2
    assert all(i["src"].startswith("data:image/png;base64,") and i["alt"] for i in p.images)  # type: ignore[union-attr]
    assert p.row_headers > 10 and 'scope="col"' in html
    assert_pdf_renders(html_to_pdf(html), tmp_path)


def test_school_year_report_renders_to_pdf_without_small_counts(tmp_path: Path) -> None:
    html = render("school_year.html.j2", school_year_context())
    p = assert_no_small_counts(html)
    assert "Schuljahresbericht AV dual 2026/27" in html
    for caption in (
        "Geschlecht",
        "Alter",
        "Sprachförderbedarf",
        "Austritte nach Schule und Grund",
        "Verbleib",
        "Übergänge in Ausbildung",
        "im Vergleich zu 2025/26",
    ):
        assert caption in html
    assert "ehemaligen Praktikumsbetrieb" in html and re.search(r"\d+,\d %", html)
    assert len(p.images) == 1
    assert_pdf_renders(html_to_pdf(html), tmp_path)


def test_templates_render_with_minimal_contexts() -> None:
    weekly = render(
        "weekly.html.j2",
        {
            "school_year": "2026/27",
            "week": weekly_context()["week"],
            "generated_at": datetime(2026, 8, 3, 7),
            "report_id": "01X",
        },
        strict=False,
    )
    assert "Zurzeit wartet niemand" in weekly and "Keine Daten vorhanden" in weekly and "<img" not in weekly
    as_dicts = dict(weekly_context(), status_by_school=weekly_context()["status_by_school"].as_dict())
    assert render("weekly.html.j2", as_dicts) == render("weekly.html.j2", weekly_context())
    year = render(
        "school_year.html.j2",
        {
            "school_year": "2026/27",
            "previous_school_year": None,
            "generated_at": datetime(2027, 7, 31, 7),
            "report_id": "01Y",
        },
        strict=False,
    )
    assert "keine vergleichbaren Daten" in year and "<img" not in year


def test_pdf_rendering_refuses_external_resources() -> None:
    """Reports are self-contained; a stray URL is refused instead of fetched (sockets are off here)."""
    html = (
        '<!DOCTYPE html><html lang="de"><head><title>t</title>'
        '<link rel="stylesheet" href="https://example.org/x.css"></head>'
        '<body><img src="http://example.org/x.png" alt="x"><p>Hallo</p></body></html>'
    )
    assert html_to_pdf(html).startswith(b"%PDF")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed")
def test_pdf_text_is_german_and_a4(tmp_path: Path) -> None:
    pdf = html_to_pdf(render("school_year.html.j2", school_year_context()))
    (tmp_path / "r.pdf").write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Schuljahresbericht AV dual 2026/27" in text and "Seite 1 von" in text
    info = subprocess.run(
        ["pdfinfo", str(tmp_path / "r.pdf")], capture_output=True, text=True, check=True
    ).stdout
    assert re.search(r"Page size:\s+595\.\d+ x 841\.\d+", info)  # A4 in points
