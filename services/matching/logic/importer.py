"""Companion list import (``avdual companions import FILE.csv|.xlsx``): file rows → registry fields.

Pure parsing, no I/O besides reading the file: a header row names the columns (English field
names or the German labels the office uses, any case), one companion per row. Cells are
converted leniently (``"de, tr"`` → list, ``"0,5"`` → 0.5, ``ja``/``nein``, ``TT.MM.JJJJ`` dates,
leave as ``01.10.2026–14.10.2026; 21.12.2026–06.01.2027``); whatever cannot be converted is
reported per row and field in German. Validation against ``CompanionIn`` happens afterwards
(the API validates again).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path
from typing import Any

from common.errors import FieldError

#: normalised header (lower case, without spaces, ``_``, ``-``, ``.``) → field of ``CompanionIn``
COLUMNS: dict[str, str] = {
    **{k: "companion_id" for k in ("companionid", "id", "kennung", "kürzel", "kuerzel")},
    **{k: "name" for k in ("name",)},
    **{k: "email" for k in ("email", "mail")},
    **{k: "school_ids" for k in ("schoolids", "schools", "schulen", "schule")},
    **{k: "capacity" for k in ("capacity", "kapazität", "kapazitaet", "plätze", "plaetze")},
    **{k: "fte" for k in ("fte", "stellenanteil", "vza")},
    **{k: "languages" for k in ("languages", "sprachen")},
    **{k: "career_fields" for k in ("careerfields", "berufsfelder")},
    **{k: "gender" for k in ("gender", "geschlecht")},
    **{k: "active" for k in ("active", "aktiv")},
    **{k: "active_from" for k in ("activefrom", "aktivab")},
    **{k: "active_until" for k in ("activeuntil", "aktivbis")},
    **{k: "leave_periods" for k in ("leaveperiods", "leave", "abwesenheiten", "abwesenheit", "urlaub")},
}
LIST_FIELDS = frozenset({"school_ids", "languages", "career_fields"})

FIELD_LABELS: dict[str, str] = {
    "companion_id": "Kennung",
    "name": "Name",
    "email": "E-Mail",
    "school_ids": "Schulen",
    "capacity": "Kapazität",
    "fte": "Stellenanteil",
    "languages": "Sprachen",
    "career_fields": "Berufsfelder",
    "gender": "Geschlecht",
    "active": "aktiv",
    "active_from": "aktiv ab",
    "active_until": "aktiv bis",
    "leave_periods": "Abwesenheiten",
}
"""The German column label of each registry field (as the office's file names them)."""

KIND_LABELS = {"created": "neu", "changed": "geändert", "unchanged": "unverändert"}


def row_result(kind: str, changed: list[str]) -> str:
    """What an import row did (or would do), in German: ``neu`` / ``geändert (Kapazität, Schulen)`` /
    ``unverändert``."""
    if kind == "changed":
        return f"geändert ({', '.join(FIELD_LABELS.get(f, f) for f in changed)})"
    return KIND_LABELS.get(kind, kind)


GENDERS = {
    "w": "weiblich",
    "weiblich": "weiblich",
    "f": "weiblich",
    "m": "maennlich",
    "männlich": "maennlich",
    "maennlich": "maennlich",
    "d": "divers",
    "divers": "divers",
    "": "keine_angabe",
    "keine angabe": "keine_angabe",
    "keine_angabe": "keine_angabe",
}
TRUE, FALSE = {"ja", "j", "true", "wahr", "1", "x", "yes"}, {"nein", "n", "false", "falsch", "0", "no", "-"}
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4}")


class ImportFileError(ValueError):
    """The file as a whole cannot be read (format, missing header)."""


def normalise(header: Any) -> str:
    return re.sub(r"[\s_\-.]+", "", str(header or "")).lower()


