"""Generated class lists as schools save them (hypothesis): CSV in every encoding and separator Excel and
other tools write, with or without BOM, blank rows anywhere (empty, whitespace, separators only), sizes
around the row limit; and XLSX with blank rows and empty extra sheets.

A :class:`GeneratedList` knows its students independently of the parser, so a test can check that the
parser returns exactly those rows, in file order.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date

import openpyxl
from hypothesis import strategies as st

from services.intake.logic.classlist import BY_FIELD, MAX_ROWS, REQUIRED

#: The required columns (as the parser names them) and two more.
HEADER = [*(BY_FIELD[f].header for f in REQUIRED), "Einwilligung Eltern", "Bemerkung"]
#: Given names that Windows-1252 can encode (the cp1252 files), with umlauts and accents.
GIVEN = ["Zeynep", "Jürgen", "Chloé", "Ölçay", "Maël", "Björn", "Ana Sofía", "Jean-Luc", "D'Angelo", "Ruß"]
#: (codec, BOM written in front): what Excel, LibreOffice and text editors write.
ENCODINGS: list[tuple[str, bytes]] = [
    ("utf-8", b""),
    ("utf-8", b"\xef\xbb\xbf"),
    ("cp1252", b""),
    ("utf-16-le", b"\xff\xfe"),  # Excel "Unicode-Text"
    ("utf-16-le", b""),
    ("utf-16-be", b"\xfe\xff"),
    ("utf-16-be", b""),
]
SEPARATORS = [";", ",", "\t"]


def student(i: int) -> list[str]:
    """Data row ``i``: the given name carries the index, so order and completeness can be checked."""
    return [
        f"{GIVEN[i % len(GIVEN)]} {chr(65 + i % 26)}{i}",
        f"Muster-{i}",
        f"{i % 28 + 1:02d}.03.2010",
        "wmd"[i % 3],
        "ja",
        "15.09.2026",
        "AVd1a",
        "EV-1",
        "ja",
        f"Praktikum {i}; Kontakt, gern\tja",  # separators inside a quoted cell
    ]


@dataclass
class GeneratedList:
    content: bytes
    students: int
    description: str

    def expected_given_names(self) -> list[str]:
        return [student(i)[0] for i in range(self.students)]


def _blank_row(rng: random.Random, sep: str) -> str:
    return rng.choice(["", "   ", sep * (len(HEADER) - 1), " " + sep + " " + sep])


def _csv(n: int, sep: str, encoding: str, bom: bytes, newline: str, blank_share: float, seed: int) -> bytes:
    rng = random.Random(seed)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator=newline)
    lines: list[str] = []

    def row(cells: list[str]) -> str:
        buf.seek(0)
        buf.truncate()
        writer.writerow(cells)
        return buf.getvalue()

    lines += [_blank_row(rng, sep) + newline for _ in range(rng.choice([0, 0, 1, 2]))]
    lines.append(row(HEADER))
    for i in range(n):
        while rng.random() < blank_share:
            lines.append(_blank_row(rng, sep) + newline)
        lines.append(row(student(i)))
    lines += [_blank_row(rng, sep) + newline for _ in range(rng.choice([0, 1, 3]))]
    return bom + "".join(lines).encode(encoding)


def _xlsx(n: int, blank_share: float, seed: int, empty_sheets: int) -> bytes:
    rng = random.Random(seed)
    wb = openpyxl.Workbook()
    ws = wb.active
    for _ in range(rng.choice([0, 1])):
        ws.append([None])
    ws.append(HEADER)
    for i in range(n):
        while rng.random() < blank_share:
            ws.append([None] * len(HEADER) if rng.random() < 0.5 else ["  "])
        cells: list[object] = list(student(i))
        cells[2] = date(2010, 3, i % 28 + 1)
        ws.append(cells)
    for k in range(empty_sheets):
        wb.create_sheet(f"Tabelle{k + 2}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


#: Data rows: a few, or around the limit (the limit itself, one over, two over).
SIZES = st.one_of(st.integers(0, 12), st.integers(MAX_ROWS - 2, MAX_ROWS + 2))


@st.composite
def csv_class_lists(draw: st.DrawFn, sizes: st.SearchStrategy[int] = SIZES) -> GeneratedList:
    n = draw(sizes)
    sep = draw(st.sampled_from(SEPARATORS))
    encoding, bom = draw(st.sampled_from(ENCODINGS))
    newline = draw(st.sampled_from(["\r\n", "\n"]))
    blank_share = draw(st.sampled_from([0.0, 0.1, 0.5, 0.7]))
    seed = draw(st.integers(0, 2**32 - 1))
    content = _csv(n, sep, encoding, bom, newline, blank_share, seed)
    label = f"csv n={n} sep={sep!r} {encoding} bom={bool(bom)} newline={newline!r} blanks={blank_share}"
    return GeneratedList(content, n, label)


@st.composite
def xlsx_class_lists(draw: st.DrawFn, sizes: st.SearchStrategy[int] = SIZES) -> GeneratedList:
    n = draw(sizes)
    blank_share = draw(st.sampled_from([0.0, 0.3, 0.6]))
    seed = draw(st.integers(0, 2**32 - 1))
    empty_sheets = draw(st.integers(0, 2))
    return GeneratedList(_xlsx(n, blank_share, seed, empty_sheets), n, f"xlsx n={n} blanks={blank_share}")


def class_lists(sizes: st.SearchStrategy[int] = SIZES) -> st.SearchStrategy[GeneratedList]:
    return st.one_of(csv_class_lists(sizes), xlsx_class_lists(sizes))
