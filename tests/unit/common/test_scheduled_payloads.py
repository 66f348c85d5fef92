"""``common.scheduled.occurrence`` (property-based): every schedule payload with any instant is accepted
as that occurrence; every mutation of it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.scheduled import ScheduledPayloadError, occurrence
from contracts.topology import FUNCTIONS, SCHEDULED_TIME, Function, Schedule

SCHEDULED = [(f, s) for f in FUNCTIONS.values() for s in f.schedules]
IDS = [f"{f.name}:{s.name}" for f, s in SCHEDULED]
INSTANTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda t: t.replace(microsecond=0))
OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


def sent(schedule: Schedule, instant: str) -> dict[str, Any]:
    return {k: instant if v == SCHEDULED_TIME else v for k, v in schedule.payload.items()}


@pytest.mark.parametrize(("function", "schedule"), SCHEDULED, ids=IDS)
@settings(max_examples=50, deadline=None)
@given(at=INSTANTS, offset=OFFSETS, zulu=st.booleans())
def test_the_payload_with_any_instant_is_that_occurrence(
    function: Function, schedule: Schedule, at: datetime, offset: timezone, zulu: bool
) -> None:
    text = at.strftime("%Y-%m-%dT%H:%M:%SZ") if zulu else at.astimezone(offset).isoformat()
    occ = occurrence(function, sent(schedule, text))
    assert (occ.schedule, occ.scheduled_time) == (schedule.name, at)


@st.composite
def mutations(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    kind = draw(st.sampled_from(["drop", "add", "change", "time"]))
    key = draw(st.sampled_from(sorted(payload)))
    if kind == "drop":
        del out[key]
    elif kind == "add":
        extra = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in payload))
        out[extra] = draw(JSON)
    elif kind == "change" and key != "scheduled_time":
        out[key] = draw(JSON.filter(lambda v: v != payload[key]))
    else:
        out["scheduled_time"] = draw(
            st.one_of(
                JSON.filter(lambda v: not isinstance(v, str)),
                st.just(SCHEDULED_TIME),
                INSTANTS.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%S")),  # no offset
                INSTANTS.map(lambda t: t.strftime("%d.%m.%Y %H:%M")),
                INSTANTS.map(lambda t: t.date().isoformat()),
                st.text(max_size=30),
            )
        )
    return out


@pytest.mark.parametrize(("function", "schedule"), SCHEDULED, ids=IDS)
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_every_mutation_is_refused(function: Function, schedule: Schedule, data: st.DataObject) -> None:
    event = data.draw(mutations(sent(schedule, "2026-12-07T06:00:00Z")))
    if any(event == sent(s, event.get("scheduled_time")) for s in function.schedules):  # type: ignore[arg-type]
        return  # a mutation that happens to be another schedule's payload (none today)
    with pytest.raises(ScheduledPayloadError):
        occurrence(function, event)


@settings(max_examples=100, deadline=None)
@given(event=JSON)
def test_arbitrary_json_is_no_occurrence(event: object) -> None:
    for function in {f.name: f for f, _ in SCHEDULED}.values():
        with pytest.raises(ScheduledPayloadError):
            occurrence(function, event)
