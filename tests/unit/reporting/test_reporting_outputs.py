"""Report weeks, XLSX (one sheet per table, numbers as numbers) and office emails (MIME, inline charts)."""

from __future__ import annotations

import email
import io
from datetime import UTC, date, datetime

from openpyxl import load_workbook
from reporting_contexts import school_year_context, weekly_context

from contracts.calendar import whole_days
from services.reporting.logic import mail
from services.reporting.logic.periods import ReportWeek, monday, week_key
from services.reporting.logic.report import render_html, render_xlsx


# ------------------------------------------------------------------------------------------ weeks
def test_report_weeks_are_calendar_weeks_in_local_time() -> None:
    monday_7 = datetime(2026, 11, 30, 6, 0, tzinfo=UTC)  # Monday 07:00 in Berlin (CET)
    last = ReportWeek.of(monday_7, "last_week")
    assert (last.start, last.end, last.label) == (date(2026, 11, 23), date(2026, 11, 29), "KW 48/2026")
    this = ReportWeek.of(datetime(2026, 12, 2, 9, tzinfo=UTC), "this_week")
    assert (this.start, this.end, this.label, this.previous_key) == (
        date(2026, 11, 30),
        date(2026, 12, 2),
        "KW 49/2026",
        "2026-11-23",
    )
    assert this.start_instant == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    # summer time: Sunday 22:30 UTC is already Monday in Berlin
    assert week_key(datetime(2026, 3, 29, 22, 30, tzinfo=UTC)) == "2026-03-30"
    assert monday(date(2027, 1, 3)) == date(2026, 12, 28)
    assert ReportWeek.of(datetime(2027, 1, 4, 6, tzinfo=UTC), "last_week").label == "KW 53/2026"


def test_waiting_days() -> None:
    assert whole_days(datetime(2026, 9, 1, 12, tzinfo=UTC), datetime(2026, 9, 16, 11, tzinfo=UTC)) == 14


# ------------------------------------------------------------------------------------------ XLSX
def test_weekly_xlsx_has_one_sheet_per_table_with_exact_numbers() -> None:
    ctx = weekly_context()
    ctx.update(trend=[(date(2026, 11, 22), 5), (date(2026, 11, 29), 7)])
    wb = load_workbook(io.BytesIO(render_xlsx("weekly", ctx)))
    assert wb.sheetnames == [
        "Bericht",
        "Kennzahlen",
        "Neu in der Woche",
        "Stand nach Schule",
        "Warteliste",
        "Begleiter",
        "Betreuungsschlüssel",
        "Verlauf Warteliste",
    ]
    rows = list(wb["Stand nach Schule"].iter_rows(values_only=True))
    assert rows[0][0] == "Schule" and rows[0][-1] == "Insgesamt"
    total = next(r for r in rows if r[0] == "Insgesamt")
    status = ctx["status_by_school"]
    assert list(total[1:]) == [*status.col_totals, status.grand_total]
    numbers = [v for r in rows[1:] for v in r[1:] if v is not None]
    assert numbers and all(isinstance(v, int) for v in numbers)  # internal report: exact counts
    waitlist = list(wb["Warteliste"].iter_rows(values_only=True))
    assert isinstance(waitlist[1][5], int) and isinstance(waitlist[1][4], datetime)


def test_school_year_xlsx_sheets() -> None:
    wb = load_workbook(io.BytesIO(render_xlsx("school_year", school_year_context())))
    for sheet in (
        "Geschlecht",
        "Alter",
        "Sprachförderbedarf",
        "Austritte",
        "Verbleib",
        "Übergänge",
        "Vorjahresvergleich",
    ):
        assert sheet in wb.sheetnames
    dest = list(wb["Verbleib"].iter_rows(values_only=True))
    assert dest[0][-1] == "Austritte" and dest[1][0] == "Duale Ausbildung" and isinstance(dest[1][1], int)


