"""HTML → PDF with WeasyPrint (A4 layout comes from the template's ``@page`` CSS).

WeasyPrint is imported inside the function: importing it costs about a second and needs pango, so
modules that only build HTML or XLSX stay fast and importable everywhere. The renderer never touches the
network or the file system: the reports are self-contained (inline CSS, charts as ``data:`` URIs) and
any other URL is refused, so a stray link can neither leak data nor slow a Lambda down.
"""

from __future__ import annotations

from typing import Any


def _offline_fetcher() -> Any:
    import weasyprint

    if hasattr(weasyprint, "URLFetcher"):  # WeasyPrint ≥ 68
        return weasyprint.URLFetcher(allowed_protocols={"data"})
    from weasyprint.urls import default_url_fetcher  # older WeasyPrint: function-style fetcher

    def fetch(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith("data:"):
            raise ValueError(f"external resource refused in reports: {url[:80]}")
        return default_url_fetcher(url, *args, **kwargs)

    return fetch


def html_to_pdf(html: str, *, tagged: bool = True) -> bytes:
    """Render an HTML document to PDF bytes.

    ``tagged`` writes a tagged (structured) PDF, so screen readers get headings and table headers;
    title and language come from the document's ``<title>`` and ``<html lang>``."""
    import weasyprint

    document = weasyprint.HTML(string=html, url_fetcher=_offline_fetcher())
    options: dict[str, Any] = {}
    if tagged and "pdf_tags" in weasyprint.DEFAULT_OPTIONS:  # WeasyPrint ≥ 63
        options["pdf_tags"] = True
    pdf = document.write_pdf(**options)
    assert pdf is not None
    return bytes(pdf)
