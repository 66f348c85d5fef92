"""Class lists (Klassenlisten) as CSV or XLSX → one raw intake form per row (pure parsing, no AWS).

The first non-empty row is the header; German column names as schools write them are recognised
(case, umlauts, spaces and punctuation do not matter, see :data:`COLUMNS`). CSV may use ``;``
(German Excel), ``,`` or tabs and UTF-8 (with or without BOM), Windows-1252 or UTF-16 (Excel's
"Unicode-Text": tab-separated, with or without BOM). Cells are converted leniently (``ja``/``x``,
``17.05.2010``, ``w``/``m``/``d``, ``Türkisch``/``tr``); anything not understood is passed on
unchanged so the form validation reports it for that row and column.

Every non-blank data row is returned (and so stored or reported invalid), or the whole file is refused:
blank rows (also rows of separators only) are skipped and never count toward :data:`MAX_ROWS`; a file
with more non-blank data rows than that, or an Excel file with content on a second sheet, is refused
(docs/adr/0014-class-lists-never-lose-a-student.md).
File-level problems (unreadable, missing required columns, too many rows) raise
``DomainValidationError`` with field ``file``; messages never quote file content.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from common.errors import DomainValidationError, FieldError
from contracts.reference import CAREER_FIELDS, LANGUAGES

MAX_ROWS = 500
MAX_COLUMNS = 60
MAX_UNZIPPED_BYTES = 20 * 1024 * 1024
XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"

Converter = Callable[[Any], Any]


def _fail(message: str) -> DomainValidationError:
    return DomainValidationError([FieldError(field="file", message=message)])


def _norm(text: str) -> str:
    text = text.lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    return re.sub(r"[^a-z0-9]", "", text)


# --------------------------------------------------------------------------- cell converters
def _text(value: Any) -> Any:
    return value


def _date(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", str(value))
    if m:
        try:
            return date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        except ValueError:
            return str(value)
    return str(value)


_TRUE = {"ja", "j", "x", "1", "true", "wahr", "yes", "y"}
_FALSE = {"nein", "n", "0", "false", "falsch", "no", "-"}


def _bool(value: Any) -> Any:
    key = _norm(str(value)) or str(value).strip()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    return str(value)


_GENDERS = {
    "w": "weiblich",
    "weiblich": "weiblich",
    "m": "maennlich",
    "maennlich": "maennlich",
    "d": "divers",
    "divers": "divers",
    "ka": "keine_angabe",
    "keineangabe": "keine_angabe",
    "x": "keine_angabe",
}


def _gender(value: Any) -> Any:
    return _GENDERS.get(_norm(str(value)), str(value))


_LANGUAGE_NAMES = {_norm(name): code for code, name in LANGUAGES.items()}


def _language(value: Any) -> Any:
    key = _norm(str(value))
    if key in LANGUAGES:
        return key
    return _LANGUAGE_NAMES.get(key, str(value))


def _split(value: Any) -> list[str]:
    return [p.strip() for p in re.split(r"[,;/|+]", str(value)) if p.strip()]


def _languages(value: Any) -> Any:
    return [_language(p) for p in _split(value)]


_FIELD_NAMES = {_norm(label.split(",")[0]): code for code, label in CAREER_FIELDS.items()}


def _career_fields(value: Any) -> Any:
    out = []
    for p in _split(value):
        key = _norm(p)
        out.append(key if key in CAREER_FIELDS else _FIELD_NAMES.get(key, p))
    return out


def _track(value: Any) -> Any:
    key = _norm(str(value))
    if "fsr" in key or "fachschulreife" in key:
        return "av_dual_fsr"
    if key in ("avdual", "avd", "av"):
        return "av_dual"
    return str(value)


_CERTIFICATES = {
    "kein": "none",
    "keiner": "none",
    "ohne": "none",
    "none": "none",
    "hsa": "hauptschulabschluss",
    "hauptschulabschluss": "hauptschulabschluss",
    "anderer": "other",
    "sonstiger": "other",
    "other": "other",
}


def _certificate(value: Any) -> Any:
    return _CERTIFICATES.get(_norm(str(value)), str(value))


def _internship(value: Any) -> Any:
    key = _norm(str(value))
    if key.startswith("block"):
        return "block"
    if key in ("tage", "wochentage", "tageprowoche", "weekly", "weeklydays", "woechentlich"):
        return "weekly_days"
    return str(value)


def _integer(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip()
    return int(text) if text.isdigit() and len(text) < 4 else text


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    aliases: tuple[str, ...]
    convert: Converter = _text

    def names(self) -> set[str]:
        return {_norm(self.header), *(_norm(a) for a in self.aliases)}


COLUMNS: tuple[Column, ...] = (
    Column("student.given_name", "Vorname", ("Rufname", "Vornamen"), _text),
    Column("student.family_name", "Nachname", ("Familienname", "Name"), _text),
    Column("student.date_of_birth", "Geburtsdatum", ("Geb.-Datum", "Geboren am", "Geburtstag"), _date),
    Column("student.gender", "Geschlecht", (), _gender),
    Column("student.phone", "Telefon", ("Tel.", "Handy", "Mobil"), _text),
    Column("student.email", "E-Mail", ("Mail", "Email"), _text),
    Column("student.languages", "Sprachen", ("Sprache",), _languages),
    Column(
        "student.parent_contact_language",
        "Sprache Elternkontakt",
        ("Elternsprache", "Sprache der Eltern"),
        _language,
    ),
    Column("class_name", "Klasse", (), _text),
    Column("track", "Bildungsgang", (), _track),
    Column("certificate_on_entry", "Abschluss", ("Schulabschluss", "Abschluss bei Eintritt"), _certificate),
    Column("german_support", "Deutschförderung", ("Sprachförderung",), _bool),
    Column("vabo_before", "VABO", ("vorher VABO", "VABO besucht"), _bool),
    Column("career_fields", "Berufsfelder", ("Berufsfeld",), _career_fields),
    Column("wished_job", "Wunschberuf", (), _text),
    Column("internship_model", "Praktikumsmodell", ("Praktikum",), _internship),
    Column("internship_days_per_week", "Praktikumstage pro Woche", ("Praktikumstage",), _integer),
    Column(
        "preferences.companion_gender", "Wunsch Geschlecht Begleitung", ("Geschlecht Begleitung",), _gender
    ),
    Column("preferences.previous_companion_id", "Frühere Begleitung", ("Bisherige Begleitung",), _text),
    Column("remark", "Bemerkung", ("Hinweis",), _text),
    Column("consent.student", "Einwilligung Schüler/in", ("Einwilligung Schüler", "Einwilligung"), _bool),
    Column("consent.given_on", "Datum Einwilligung", ("Einwilligung am", "Einwilligungsdatum"), _date),
    Column(
        "consent.text_version",
        "Version Einwilligungstext",
        ("Einwilligungstext", "Version Einwilligung"),
        _text,
    ),
    Column("consent.guardian", "Einwilligung Erziehungsberechtigte", ("Einwilligung Eltern",), _bool),
    Column(
        "consent.guardian_given_on",
        "Datum Einwilligung Erziehungsberechtigte",
        ("Datum Einwilligung Eltern",),
        _date,
    ),
    Column("consent.guardian_text_version", "Version Einwilligungstext Erziehungsberechtigte", (), _text),
    Column("consent.data_transfer_county", "Weitergabe an den Landkreis", ("Weitergabe Landkreis",), _bool),
    Column("consent.company_contact", "Kontakt mit Betrieben", ("Kontakt Betriebe",), _bool),
    Column("consent.anonymised_statistics", "Anonyme Statistik", ("Statistik",), _bool),
)
BY_FIELD = {c.field: c for c in COLUMNS}
_BY_NAME = {name: c for c in COLUMNS for name in c.names()}
REQUIRED = (
    "student.given_name",
    "student.family_name",
    "student.date_of_birth",
    "student.gender",
    "consent.student",
    "consent.given_on",
    "class_name",
    "consent.text_version",
)


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA (as spreadsheets name columns)."""
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


