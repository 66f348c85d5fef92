"""HTML report → PDF with fpdf2, in pure Python (docs/adr/0019-pdf-with-fpdf2.md).

The Lambda Python runtime has no pango, harfbuzz or fontconfig, so an HTML/CSS engine that loads them
(WeasyPrint) cannot run there. This module lays out the report HTML of ``templates/`` – one known
vocabulary: header, ``dl.meta``, sections with ``h2``/``h3``, paragraphs, call-out lists, tables with
caption/thead/tbody/tfoot, figures with ``data:`` PNG charts – on A4 pages with fpdf2, which needs only
Pillow, fontTools and defusedxml (wheels in the reporting layer). The same HTML is the e-mail body and the
HTML download, so the PDF has the same sections, tables and charts, and a redacted HTML (erasure) renders
to the redacted PDF.

Fonts: DejaVu Sans (German umlauts, „“, –, ≥) from ``services/reporting/fonts/`` (the files matplotlib
ships, with their licence), part of the code asset: a function that only re-renders a PDF (the erasure in
the consumer) carries no matplotlib (docs/adr/0024-dependency-layers-per-function.md). Text from the
data (school, class, reason) is only ever drawn as text: no markup language sits between the HTML and the
PDF. Only
``data:image/png`` images are drawn; any other URL is ignored (reports are self-contained, and a Lambda
function must not fetch from the network while rendering).
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

FONT = "DejaVu"
FONTS = Path(__file__).resolve().parent.parent / "fonts"
#: Style suffix (fpdf2) → DejaVu file in :data:`FONTS`.
FONT_FILES = {
    "": "DejaVuSans.ttf",
    "B": "DejaVuSans-Bold.ttf",
    "I": "DejaVuSans-Oblique.ttf",
    "BI": "DejaVuSans-BoldOblique.ttf",
}
BLUE = (31, 78, 121)
GREY = (90, 90, 90)
TEXT = (26, 26, 26)
META_FILL = (242, 245, 248)
HEAD_FILL = (221, 231, 241)
SUM_FILL = (245, 247, 249)
ROW_FILLS = {"warn": (253, 236, 234), "attn": (255, 246, 223)}
CALLOUT = {"": ((192, 0, 0), (253, 236, 234)), "info": (BLUE, (238, 243, 248))}
#: Margins in mm (left, top, right, bottom), as the report's ``@page`` rule.
MARGINS = (20.0, 24.0, 18.0, 20.0)
_VOID = frozenset({"img", "br", "meta", "link", "hr", "input", "col", "source", "wbr"})
_SPACES = re.compile(r"\s+")


class PdfRenderError(RuntimeError):
    """The HTML could not be laid out as a PDF (the HTML and XLSX of the report are unaffected)."""


def font_dir() -> Path:
    """The DejaVu Sans files of the reporting code (``services/reporting/fonts``)."""
    missing = [f for f in FONT_FILES.values() if not (FONTS / f).is_file()]
    if missing:
        raise PdfRenderError(f"fonts missing in {FONTS}: {missing}")
    return FONTS


# ----------------------------------------------------------------------------------------- HTML tree
@dataclass
class Node:
    tag: str
    attrs: dict[str, str] = field(default_factory=dict)
    children: list[Node | str] = field(default_factory=list)

    @property
    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def find(self, tag: str) -> Node | None:
        return next(self.iter(tag), None)

    def iter(self, tag: str) -> Iterator[Node]:
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag:
                    yield child
                yield from child.iter(tag)

    def elements(self) -> list[Node]:
        return [c for c in self.children if isinstance(c, Node)]

    def text(self) -> str:
        return _SPACES.sub(" ", "".join(c if isinstance(c, str) else c.text() for c in self.children)).strip()


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("document")
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):  # tolerate unclosed inner elements
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if self.stack[-1].tag not in ("style", "script"):  # CSS and scripts are not text
            self.stack[-1].children.append(data)


def parse_html(html: str) -> Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


# ----------------------------------------------------------------------------------------- inline runs
@dataclass(frozen=True)
class Run:
    text: str
    style: str = ""  # fpdf2 emphasis: "", "B", "I", "BI"


def runs(node: Node, style: str = "") -> list[Run]:
    """Text of ``node`` as runs of one style each (strong/b → bold, em/i → italic; <br> → newline)."""
    out: list[Run] = []
    for child in node.children:
        if isinstance(child, str):
            text = _SPACES.sub(" ", child)
            if text:
                out.append(Run(text, style))
        elif child.tag == "br":
            out.append(Run("\n", style))
        elif child.tag in ("strong", "b"):
            out += runs(child, "".join(sorted(set(style) | {"B"})))
        elif child.tag in ("em", "i"):
            out += runs(child, "".join(sorted(set(style) | {"I"})))
        elif child.tag == "span" and "badge" in child.classes:
            out.append(Run(f" [{child.text()}]", "".join(sorted(set(style) | {"B"}))))
        elif child.tag not in ("img", "script", "style"):
            out += runs(child, style)
    return _trim(out)


def _trim(items: list[Run]) -> list[Run]:
    """Whitespace at the start and end of a block is not text."""
    while items and not items[0].text.strip():
        items.pop(0)
    while items and not items[-1].text.strip():
        items.pop()
    if items:
        items[0] = Run(items[0].text.lstrip(" "), items[0].style)
        items[-1] = Run(items[-1].text.rstrip(" "), items[-1].style)
    return items


# ----------------------------------------------------------------------------------------- document
def _meta(root: Node, name: str) -> str:
    for m in root.iter("meta"):
        if m.attrs.get("name") == name:
            return m.attrs.get("content", "")
    return ""


def html_to_pdf(html: str) -> bytes:
    """Render a report (or any HTML of the same vocabulary) to PDF bytes.

    Title, author and language come from ``<title>``, ``<meta name="author">`` and ``<html lang>``; the
    running header shows the issuer and the ``h1``, the footer ``<meta name="audience">`` and "Seite n von
    m". Raises :class:`PdfRenderError` when the PDF cannot be produced."""
    try:
        return _Renderer(parse_html(html)).render()
    except PdfRenderError:
        raise
    except Exception as e:  # any layout failure of the library: the caller keeps HTML and XLSX
        raise PdfRenderError(f"{type(e).__name__}: {e}") from e


