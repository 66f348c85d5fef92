"""The audit log in the intake service (docs/datenschutz.md): intake's purposes, its entries, and
the office's reading of the whole log (``GET /audit``; the writer and the entry are :mod:`common.audit_log`).

Every read, list, creation, correction and withdrawal of intakes writes one entry *before* the data leave
the service (a read whose entry cannot be written fails).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from common.audit_log import AuditAction, AuditEntry, time_key
from common.cursor import decode_cursor, encode_cursor, invalid_cursor
from common.errors import DomainValidationError, FieldError
from contracts.calendar import day_start, local_date
from services.intake.dal.audit_reader import AuditLogRepository, InvalidAuditCursorError
from services.intake.models.audit_page import AuditPage

#: Longest period ``GET /audit`` reads at once (days, both ends included).
MAX_DAYS = 31


def _days(day_from: date, day_to: date) -> list[str]:
    """Days from ``day_to`` back to ``day_from`` (newest first)."""
    if day_from > day_to:
        raise DomainValidationError(
            [FieldError(field="from", message="Der Beginn muss vor dem Ende liegen.")]
        )
    if (day_to - day_from).days >= MAX_DAYS:
        raise DomainValidationError(
            [FieldError(field="from", message=f"Höchstens {MAX_DAYS} Tage auf einmal abfragen.")]
        )
    return _newest_first(day_from, day_to)


def _newest_first(first: date, last: date) -> list[str]:
    return [(last - timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


#: The start key of a cursor that begins a day partition at its newest entry (never an entry's key).
_NEWEST = "~"


def _period(day_from: date, day_to: date) -> tuple[list[str], tuple[str, str]]:
    """The table's day partitions (UTC days, newest first) that the county's days ``day_from``..``day_to``
    (Europe/Berlin, :mod:`contracts.calendar`) span, and the bounds of their entries' sort keys: from
    00:00 in Ludwigsburg on ``day_from`` (included) to 00:00 on the day after ``day_to`` (excluded; an
    entry's key ``<iso>#<ulid>`` sorts above its instant, so the upper bound of ``BETWEEN`` leaves it out).
    A county day spans two UTC days (23:00/22:00 UTC the evening before to 23:00/22:00 UTC)."""
    _days(day_from, day_to)  # the period's rules, on the days the office asked for
    start, end = day_start(day_from), day_start(day_to + timedelta(days=1))
    first, last = start.astimezone(UTC).date(), (end - timedelta(microseconds=1)).astimezone(UTC).date()
    return _newest_first(first, last), (time_key(start), time_key(end))


def _start(cursor: str, days: list[str]) -> tuple[str, dict[str, str]]:
    """The day and start key in ``cursor``; the day must be one of ``days`` and the key of that day."""
    day, key = decode_cursor(cursor, keys=("day", "entry"))
    if day not in days or key["day"] != day:
        raise invalid_cursor()
    return day, key


def list_entries(
    *,
    day_from: date | None,
    day_to: date | None,
    actor: str | None,
    action: AuditAction | None,
    intake_id: str | None,
    limit: int,
    cursor: str | None,
    now: datetime,
    journal: AuditLogRepository | None = None,
) -> AuditPage:
    """Entries of ``day_from``..``day_to`` (days in the county, as the office's calendar shows them;
    default: today; at most :data:`MAX_DAYS`), newest first, filtered by caller (``actor`` = Cognito sub),
    action and intake id.

    Raises ``DomainValidationError`` (422) for a reversed or too long period or a foreign cursor."""
    journal = journal or AuditLogRepository()
    today = local_date(now)
    day_to = day_to or (day_from if day_from and day_from > today else today)
    days, between = _period(day_from or day_to, day_to)
    filters = {k: v for k, v in (("actor", actor), ("action", action), ("intake_id", intake_id)) if v}
    start_day, start_key = _start(cursor, days) if cursor else (days[0], None)
    if start_key and start_key["entry"] == _NEWEST:
        start_key = None
    items: list[AuditEntry] = []
    for day in days[days.index(start_day) :]:
        try:
            found, lek = journal.query_day(
                day,
                between=between,
                filters=filters,
                not_expired_at=int(now.timestamp()),
                limit=limit - len(items),
                start_key=start_key,
            )
        except InvalidAuditCursorError:
            raise invalid_cursor() from None
        start_key = None
        items += found
        if lek:
            return AuditPage(items=items, next_cursor=encode_cursor(day, lek))
        if len(items) >= limit:
            following = days[days.index(day) + 1 :]
            next_cursor = (
                encode_cursor(following[0], {"day": following[0], "entry": _NEWEST}) if following else None
            )
            return AuditPage(items=items, next_cursor=next_cursor)
    return AuditPage(items=items)
