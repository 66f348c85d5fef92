"""The fpdf2 layout of report HTML (logic/pdf.py) and its failure paths."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from services.reporting.logic import pdf, redact
from services.reporting.logic.pdf import PdfRenderError, html_to_pdf

PAGE = (
    '<!DOCTYPE html><html lang="de"><head><title>Prüfbericht</title><meta name="author" content="Büro">'
    '<meta name="audience" content="intern"></head><body><h1>Prüfbericht</h1>{}</body></html>'
)


def pdf_text(data: bytes, tmp_path: Path) -> str:
    (tmp_path / "t.pdf").write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(tmp_path / "t.pdf"), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext not installed")
def test_text_from_the_data_is_drawn_as_text_never_as_markup(tmp_path: Path) -> None:
    """Class names and reasons come from schools: markers of any markup language stay literal."""
    body = (
        "<table class='list'><caption>Liste</caption><thead><tr><th>Klasse</th><th>Grund</th></tr></thead>"
        "<tbody><tr><td>**AV1** __x__</td>"
        "<td>&lt;b&gt;fett&lt;/b&gt; – Größe ≥ 3 „gut“</td></tr></tbody></table>"
    )
    text = pdf_text(html_to_pdf(PAGE.format(body)), tmp_path)
    assert "**AV1** __x__" in text and "<b>fett</b> – Größe ≥ 3 „gut“" in text
    assert "Seite 1 von 1" in text and "intern" in text and "Büro" in text


def test_only_embedded_png_images_are_drawn(tmp_path: Path) -> None:
    """An image URL is never fetched (a Lambda function renders offline); the page still renders."""
    body = (
        '<figure><img src="https://example.org/x.png" alt="x"><figcaption>Abb.</figcaption></figure><p>ok</p>'
    )
    assert html_to_pdf(PAGE.format(body)).startswith(b"%PDF")


def test_missing_fonts_are_a_render_error_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(pdf, "FONT_FILES", {"": "NoSuchFont.ttf"})
    with pytest.raises(PdfRenderError, match="fonts missing"):
        html_to_pdf(PAGE.format("<p>x</p>"))


def test_an_erasure_deletes_a_pdf_it_cannot_render_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stored PDF still shows the withdrawn student's row: if it cannot be rendered from the redacted HTML
    it is deleted, never kept."""
    ref = "01KB" + "0" * 16 + "AB12"
    row = f'<tr data-ref="{redact.ref_of(ref)}"><td>{redact.ref_of(ref)}</td></tr>'
    html = f"<table><tbody>\n{row}</tbody></table>"
    files = {"r.html": html.encode(), "r.pdf": b"%PDF old"}

    def broken(html: str) -> bytes:
        raise PdfRenderError("layout failed")

    monkeypatch.setattr(redact, "html_to_pdf", broken)
    removed, deleted = redact.redact_files(
        list(files),
        ref,
        read=files.__getitem__,
        write=files.__setitem__,
        delete=files.pop,
    )
    assert (removed, deleted) == (1, ["r.pdf"]) and list(files) == ["r.html"]
    assert redact.ref_of(ref) not in files["r.html"].decode()


def test_a_short_cell_such_as_waiting_days_with_their_marker_stays_on_one_line() -> None:
    """A number with its marker (``207 [> 14]``) next to long text columns keeps one line (it wrapped in the
    Wochenbericht's waitlist: its words alone set the column's minimum); long texts still wrap at words."""
    from services.reporting.logic.pdf import _Cell, _column_widths, _Row

    def row(*texts: str, head: bool = False) -> _Row:
        return _Row([_Cell(t, "L", 1, head, set()) for t in texts], head, set(), False)

    long = " ".join(["Praktikum"] * 12)
    rows = [
        row("Kennung", "Tage bis heute", "Grund", head=True),
        row(long, "207 [> 14]", long),
        row(long, "3", long),
    ]

    def measure(text: str, r: _Row) -> float:
        return float(len(text))  # 1 mm per character

    widths = _column_widths(rows, 100.0, measure, padding=1.4)
    assert abs(sum(widths) - 100.0) < 1e-9
    assert widths[1] >= len("207 [> 14]") + 2 * 1.4  # one line
    assert widths[0] < len(long) and widths[2] < len(long)  # long texts wrap