class _Renderer:
    def __init__(self, root: Node) -> None:
        from fpdf import FPDF

        self.root = root
        html = root.find("html") or root
        title_node = root.find("title")
        h1 = root.find("h1")
        self.title = title_node.text() if title_node else ""
        self.issuer = _meta(root, "author")
        self.audience = _meta(root, "audience")
        self.heading = h1.text() if h1 else self.title
        renderer = self

        class Page(FPDF):  # type: ignore[misc]
            def header(self) -> None:
                renderer.running_header()

            def footer(self) -> None:
                renderer.running_footer()

        pdf = Page(orientation="portrait", unit="mm", format="A4")
        left, top, right, bottom = MARGINS
        pdf.set_margins(left, top, right)
        pdf.set_auto_page_break(True, margin=bottom)
        fonts = font_dir()
        for style, file in FONT_FILES.items():
            pdf.add_font(FONT, style, str(fonts / file))
        pdf.set_title(self.title)
        pdf.set_author(self.issuer)
        pdf.set_creator("AV dual-Plattform")
        pdf.set_lang(html.attrs.get("lang", "de"))
        pdf.alias_nb_pages()
        self.pdf = pdf

    def text_height(self, width: float, size: float, text: str) -> float:
        """Height (mm) ``text`` takes in the current font at ``width``."""
        height: Any = self.pdf.multi_cell(width, size * 0.48, text, dry_run=True, output="HEIGHT")
        return float(height)

    # ------------------------------------------------------------------ page furniture
    def font(self, size: float, style: str = "", color: tuple[int, int, int] = TEXT) -> None:
        self.pdf.set_font(FONT, style, size)
        self.pdf.set_text_color(*color)

    def running_header(self) -> None:
        pdf = self.pdf
        self.font(7, color=GREY)
        pdf.set_xy(pdf.l_margin, 12)
        pdf.cell(pdf.epw / 2, 4, self.issuer)
        pdf.cell(pdf.epw / 2, 4, self.heading, align="R")
        pdf.set_draw_color(200, 208, 216)
        pdf.line(pdf.l_margin, 17, pdf.w - pdf.r_margin, 17)
        pdf.set_xy(pdf.l_margin, pdf.t_margin)

    def running_footer(self) -> None:
        pdf = self.pdf
        self.font(7, color=GREY)
        pdf.set_xy(pdf.l_margin, pdf.h - 13)
        pdf.cell(pdf.epw * 0.7, 4, self.audience)
        pdf.cell(pdf.epw * 0.3, 4, f"Seite {pdf.page_no()} von {{nb}}", align="R")

    # ------------------------------------------------------------------ blocks
    def render(self) -> bytes:
        self.pdf.add_page()
        body = self.root.find("body") or self.root
        self.blocks(body)
        return bytes(self.pdf.output())

    def blocks(self, node: Node, size: float = 9.0) -> None:
        children = node.children
        for i, child in enumerate(children):
            if isinstance(child, str):
                if child.strip():
                    self.paragraph([Run(_SPACES.sub(" ", child).strip())], size)
                continue
            if child.tag in ("h2", "h3") and self.pdf.will_page_break(
                self.keep_with_next(children[i:], size)
            ):
                self.pdf.add_page()  # a heading goes to the page where its section's content starts
            self.block(child, size)

    def keep_with_next(self, siblings: list[Node | str], size: float) -> float:
        """Height (mm) of a heading, the paragraphs after it and the beginning of the first table or figure
        that follows: kept on one page."""
        pdf = self.pdf
        height = 0.0
        for j, node in enumerate(siblings):
            if isinstance(node, str):
                continue
            if j and node.tag in ("h2", "h3"):
                break
            if node.tag in ("h2", "h3"):
                height += 12
            elif node.tag == "p":
                self.font(size)
                height += self.text_height(pdf.epw, size, node.text()) + 2
            elif node.tag in ("table", "div", "figure", "ul"):
                height += 45 if node.tag == "figure" else 35
                break
        return min(height, 120.0)

    def block(self, node: Node, size: float) -> None:  # noqa: C901 - one branch per element kind
        tag, classes = node.tag, node.classes
        if tag == "header" and "doc" in classes:
            self.document_header(node)
        elif tag == "dl":
            self.definition_list(node)
        elif tag in ("h1", "h2", "h3", "h4"):
            self.heading_block(node, tag)
        elif tag == "p":
            self.paragraph_block(node, size)
        elif tag in ("ul", "ol"):
            self.list_block(node, size)
        elif tag == "table":
            self.table(node)
        elif tag == "figure":
            self.figure(node)
        elif tag == "img":
            self.image(node, None)
        elif tag == "div" and "downloads" in classes:
            self.boxed(runs(node), size, BLUE, (238, 243, 248))
        elif tag == "section" and "notes" in classes:
            self.blocks(node, 8.0)
        elif tag in ("style", "script", "head", "title", "meta", "link"):
            return
        else:  # section, main, div, article, …: their content
            self.blocks(node, size)

    def document_header(self, node: Node) -> None:
        pdf = self.pdf
        top = pdf.get_y()
        for child in node.elements():
            if child.tag == "p" and "issuer" in child.classes:
                self.font(8, color=BLUE)
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(pdf.epw - 4, 4, child.text().upper(), new_x="LMARGIN", new_y="NEXT")
            elif child.tag == "h1":
                self.font(18, "B", BLUE)
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(pdf.epw - 4, 8, child.text(), new_x="LMARGIN", new_y="NEXT")
            elif child.tag == "p" and child.text():
                self.font(11, color=(51, 51, 51))
                pdf.set_x(pdf.l_margin + 4)
                pdf.multi_cell(pdf.epw - 4, 5.5, child.text(), new_x="LMARGIN", new_y="NEXT")
        pdf.set_fill_color(*BLUE)
        pdf.rect(pdf.l_margin, top, 1.6, pdf.get_y() - top, style="F")
        pdf.ln(4)

    def definition_list(self, node: Node) -> None:
        pairs: list[tuple[str, str]] = []
        term = ""
        for child in node.elements():
            if child.tag == "dt":
                term = child.text()
            elif child.tag == "dd":
                pairs.append((term, child.text()))
        if not pairs:
            return
        pdf = self.pdf
        self.font(8, "B")
        widths = [max(pdf.get_string_width(t) for t, _ in pairs) + 6]
        self.font(8)
        widths.append(pdf.epw - widths[0])
        from fpdf.fonts import FontFace

        with pdf.table(
            col_widths=widths,
            first_row_as_headings=False,
            borders_layout="NONE",
            cell_fill_color=META_FILL,
            cell_fill_mode="ALL",
            line_height=4.2,
            padding=(0.6, 2),
            text_align="LEFT",
        ) as table:
            for t, d in pairs:
                row = table.row()
                row.cell(t, style=FontFace(emphasis="BOLD"))
                row.cell(d)
        pdf.ln(5)

    def heading_block(self, node: Node, tag: str) -> None:
        pdf = self.pdf
        size, space = {"h1": (16, 30), "h2": (12, 40), "h3": (10, 30), "h4": (9, 25)}[tag]
        if pdf.will_page_break(space):  # no heading alone at the bottom of a page
            pdf.add_page()
        pdf.ln(4 if tag == "h2" else 2)
        self.font(size, "B", BLUE if tag in ("h1", "h2") else TEXT)
        pdf.multi_cell(0, size * 0.5, node.text(), new_x="LMARGIN", new_y="NEXT")
        if tag == "h2":
            pdf.set_draw_color(*BLUE)
            pdf.set_line_width(0.3)
            pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
            pdf.set_line_width(0.2)
            pdf.ln(2.5)
        else:
            pdf.ln(1)

    def paragraph_block(self, node: Node, size: float) -> None:
        classes = node.classes
        if classes & {"note", "tablenote"}:
            self.paragraph(runs(node), min(size, 7.5), GREY, after=2.5)
        elif "lead" in classes:
            self.paragraph(runs(node), size, (51, 51, 51))
        elif "muted" in classes:
            self.paragraph(runs(node), size, GREY)
        else:
            self.paragraph(runs(node), size)

    def paragraph(
        self, items: list[Run], size: float, color: tuple[int, int, int] = TEXT, after: float = 1.5
    ) -> None:
        if not items:
            return
        pdf = self.pdf
        pdf.set_x(pdf.l_margin)
        for run in items:
            self.font(size, run.style, color)
            pdf.write(size * 0.48, run.text)
        pdf.ln(size * 0.48)
        pdf.ln(after)

    def boxed(
        self, items: list[Run], size: float, bar: tuple[int, int, int], fill: tuple[int, int, int]
    ) -> None:
        """Runs in a shaded box with a coloured bar on the left (call-outs, download links)."""
        if not items:
            return
        pdf = self.pdf
        inner = pdf.epw - 7
        self.font(size, "B")  # bold is the widest style: the box is never too small
        text = "".join(r.text for r in items)
        height = self.text_height(inner, size, text) + 3
        if pdf.will_page_break(height):
            pdf.add_page()
        top = pdf.get_y()
        pdf.set_fill_color(*fill)
        pdf.rect(pdf.l_margin, top, pdf.epw, height, style="F")
        pdf.set_fill_color(*bar)
        pdf.rect(pdf.l_margin, top, 1.2, height, style="F")
        left = pdf.l_margin
        pdf.set_left_margin(left + 4)
        pdf.set_right_margin(pdf.r_margin + 3)
        pdf.set_xy(left + 4, top + 1.5)
        for run in items:
            self.font(size, run.style)
            pdf.write(size * 0.48, run.text)
        pdf.set_left_margin(left)
        pdf.set_right_margin(pdf.r_margin - 3)
        pdf.set_xy(left, top + height + 1)

    def list_block(self, node: Node, size: float) -> None:
        callouts = "callouts" in node.classes
        for i, item in enumerate(node.iter("li"), start=1):
            if callouts:
                colors = CALLOUT["info" if "info" in item.classes else ""]
                self.boxed(runs(item), size, *colors)
            else:
                bullet = f"{i}. " if node.tag == "ol" else "• "
                self.paragraph([Run(bullet), *runs(item)], size, after=0.8)
        self.pdf.ln(1.5)

    # ------------------------------------------------------------------ figures
    def figure(self, node: Node) -> None:
        img = node.find("img")
        caption = node.find("figcaption")
        if img is not None:
            self.image(img, caption.text() if caption else None)

    def image(self, img: Node, caption: str | None) -> None:
        src = img.attrs.get("src", "")
        match = re.match(r"data:image/png;base64,([A-Za-z0-9+/=\s]+)$", src)
        if match is None:
            return  # not self-contained: never fetched
        data = base64.b64decode(match.group(1))
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            ratio = im.height / im.width
        pdf = self.pdf
        width = pdf.epw
        height = width * ratio
        if pdf.will_page_break(height + (8 if caption else 2)):
            pdf.add_page()
        pdf.image(io.BytesIO(data), x=pdf.l_margin, w=width, h=height, alt_text=img.attrs.get("alt") or None)
        pdf.set_y(pdf.get_y() + 1)
        if caption:
            self.paragraph([Run(caption)], 7.5, GREY, after=3)

    # ------------------------------------------------------------------ tables
    def table(self, node: Node) -> None:
        from fpdf.enums import TableCellFillMode
        from fpdf.fonts import FontFace

        rows = _table_rows(node)
        if not rows:
            return
        caption = node.find("caption")
        pdf = self.pdf
        classes = node.classes
        size = 7.2 if "wide" in classes else 8.0
        head_size = size - 0.8

        def measure(text: str, row: _Row) -> float:
            self.font(head_size if row.head else size, "B" if row.head or row.foot else "")
            return float(pdf.get_string_width(text))

        widths = _column_widths(rows, pdf.epw, measure, padding=1.4)
        head_rows = sum(1 for r in rows if r.head)
        if pdf.will_page_break(min(60.0, 9.0 + 5.5 * (head_rows + 3))):  # caption + header + 3 rows together
            pdf.add_page()
        if caption is not None:
            self.font(8.5, "B")
            pdf.multi_cell(0, 4.2, caption.text(), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(0.8)
        self.font(size)
        pdf.set_draw_color(200, 208, 216)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(
            col_widths=widths,
            first_row_as_headings=head_rows > 0,
            num_heading_rows=max(head_rows, 1) if head_rows else 1,
            repeat_headings=1,
            headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL, color=TEXT, size_pt=head_size),
            borders_layout="HORIZONTAL_LINES",
            line_height=size * 0.5,
            padding=(0.9, 1.4),
            cell_fill_mode=TableCellFillMode.NONE,
            v_align="TOP",
        ) as table:
            for r in rows:
                row = table.row()
                for c in r.cells:
                    row.cell(c.text, align=c.align, colspan=c.colspan, style=_cell_style(r, c, size))
        pdf.ln(2)