@dataclass
class ClassList:
    """Parsed rows: (line number in the file, {field path: converted cell}) plus ignored column letters."""

    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @staticmethod
    def column_of(field_path: str) -> str | None:
        """The German column header for an error on ``field_path`` (``student.given_name`` → ``Vorname``)."""
        parts = field_path.split(".")
        for n in range(len(parts), 0, -1):
            col = BY_FIELD.get(".".join(parts[:n]))
            if col:
                return col.header
        return None


# --------------------------------------------------------------------------- readers
Row = tuple[int, list[Any]]
"""(line or row number in the file, cells)."""

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def _utf16_without_bom(content: bytes) -> str | None:
    """``utf-16-le``/``utf-16-be`` when the start of ``content`` looks like UTF-16 without a BOM (mostly
    ASCII text: every other byte is NUL), else None."""
    sample = content[:4096]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    odd_nuls = sample[1::2].count(0)
    even_nuls = sample[0::2].count(0)
    if odd_nuls >= pairs * 0.3 and even_nuls == 0:
        return "utf-16-le"
    if even_nuls >= pairs * 0.3 and odd_nuls == 0:
        return "utf-16-be"
    return None


def _decode(content: bytes) -> str:
    """The text of a CSV file: UTF-16 (BOM or NUL pattern), else UTF-8 (BOM optional), else Windows-1252."""
    if content.startswith(_UTF16_BOMS):
        encodings: tuple[str, ...] = ("utf-16",)
    elif utf16 := _utf16_without_bom(content):
        encodings = (utf16,)
    else:
        encodings = ("utf-8-sig", "cp1252")
    for encoding in encodings:
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _fail("Die Zeichenkodierung der Datei wurde nicht erkannt (bitte als CSV UTF-8 speichern).")