# ------------------------------------------------------------------------------------------ mail
def test_report_email_has_inline_charts_links_and_a_text_part() -> None:
    ctx = dict(
        weekly_context(),
        links=[{"label": "PDF", "url": "https://api.example.org/dev/dashboard#bericht=01X&format=pdf"}],
    )
    html = render_html("weekly", ctx)
    raw = mail.build_message(
        mail.report_mail(title="Wochenbericht AV dual KW 48/2026", html=html),
        sender="berichte@example.org",
        to="buero@example.org",
        at=datetime(2026, 11, 30, 6, tzinfo=UTC),
    )
    msg = email.message_from_bytes(raw)
    assert msg["Subject"] == "[AV dual] Wochenbericht AV dual KW 48/2026" and msg["To"] == "buero@example.org"
    parts = {p.get_content_type(): p for p in msg.walk()}
    body = parts["text/html"].get_payload(decode=True).decode()
    assert "data:image" not in body and body.count("cid:") == 2
    assert len([p for p in msg.walk() if p.get_content_type() == "image/png"]) == 2
    text = parts["text/plain"].get_payload(decode=True).decode()
    assert "PDF: https://api.example.org/dev/dashboard#bericht=01X&format=pdf" in text and "<td" not in text
    assert "nach der Anmeldung" in text and "gültig" not in text  # no promise of a link validity


def test_alert_emails_are_german_and_name_no_student() -> None:
    start, end = datetime(2026, 9, 14, 8, tzinfo=UTC), datetime(2026, 9, 14, 8, 15, tzinfo=UTC)
    m = mail.waitlist_digest_mail(
        [
            {
                "intake_id": "01KAAAAAAAAAAAAAAAAAAAAAAA",
                "school_id": "RFS",
                "class_name": "AVd1a",
                "since": "2026-09-14T08:00:00+00:00",
                "reason": "no_capacity",
            }
        ],
        [
            {
                "intake_id": "01KCCCCCCCCCCCCCCCCCCCCCCC",
                "school_id": "MPS",
                "class_name": "AVd-1",
                "at": "2026-09-14T08:10:00+00:00",
            }
        ],
        start=start,
        end=end,
        waiting_at_school={"RFS": 3},
    )
    assert m.subject == (
        "[AV dual] Warteliste: 1 neu auf der Warteliste, 1 inzwischen zugeordnet "
        "(14.09.2026, 10:00–10:15 Uhr)"
    )
    assert "Robert-Franck-Schule Ludwigsburg: 3 wartend" in m.text and "keine freie Kapazität" in m.text
    assert "14.09.2026, 10:00 Uhr" in m.text and "01KAAAAAAAAAAAAAAAAAAAAAAA" in m.text
    assert "Entwarnung" in m.text and "01KCCCCCCCCCCCCCCCCCCCCCCC" in m.text and "AVd-1" in m.text
    full = mail.capacity_digest_mail(
        [
            {
                "companion_id": "B01",
                "name": "Sabine Krämer",
                "school_ids": ["RFS"],
                "assigned": 40,
                "capacity": 40,
            }
        ],
        [],
        start=start,
        end=end,
    )
    assert (
        full.subject
        == "[AV dual] Auslastung: Sabine Krämer (B01) voll ausgelastet (14.09.2026, 10:00–10:15 Uhr)"
    )
    assert "Robert-Franck-Schule Ludwigsburg" in full.text and "Entwarnung" not in full.text
    rows = [
        {
            "intake_id": "01KBBBBBBBBBBBBBBBBBBBBBBB",
            "school_name": "Carl-Schaefer-Schule",
            "class_name": "AVD1",
            "since": date(2026, 9, 1),
            "days": 15,
        }
    ]
    wait = mail.long_wait_mail(rows, total_long=4, as_of=datetime(2026, 9, 16, 4, tzinfo=UTC))
    assert wait.subject.startswith("[AV dual] Wartezeit über 14 Tage") and "insgesamt warten 4" in wait.text
