"""Audit log rules: retention (§ 76 Abs. 4 BDSG), period limits, purposes, roles."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import get_args

import pytest

from common import audit_log
from common.audit_log import AuditAction
from common.auth import principal_from_claims
from common.cursor import encode_cursor
from common.errors import DomainValidationError
from services.intake.logic import access as intake_access
from services.intake.logic import audit_query
from services.matching.logic import access as matching_access


def test_entries_are_kept_until_the_end_of_the_following_year() -> None:
    at = datetime(2026, 11, 30, 8, 15, tzinfo=UTC)
    end_of_next_year = datetime(2027, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert datetime.fromtimestamp(audit_log.expiry(at), UTC) == end_of_next_year
    assert audit_log.expiry(datetime(2027, 1, 1, tzinfo=UTC)) > audit_log.expiry(at)


def test_every_action_has_a_purpose_for_every_role_that_may_do_it() -> None:
    intake, matching = intake_access.PURPOSES, matching_access.PURPOSES
    for action in get_args(AuditAction):
        assert (action, "office") in intake or (action, "office") in matching  # the office may do everything
    for action in ("create", "read", "list", "update", "withdraw"):
        assert (action, "school") in intake
    for action in ("read", "list"):  # companions read their students
        assert (action, "companion") in intake
    assert {("read", "companion"), ("exit", "companion"), ("list", "school")} <= set(matching)


def test_role_is_the_widest_right_that_allowed_the_access() -> None:
    both = principal_from_claims({"sub": "x", "cognito:groups": "office,school-RFS"})
    school = principal_from_claims({"sub": "y", "cognito:groups": "school-RFS"})
    comp = principal_from_claims({"sub": "z", "cognito:groups": "companion", "custom:companion_id": "A"})
    assert [audit_log.role_of(p) for p in (both, school, comp)] == ["office", "school", "companion"]


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (date(2026, 11, 1), date(2026, 11, 3), ["2026-11-03", "2026-11-02", "2026-11-01"]),
        (date(2026, 12, 31), date(2026, 12, 31), ["2026-12-31"]),
    ],
)
def test_days_are_read_newest_first(start: date, end: date, days: list[str]) -> None:
    assert audit_query._days(start, end) == days


@pytest.mark.parametrize(
    ("start", "end", "partitions", "bounds"),
    [
        (  # winter: a day in Ludwigsburg runs from 23:00 UTC the evening before
            date(2026, 12, 8),
            date(2026, 12, 8),
            ["2026-12-08", "2026-12-07"],
            ("2026-12-07T23:00:00.000000+00:00", "2026-12-08T23:00:00.000000+00:00"),
        ),
        (  # summer: from 22:00 UTC
            date(2026, 7, 1),
            date(2026, 7, 2),
            ["2026-07-02", "2026-07-01", "2026-06-30"],
            ("2026-06-30T22:00:00.000000+00:00", "2026-07-02T22:00:00.000000+00:00"),
        ),
        (  # the day the clocks go forward has 23 hours
            date(2026, 3, 29),
            date(2026, 3, 29),
            ["2026-03-29", "2026-03-28"],
            ("2026-03-28T23:00:00.000000+00:00", "2026-03-29T22:00:00.000000+00:00"),
        ),
    ],
)
def test_county_days_are_read_from_the_utc_partitions_they_span(
    start: date, end: date, partitions: list[str], bounds: tuple[str, str]
) -> None:
    assert audit_query._period(start, end) == (partitions, bounds)


def test_the_longest_period_spans_one_partition_more_than_its_days() -> None:
    partitions, _ = audit_query._period(date(2026, 1, 1), date(2026, 1, 31))
    assert len(partitions) == audit_query.MAX_DAYS + 1 and partitions[-1] == "2025-12-31"
    with pytest.raises(DomainValidationError):
        audit_query._period(date(2026, 1, 1), date(2026, 2, 1))


@pytest.mark.parametrize(
    ("start", "end"), [(date(2026, 11, 3), date(2026, 11, 1)), (date(2026, 1, 1), date(2026, 2, 1))]
)
def test_reversed_or_too_long_periods_are_422_in_german(start: date, end: date) -> None:
    with pytest.raises(DomainValidationError) as e:
        audit_query._days(start, end)
    assert e.value.errors[0].field == "from" and e.value.errors[0].message[0].isupper()


def test_a_cursor_for_another_period_is_refused() -> None:
    cursor = encode_cursor("2026-11-03", {"day": "2026-11-03", "entry": "2026-11-03T10:00:00#X"})
    assert audit_query._start(cursor, ["2026-11-03"]) == (
        "2026-11-03",
        {"day": "2026-11-03", "entry": "2026-11-03T10:00:00#X"},
    )
    with pytest.raises(DomainValidationError):
        audit_query._start(cursor, ["2026-11-04"])
    with pytest.raises(DomainValidationError):
        audit_query._start("not-base64!", ["2026-11-03"])
    forged = encode_cursor("2026-11-03", {"day": "2026-11-02", "entry": "2026-11-02T10:00:00#X"})
    with pytest.raises(DomainValidationError):
        audit_query._start(forged, ["2026-11-02", "2026-11-03"])  # the key of another day than its scope