def read_rows(path: Path) -> list[dict[str, Any]]:
    """Rows of a CSV (``,`` or ``;``, UTF-8) or XLSX file (first sheet) as ``{header: cell}``;
    empty rows are skipped."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = path.read_text(encoding="utf-8-sig")
        try:
            dialect: Any = csv.Sniffer().sniff(text.splitlines()[0] if text else "", delimiters=";,\t")
        except csv.Error:
            dialect = csv.excel
        grid: list[list[Any]] = list(csv.reader(text.splitlines(), dialect))
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        wb = load_workbook(path, read_only=True, data_only=True)
        grid = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    else:
        raise ImportFileError("Nur .csv- oder .xlsx-Dateien.")
    if not grid:
        raise ImportFileError("Die Datei ist leer.")
    header = [str(h or "").strip() for h in grid[0]]
    rows = []
    for cells in grid[1:]:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        rows.append({h: (cells[i] if i < len(cells) else None) for i, h in enumerate(header) if h})
    return rows


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _date(v: Any) -> date:
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    s = _text(v)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        return date.fromisoformat(s)
    if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", s):
        d, m, y = (int(x) for x in s.split("."))
        return date(y, m, d)
    raise ValueError("Datum erwartet (TT.MM.JJJJ oder JJJJ-MM-TT).")


def _leave(v: Any) -> list[dict[str, str]]:
    out = []
    for part in re.split(r"[;\n]+", _text(v)):
        if not part.strip():
            continue
        found = _DATE.findall(part)
        if len(found) != 2:
            raise ValueError("Zeitraum erwartet: TT.MM.JJJJ–TT.MM.JJJJ, mehrere durch Semikolon getrennt.")
        start, end = (_date(x) for x in found)
        out.append({"start": start.isoformat(), "end": end.isoformat()})
    return out


def _convert(field: str, v: Any) -> Any:  # noqa: C901
    s = _text(v)
    if field in LIST_FIELDS:
        items = [x.strip() for x in re.split(r"[,;|/\s]+", s) if x.strip()]
        return [x.upper() for x in items] if field == "school_ids" else [x.lower() for x in items]
    if field == "capacity":
        return s  # the model's field message states the rule for anything else than a valid number
    if field == "fte":
        return 1.0 if s == "" else s.replace(",", ".")  # German decimal comma
    if field == "gender":
        if s.lower() not in GENDERS:
            raise ValueError("Ungültiger Wert; erlaubt: weiblich, männlich, divers, keine Angabe.")
        return GENDERS[s.lower()]
    if field == "active":
        if s == "" or s.lower() in TRUE:
            return True
        if s.lower() in FALSE:
            return False
        raise ValueError("Ja/Nein-Wert erwartet.")
    if field in ("active_from", "active_until"):
        return None if s == "" else _date(v).isoformat()
    if field == "leave_periods":
        return _leave(v)
    return s


def parse_row(raw: dict[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """One file row → ``CompanionIn`` input fields, plus German errors for cells that could not be read."""
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for header, value in raw.items():
        field = COLUMNS.get(normalise(header))
        if field is None:
            errors.append(FieldError(field=str(header), message="Unbekannte Spalte."))
            continue
        if field in out:
            errors.append(FieldError(field=field, message="Spalte doppelt vorhanden."))
            continue
        try:
            converted = _convert(field, value)
        except ValueError as e:
            errors.append(FieldError(field=field, message=str(e)))
            continue
        if converted is not None and converted != "":
            out[field] = converted
    return out, errors


def duplicate_ids(rows: list[tuple[int, dict[str, Any]]]) -> dict[int, FieldError]:
    """Rows whose ``companion_id`` occurs more than once in the file (``(row number, fields)``): each of
    them is an error naming the other rows — none of them is applied, since the file does not say which one
    holds."""
    seen: dict[str, list[int]] = {}
    for n, fields in rows:
        cid = str(fields.get("companion_id") or "").strip()
        if cid:
            seen.setdefault(cid, []).append(n)
    out: dict[int, FieldError] = {}
    for numbers in seen.values():
        if len(numbers) < 2:
            continue
        for n in numbers:
            others = ", ".join(str(m) for m in numbers if m != n)
            out[n] = FieldError(
                field="companion_id",
                message=f"Kennung kommt mehrfach in der Datei vor (auch Zeile {others}); keine dieser "
                "Zeilen wird übernommen.",
            )
    return out
