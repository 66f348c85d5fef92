"""Time in the local runtime: the simulated clock and the AWS cron expressions of EventBridge Scheduler."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from contracts.topology import Schedule

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAMES = {
    **{m: i + 1 for i, m in enumerate(_MONTHS)},
    **{d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))},
}


def _cron_field(text: str, lo: int, hi: int) -> set[int]:
    """One field of an AWS cron expression: ``*``, ``?``, numbers/names, lists, ranges, ``/`` steps."""
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step = part.partition("/")
        if rng in ("*", "?"):
            a, b = lo, hi
        elif "-" in rng:
            a, b = (int(_NAMES.get(x, x)) for x in rng.split("-"))
        else:
            a = int(_NAMES.get(rng, rng))
            b = hi if step else a
        if not (lo <= a <= hi and lo <= b <= hi):
            raise ValueError(f"cron field out of range: {text!r}")
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def schedule_times(sched: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """Instants (UTC) in ``(after, until]`` at which ``sched`` fires (``cron(...)`` in its time zone)."""
    m = re.fullmatch(r"cron\((.+)\)", sched.expression.strip())
    if not m or len(m.group(1).split()) != 6:
        raise ValueError(f"unsupported schedule expression {sched.expression!r}")
    minute, hour, dom, month, dow, year = m.group(1).split()
    minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
    doms, months, dows = _cron_field(dom, 1, 31), _cron_field(month, 1, 12), _cron_field(dow, 1, 7)
    years = _cron_field(year, 1970, 2199)
    tz = ZoneInfo(sched.timezone)
    out = []
    day: date = after.astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        if (
            day.month in months
            and day.year in years
            and day.day in doms
            and (day.weekday() + 1) % 7 + 1 in dows
        ):
            for h in sorted(hours):
                for mi in sorted(minutes):
                    t = datetime(day.year, day.month, day.day, h, mi, tzinfo=tz).astimezone(UTC)
                    if after < t <= until:
                        out.append(t)
        day += timedelta(days=1)
    return out


class SimClock:
    """Real time plus an offset that only grows (:meth:`LocalRuntime.advance`); ``start``: the instant the
    clock shows now (default: the real time)."""

    def __init__(self, start: datetime | None = None) -> None:
        self.offset = start - datetime.now(UTC) if start is not None else timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset
