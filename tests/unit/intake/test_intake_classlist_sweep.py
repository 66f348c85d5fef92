"""Class lists never lose a student (property-based): for every generated class list – CSV in UTF-8 (with
and without BOM), Windows-1252 or UTF-16 (Excel "Unicode-Text", with and without BOM), separated by ``;``,
``,`` or tabs, or XLSX; blank rows anywhere; sizes around the row limit – the parser returns exactly the
non-blank data rows in file order, or refuses the whole file with a file-level error that names the limit.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from common.errors import DomainValidationError
from services.intake.logic import classlist
from tests.classlists import HEADER, GeneratedList, csv_class_lists, xlsx_class_lists

SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]


def check(generated: GeneratedList) -> None:
    n = generated.students
    try:
        parsed = classlist.parse(generated.content)
    except DomainValidationError as e:
        [error] = e.errors
        assert error.field == "file", generated.description
        if n > classlist.MAX_ROWS:
            assert f"Höchstens {classlist.MAX_ROWS} Schülerzeilen" in error.message
        else:
            assert n == 0 and "keine Schülerzeilen" in error.message, (generated.description, error)
        return
    assert 0 < n <= classlist.MAX_ROWS, generated.description
    names = [values.get("student.given_name") for _, values in parsed.rows]
    assert names == generated.expected_given_names(), generated.description
    lines = [line for line, _ in parsed.rows]
    assert lines == sorted(set(lines)), "row numbers point at distinct lines, in file order"
    remarks = [v["remark"] for _, v in parsed.rows]
    assert remarks == [f"Praktikum {i}; Kontakt, gern\tja" for i in range(n)]


@settings(max_examples=300, deadline=None, suppress_health_check=SLOW_OK)
@given(generated=csv_class_lists())
def test_every_non_blank_csv_row_is_returned_or_the_file_is_refused(generated: GeneratedList) -> None:
    check(generated)


@settings(max_examples=40, deadline=None, suppress_health_check=SLOW_OK)
@given(generated=xlsx_class_lists())
def test_every_non_blank_xlsx_row_is_returned_or_the_file_is_refused(generated: GeneratedList) -> None:
    check(generated)


def test_the_issue_example_blank_line_after_each_of_251_students() -> None:
    rows = [";".join(HEADER)]
    rows += [f"S{i};M;01.01.2010;w;ja;01.09.2026;K;V;ja;\n" for i in range(251)]
    parsed = classlist.parse("\n".join(rows).encode())
    assert len(parsed.rows) == 251


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_excel_unicode_text_is_read(encoding: str) -> None:
    text = "\t".join(HEADER) + "\r\n"
    text += "Олена\tŞahin\t01.01.2010\tw\tja\t01.09.2026\tK\tV\tja\t\r\n\t\t\t\t\t\t\t\t\t\r\n"
    [(line, values)] = classlist.parse(text.encode(encoding)).rows
    assert (line, values["student.given_name"], values["student.family_name"]) == (2, "Олена", "Şahin")


def test_content_on_a_second_sheet_refuses_the_file() -> None:
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["Vorname", "Nachname"])
    wb.create_sheet("Tabelle2").append(["Zeynep", "Şahin"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(DomainValidationError, match="mehr als einem Tabellenblatt") as e:
        classlist.parse(buf.getvalue())
    assert "Zeynep" not in e.value.errors[0].message


@settings(max_examples=60, deadline=None)
@given(generated=csv_class_lists())
def test_broken_utf16_is_a_file_level_error(generated: GeneratedList) -> None:
    """An odd number of bytes in a UTF-16 file (cut off): one file-level error, never one per row."""
    if not generated.content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return
    with pytest.raises(DomainValidationError) as e:
        classlist.parse(generated.content + b"\x00")  # type: ignore[operator]
    assert [err.field for err in e.value.errors] == ["file"]