@dataclass
class _Cell:
    text: str
    align: str
    colspan: int
    header: bool
    classes: set[str]


@dataclass
class _Row:
    cells: list[_Cell]
    head: bool
    classes: set[str]
    foot: bool


def _table_rows(table: Node) -> list[_Row]:
    out: list[_Row] = []
    for section in table.elements():
        if section.tag == "tr":
            trs = [section]
        elif section.tag in ("thead", "tbody", "tfoot"):
            trs = [e for e in section.elements() if e.tag == "tr"]
        else:
            continue
        for tr in trs:
            cells = [
                _Cell(
                    text=" ".join(r.text for r in runs(cell)).strip() or " ",
                    align="RIGHT" if "n" in cell.classes else "LEFT",
                    colspan=int(cell.attrs.get("colspan", "1") or 1),
                    header=cell.tag == "th",
                    classes=cell.classes,
                )
                for cell in tr.elements()
                if cell.tag in ("td", "th")
            ]
            if cells:
                out.append(_Row(cells, section.tag == "thead", tr.classes, section.tag == "tfoot"))
    # a header row must come first for fpdf2; a table without <thead> has none
    return sorted(out, key=lambda r: not r.head)


def _cell_style(row: _Row, cell: _Cell, size: float) -> Any:
    from fpdf.fonts import FontFace

    if row.head:
        return None
    bold = row.foot or "sum" in row.classes or "tot" in cell.classes
    fill = ROW_FILLS.get(next(iter(row.classes & set(ROW_FILLS)), ""))
    if bold:
        fill = fill or SUM_FILL
    fill = fill or (255, 255, 255)
    if "supp" in cell.classes:
        return FontFace(emphasis="ITALICS", color=GREY, fill_color=fill, size_pt=size)
    return FontFace(emphasis="BOLD" if bold else None, color=TEXT, fill_color=fill, size_pt=size)