def _blank(cells: list[Any]) -> bool:
    return not any(str(c).strip() for c in cells)


def _non_blank(rows: Iterator[Row]) -> list[Row]:
    """The non-blank rows, read up to one more than a file may have (header + :data:`MAX_ROWS` + 1), so a
    longer file is refused in :func:`parse` instead of being cut short."""
    out: list[Row] = []
    for n, cells in rows:
        if _blank(cells):
            continue
        out.append((n, cells))
        if len(out) > MAX_ROWS + 1:
            break
    return out


def _csv_rows(content: bytes) -> list[Row]:
    text = _decode(content)
    first = next((line for line in text.splitlines() if line.strip(" ;,\t")), "")
    delimiter = max((";", "\t", ","), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return _non_blank((reader.line_num, row) for row in reader)
    except csv.Error:
        raise _fail(
            "Die CSV-Datei ist fehlerhaft (z. B. ein nicht geschlossenes Anführungszeichen)."
        ) from None


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_rows(content: bytes) -> list[Row]:
    # imported here, not with the module: only an uploaded .xlsx needs openpyxl (and numpy behind it),
    # and the intake API's cold start should not pay for it (docs/performance.md)
    import defusedxml  # noqa: F401  - openpyxl parses XML with defusedxml when it is installed
    import openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as z:
            if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED_BYTES:
                raise _fail("Die Excel-Datei ist zu groß.")
        wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            first, *others = wb.worksheets
            for ws in others:
                if any(not _blank(list(row)) for row in ws.iter_rows(values_only=True)):
                    raise _fail(
                        "Die Excel-Datei hat Inhalt auf mehr als einem Tabellenblatt. Bitte nur ein "
                        "Tabellenblatt mit der Klassenliste hochladen."
                    )
            rows = enumerate(first.iter_rows(values_only=True), start=1)
            return _non_blank((n, [_cell(v) for v in row[: MAX_COLUMNS + 1]]) for n, row in rows)
        finally:
            wb.close()
    except DomainValidationError:
        raise
    except Exception:
        raise _fail("Die Excel-Datei kann nicht gelesen werden.") from None


def parse(content: bytes, defaults: dict[str, str | None] | None = None) -> ClassList:  # noqa: C901
    """Read a class list; ``defaults`` (``class_name``, ``consent.text_version``) replace missing columns."""
    defaults = defaults or {}
    if not content.strip():
        raise _fail("Die Datei ist leer.")
    if content.startswith(XLS_MAGIC):
        raise _fail(
            "Das alte Excel-Format (.xls) wird nicht unterstützt. Bitte als .xlsx oder .csv speichern."
        )
    raw = _xlsx_rows(content) if content.startswith(XLSX_MAGIC) else _csv_rows(content)
    if not raw:
        raise _fail("Die Datei ist leer.")
    (_, header), data = raw[0], raw[1:]
    if len(header) > MAX_COLUMNS:
        raise _fail(f"Höchstens {MAX_COLUMNS} Spalten.")
    mapping: dict[int, Column] = {}
    ignored: list[str] = []
    for i, name in enumerate(header):
        col = _BY_NAME.get(_norm(str(name)))
        if col is None:
            if str(name).strip():
                ignored.append(column_letter(i))
            continue
        if col in mapping.values():
            raise _fail(f"Die Spalte „{col.header}“ kommt mehrfach vor.")
        mapping[i] = col
    present = {c.field for c in mapping.values()} | {k for k, v in defaults.items() if v}
    missing = [BY_FIELD[f].header for f in REQUIRED if f not in present]
    if missing:
        raise _fail(
            "Pflichtspalten fehlen: " + ", ".join(missing) + " (die erste Zeile muss die Spaltennamen "
            "enthalten)."
        )
    if not data:
        raise _fail("Die Datei enthält keine Schülerzeilen.")
    if len(data) > MAX_ROWS:
        raise _fail(
            f"Die Datei enthält mehr als {MAX_ROWS} Schülerzeilen. Höchstens {MAX_ROWS} Schülerzeilen pro "
            "Datei (leere Zeilen zählen nicht mit); bitte die Liste auf mehrere Dateien aufteilen."
        )
    rows = []
    for line, cells in data:
        values: dict[str, Any] = {}
        for i, col in mapping.items():
            cell = cells[i] if i < len(cells) else ""
            if isinstance(cell, str):
                cell = cell.strip()
            if cell == "":
                continue
            values[col.field] = col.convert(cell)
        rows.append((line, values))
    return ClassList(rows=rows, ignored_columns=ignored)


def to_form(
    values: dict[str, Any], *, school_id: str, school_year: str, defaults: dict[str, str | None]
) -> dict[str, Any]:
    """Nested raw form of one row (``student.given_name`` → ``{"student": {"given_name": ...}}``)."""
    flat = {k: v for k, v in defaults.items() if v}
    flat.update(values)
    flat.update({"school_id": school_id, "school_year": school_year})
    form: dict[str, Any] = {"student": {}, "consent": {}}
    for path, value in flat.items():
        target = form
        *parents, leaf = path.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = value
    return form


#: How the API writes a date in its messages, and how class lists (German school software, Excel) write it.
API_DATE, FILE_DATE = "JJJJ-MM-TT", "TT.MM.JJJJ"
_ISO_LIKE = re.compile(r"\s*\d{4}-")


def in_file_terms(field_path: str, message: str, values: dict[str, Any]) -> str:
    """A row's message in the file's date format: ``TT.MM.JJJJ`` unless the cell was written the ISO way."""
    cell = values.get(field_path)
    if API_DATE in message and not (isinstance(cell, str) and _ISO_LIKE.match(cell)):
        return message.replace(API_DATE, f"{FILE_DATE}, z. B. 17.05.2010")
    return message
