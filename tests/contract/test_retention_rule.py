"""The one retention rule (contracts/retention.py, docs/adr/0004-retention-rule.md): one year after the end
of the school year in which the student left — the end of 31 July a year later in Ludwigsburg — as an exact
instant."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts import retention

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("school_year", "instant"),
    [
        # 1 August 00:00 CEST = 31 July 22:00 UTC, two calendar years after the school year began
        ("2017/18", datetime(2019, 7, 31, 22, 0, tzinfo=UTC)),
        ("2024/25", datetime(2026, 7, 31, 22, 0, tzinfo=UTC)),
        ("2026/27", datetime(2028, 7, 31, 22, 0, tzinfo=UTC)),
        ("2027/28", datetime(2029, 7, 31, 22, 0, tzinfo=UTC)),
        ("2031/32", datetime(2033, 7, 31, 22, 0, tzinfo=UTC)),
    ],
)
def test_the_instant_for_a_school_year(school_year: str, instant: datetime) -> None:
    end = retention.retention_end(school_year)
    assert end == instant
    assert end.astimezone(BERLIN).replace(tzinfo=None) == datetime(instant.year, 8, 1)  # local midnight
    assert retention.expires_at(school_year) == int(instant.timestamp())


def test_the_school_year_left_is_the_exit_dates_once_an_exit_is_recorded() -> None:
    assert retention.school_year_left("2026/27") == "2026/27"  # in the programme, waiting, withdrawn
    assert retention.school_year_left("2026/27", date(2027, 3, 1)) == "2026/27"
    assert retention.school_year_left("2026/27", date(2027, 7, 31)) == "2026/27"  # last day of the year
    assert retention.school_year_left("2026/27", date(2027, 8, 1)) == "2027/28"  # first day of the next
    assert retention.expires_at("2026/27", date(2027, 8, 1)) == int(
        datetime(2029, 7, 31, 22, tzinfo=UTC).timestamp()
    )


def test_expired_from_the_instant_on() -> None:
    ttl = retention.expires_at("2026/27")
    end = retention.retention_end("2026/27")
    assert not retention.is_expired(ttl, end - timedelta(microseconds=1))
    assert retention.is_expired(ttl, end)
    assert not retention.is_expired(None, end + timedelta(days=3650))