SHORT_TEXT_MM = 22.0
"""A body cell's text up to this width (mm) is never broken across lines."""


def _column_widths(rows: list[_Row], total: float, measure: Any, padding: float) -> list[float]:
    """Column widths (mm): every column at least as wide as its longest word (header words in the header
    font) and a short body text (a number with its marker such as ``207 [> 14]``, a date) on one line, the
    remaining width shared by how much more each column's longest text would need; the label column gets at
    least a fifth. ``measure(text, row)`` is the width in mm in the row's font."""
    columns = max(sum(c.colspan for c in r.cells) for r in rows)
    minimum = [6.0] * columns
    wanted = [6.0] * columns
    for r in rows:
        if any(c.colspan > 1 for c in r.cells):
            continue
        for i, c in enumerate(r.cells[:columns]):
            words = max((measure(w, r) for w in c.text.split()), default=0.0)
            whole = measure(c.text, r)
            unbroken = whole if not r.head and whole <= SHORT_TEXT_MM else words
            minimum[i] = max(minimum[i], unbroken + 2 * padding + 0.5)
            wanted[i] = max(wanted[i], min(whole, 70.0) + 2 * padding + 0.5)
    minimum[0] = max(minimum[0], min(wanted[0], total / 5))
    spare = total - sum(minimum)
    if spare <= 0:
        return [total * m / sum(minimum) for m in minimum]
    extra = [max(w - m, 0.0) for w, m in zip(wanted, minimum, strict=True)]
    if sum(extra) <= spare:  # everything fits on one line: give the rest to the first column
        widths = [m + e for m, e in zip(minimum, extra, strict=True)]
        widths[0] += total - sum(widths)
        return widths
    return [m + spare * e / sum(extra) for m, e in zip(minimum, extra, strict=True)]
