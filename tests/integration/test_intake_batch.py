"""``POST /intakes/batch``: a class list (CSV or XLSX, multipart upload) → per-row results; valid rows are
stored (with their events) even when other rows fail."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import openpyxl

from avdual.runtime import LocalRuntime
from tests.integration.test_intake_api import OFFICE, SCHOOL, intakes, outbox

HEADER = [
    "Vorname",
    "Nachname",
    "Geburtsdatum",
    "Geschlecht",
    "Klasse",
    "Sprachen",
    "Berufsfelder",
    "Deutschförderung",
    "Einwilligung Schüler/in",
    "Datum Einwilligung",
    "Einwilligung Erziehungsberechtigte",
    "Bemerkung",
]
NAMES = [
    "Zeynep",
    "Jonas",
    "Darya",
    "Ali",
    "Lena",
    "Mehmet",
    "Sofia",
    "Kevin",
    "Amina",
    "Luca",
    "Ölçay",
    "Jürgen",
    "Łukasz",
    "Олена",
    "محمد",
    "Chloé",
    "Noah",
    "Elif",
    "Ben",
    "Mia",
    "Emir",
    "Hannah",
    "Yusuf",
    "Lea",
    "Tim",
    "Sara",
    "Paul",
    "Nele",
    "Can",
    "Ida",
]


SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÜß"


def rows(n: int = 30, invalid: dict[int, tuple[int, str]] | None = None) -> list[list[str]]:
    """``n`` data rows; ``invalid`` = {row index: (column index, bad value)}."""
    out = []
    for i in range(n):
        row = [
            NAMES[i % len(NAMES)],
            f"Muster-{SUFFIX[i % len(SUFFIX)]}",
            f"{(i % 28) + 1:02d}.03.2010",
            "wmd"[i % 3],
            "AVd1a",
            "de, tr",
            "Handel; kfz" if i % 2 else "Büro",
            "ja" if i % 4 == 0 else "nein",
            "ja",
            "15.09.2026",
            "x",
            "",
        ]
        if invalid and i in invalid:
            col, value = invalid[i]
            row[col] = value
        out.append(row)
    return out


def csv_bytes(
    data: list[list[str]], header: list[str] = HEADER, sep: str = ";", encoding: str = "utf-8-sig"
) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows([header, *data])
    return buf.getvalue().encode(encoding)


def multipart(content: bytes, filename: str, fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "----avdualtestboundary7MA4YWxkTrZu0gW"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def upload(
    rt: LocalRuntime,
    content: bytes,
    filename: str = "klasse.csv",
    claims: dict | None = None,
    key: str | None = None,
    **fields: str,
) -> object:
    body, ctype = multipart(content, filename, {"school_year": "2026/27", **fields})
    headers = {"Content-Type": ctype, **({"Idempotency-Key": key} if key else {})}
    return rt.api("POST", "/intakes/batch", body_bytes=body, headers=headers, claims=claims or SCHOOL)


def test_30_rows_with_3_invalid_store_27_and_report_3(rt: LocalRuntime) -> None:
    data = rows(30, {4: (2, "31.02.2010"), 11: (1, ""), 25: (8, "nein")})
    r = upload(rt, csv_bytes(data), consent_text_version="EV-2026-08")
    assert r.status == 200, r.body
    body = r.json()
    assert (body["stored"], body["invalid"]) == (27, 3)
    bad = {row["row"]: row["errors"] for row in body["rows"] if row["status"] == "invalid"}
    assert set(bad) == {6, 13, 27}  # file lines (header = line 1)
    assert bad[6][0]["field"] == "student.date_of_birth" and bad[6][0]["column"] == "Geburtsdatum"
    assert bad[13][0]["field"] == "student.family_name" and bad[13][0]["column"] == "Nachname"
    assert bad[27][0]["field"] == "consent.student" and bad[27][0]["column"] == "Einwilligung Schüler/in"
    stored = intakes(rt)
    assert len(stored) == 27 and outbox(rt) == Counter({"IntakeSubmitted": 27})
    by_name = {s["student"]["given_name"]: s for s in stored}
    assert by_name["Олена"]["student"]["family_name"] == "Muster-N"  # Cyrillic round trip
    assert "محمد" in by_name and by_name["Zeynep"]["career_fields"] == ["buero"]
    assert by_name["Jonas"]["career_fields"] == ["handel", "kfz"]
    assert by_name["Zeynep"]["student"]["languages"] == ["de", "tr"]
    assert by_name["Zeynep"]["consent"]["text_version"] == "EV-2026-08"
    assert all(s["school_id"] == "RFS" and s["submitted_by"] == "schule-rfs" for s in stored)
    rt.drain()
    assert len(rt.scan("assignments")) == 27


def test_xlsx_class_list(rt: LocalRuntime) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(
        [
            "Vorname",
            "Nachname",
            "Geburtsdatum",
            "Geschlecht",
            "Einwilligung",
            "Einwilligung am",
            "Einwilligung Eltern",
            "Praktikumstage",
            "Notiz",
        ]
    )
    ws.append(["Chloé", "Weiß", date(2010, 3, 1), "w", "ja", date(2026, 9, 15), "ja", 2, "x"])
    ws.append(["Jonas", "Öztürk", date(2009, 12, 24), "m", "ja", date(2026, 9, 15), "ja", 5, "y"])
    buf = io.BytesIO()
    wb.save(buf)
    r = upload(rt, buf.getvalue(), "klasse.xlsx", class_name="AVd2", consent_text_version="EV-2026-08")
    assert r.status == 200, r.body
    body = r.json()
    assert (body["stored"], body["invalid"], body["ignored_columns"]) == (1, 1, ["I"])
    assert body["rows"][1]["errors"][0]["column"] == "Praktikumstage pro Woche"
    [item] = intakes(rt)
    assert item["student"]["family_name"] == "Weiß" and item["class_name"] == "AVd2"
    assert item["student"]["date_of_birth"] == "2010-03-01" and item["internship_days_per_week"] == 2


def test_windows_1252_csv_with_commas(rt: LocalRuntime) -> None:
    data = rows(2)
    for r_ in data:
        r_[6] = "Handel"  # no separators inside cells
    content = csv_bytes(data, sep=",", encoding="cp1252")
    r = upload(rt, content, consent_text_version="EV-2026-08")
    assert r.status == 200 and r.json()["stored"] == 2, r.body
    assert {i["student"]["family_name"] for i in intakes(rt)} == {"Muster-A", "Muster-B"}


def test_file_level_problems_are_422_without_quoting_the_file(rt: LocalRuntime) -> None:
    cases = {
        b"": "leer",
        csv_bytes(rows(1), header=["Name", "Zeynep Şahin", "x"]): "Pflichtspalten fehlen",
        b"\xd0\xcf\x11\xe0" + b"\0" * 100: ".xls",
        b"PK\x03\x04broken": "Excel-Datei",
        csv_bytes([]): "keine Schülerzeilen",
        csv_bytes(rows(501)): "Höchstens 500",
    }
    for content, message in cases.items():
        r = upload(rt, content, consent_text_version="EV-2026-08")
        assert r.status == 422, (message, r.body)
        assert message in r.body and "Zeynep" not in r.body and "Şahin" not in r.body
    assert intakes(rt) == []


def test_school_scope_and_idempotency(rt: LocalRuntime) -> None:
    content = csv_bytes(rows(3), header=HEADER)
    assert upload(rt, content, school_id="MPS", consent_text_version="V1").status == 403
    first = upload(rt, content, key="batch-key-1", consent_text_version="V1")
    again = upload(rt, content, key="batch-key-1", consent_text_version="V1")
    assert first.status == again.status == 200 and first.json() == again.json()
    assert len(intakes(rt)) == 3
    changed = upload(rt, csv_bytes(rows(4)), key="batch-key-1", consent_text_version="V1")
    assert changed.status == 409
    assert (
        upload(rt, content, claims=OFFICE, consent_text_version="V1").status == 422
    )  # office: which school?
    assert (
        upload(rt, content, claims=OFFICE, school_id="CSS", consent_text_version="V1").json()["stored"] == 3
    )


def test_wrong_content_types(rt: LocalRuntime) -> None:
    r = rt.api(
        "POST",
        "/intakes/batch",
        raw_body="Vorname;Nachname",
        headers={"Content-Type": "text/csv"},
        claims=SCHOOL,
    )
    assert r.status == 415
    r = rt.api("POST", "/intakes/batch", body={"school_year": "2026/27"}, claims=SCHOOL)
    assert r.status == 422 and "file" in {e["field"] for e in r.json()["errors"]}


def test_blank_line_after_each_of_251_students_stores_all_251(rt: LocalRuntime) -> None:
    """The issue's example: an empty line after every student neither counts toward the row limit nor
    hides the students after it."""
    lines = csv_bytes(rows(251)).decode("utf-8-sig").splitlines()
    content = "\r\n\r\n".join(lines).encode("utf-8-sig")
    r = upload(rt, content, consent_text_version="EV-2026-08")
    assert r.status == 200, r.body
    assert (r.json()["stored"], r.json()["invalid"]) == (251, 0)
    assert len(intakes(rt)) == 251


def test_excel_unicode_text_upload_is_read(rt: LocalRuntime) -> None:
    """Excel's "Unicode-Text" (UTF-16 LE with BOM, tab-separated)."""
    text = csv_bytes(rows(3), sep="\t").decode("utf-8-sig")
    r = upload(rt, text.encode("utf-16"), "klasse.txt", consent_text_version="EV-2026-08")
    assert r.status == 200 and r.json()["stored"] == 3, r.body
    assert {i["student"]["given_name"] for i in intakes(rt)} == set(NAMES[:3])


def test_generated_class_lists_store_or_report_every_row() -> None:
    """Property: for generated class lists (encodings, BOMs, separators, blank rows; small sizes – the
    sizes around the limit are swept on the parser), every non-blank data row is stored or reported as a
    student already there (the examples share one runtime, so students recur), exactly ``stored`` new
    intakes exist – or the file is refused (422, field ``file``)."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.classlists import GeneratedList, class_lists

    with LocalRuntime(stage="test", log_level="ERROR") as runtime:

        @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(generated=class_lists(st.integers(0, 6)))
        def run(generated: GeneratedList) -> None:
            before = len(intakes(runtime))
            r = upload(runtime, generated.content, "klasse", consent_text_version="EV-2026-08")
            if generated.students == 0:
                assert r.status == 422 and r.json()["errors"][0]["field"] == "file", r.body
                return
            assert r.status == 200, (generated.description, r.body)
            body = r.json()
            assert body["invalid"] == 0, body
            assert body["stored"] + body["duplicates"] == generated.students == len(body["rows"])
            assert len(intakes(runtime)) - before == body["stored"]

        run()
