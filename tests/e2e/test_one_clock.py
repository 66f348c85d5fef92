"""One clock (docs/adr/0003-one-clock.md): under the local runtime's simulated clock, years away from the real
date, every timestamp the platform stores comes from that clock — never from the machine's.

The whole life of a few students runs through the product's entry points: intakes submitted, uploaded as a
class list, corrected and withdrawn (intake API); a companion's leave ending, so the daily sweep assigns the
waiting students (scheduled run); an exit recorded (matching API); reporting consuming every event, the
daily check, the Monday report (scheduled) and a report on demand (reporting API). Then every item of every
table, every e-mail's ``Date`` and every object key is searched for instants (ISO 8601 date-times, epoch
seconds, ULIDs): each lies in the simulated period, and every TTL after it.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email import message_from_bytes
from email.utils import parsedate_to_datetime
from typing import Any

import boto3
import pytest
from moto.ses.models import ses_backends
from ulid import ULID

from avdual.runtime import ACCOUNT, REGION, LocalRuntime
from contracts.topology import BUCKETS, IDEMPOTENCY, TABLES
from services.reporting.dal.aggregates import counters_of
from tests.conftest import VALID_FORM, companion

OFFICE = {"sub": "office-clock", "cognito:groups": "office", "cognito:username": "buero"}
SCHOOL = {"sub": "school-clock", "cognito:groups": "school-RFS", "cognito:username": "lehrkraft-rfs"}

#: Wednesday 3 September 2031, 10:00 in Ludwigsburg: years after the real date, school year 2031/32.
T0 = datetime(2031, 9, 3, 8, 0, tzinfo=UTC)
SCHOOL_YEAR = "2031/32"
#: Companion A is on leave until Friday 5 September (inclusive): the sweep on Saturday 06:30 local assigns.
LEAVE = {"start": "2031-09-01", "end": "2031-09-05"}
SWEEP_AFTER_LEAVE = datetime(2031, 9, 6, 4, 30, tzinfo=UTC)  # 06:30 CEST

ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")
ULID_TEXT = re.compile(r"(?<![0-9A-Za-z])[0-7][0-9A-HJKMNP-TV-Z]{25}(?![0-9A-Za-z])")


def _form(given: str, **changes: Any) -> dict[str, Any]:
    f = copy.deepcopy(VALID_FORM)
    f["school_year"] = SCHOOL_YEAR
    f["student"].update(given_name=given, date_of_birth="2015-04-11")
    f["consent"]["given_on"] = "2031-09-01"
    f.update(changes)
    return f


def _class_list() -> tuple[bytes, str]:
    """A class list of one student (multipart upload as the web form sends it)."""
    buf = io.StringIO()
    csv.writer(buf, delimiter=";").writerows(
        [
            [
                *("Vorname", "Nachname", "Geburtsdatum", "Geschlecht", "Klasse", "Einwilligung Schüler/in"),
                *("Datum Einwilligung", "Einwilligung Erziehungsberechtigte", "Version Einwilligungstext"),
            ],
            ["Lio", "Muster", "11.04.2015", "m", "AVd1a", "ja", "01.09.2031", "ja", "EV-2031-08"],
        ]
    )
    boundary = "----avdualclockboundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="school_year"\r\n\r\n{SCHOOL_YEAR}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="klasse.csv"\r\n'
        f"Content-Type: text/csv\r\n\r\n{buf.getvalue()}\r\n--{boundary}--\r\n"
    ).encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _life_of_a_few_students(rt: LocalRuntime) -> dict[str, str]:
    a = companion("A", ["RFS"], 3, leave_periods=[LEAVE])
    assert rt.api("POST", "/companions", body=a, claims=OFFICE).status == 200
    assert rt.api("POST", "/companions", body=companion("B", ["RFS"], 1), claims=OFFICE).status == 200
    rt.drain()
    ids = {}
    for name in ("Ada", "Ben", "Cem"):
        r = rt.api("POST", "/intakes", body=_form(name), claims=SCHOOL)
        assert r.status == 201, r.body
        ids[name] = r.json()["intake_id"]
    body, ctype = _class_list()
    r = rt.api("POST", "/intakes/batch", body_bytes=body, headers={"Content-Type": ctype}, claims=SCHOOL)
    assert r.status == 200 and r.json()["stored"] == 1, r.body
    ids["Lio"] = r.json()["rows"][0]["intake_id"]
    rt.drain()
    r = rt.api("PATCH", f"/intakes/{ids['Ada']}", body={"career_fields": ["it"]}, claims=SCHOOL)
    assert r.status == 200, r.body
    assert rt.api("GET", f"/intakes/{ids['Ben']}", claims=OFFICE).status == 200  # audited read
    rt.drain()
    states = {a["intake_id"]: (a["status"], a.get("companion_id")) for a in rt.scan("assignments")}
    assert states[ids["Ada"]] == ("assigned", "B")  # A is on leave
    assert {states[ids[n]][0] for n in ("Ben", "Cem", "Lio")} == {"waitlisted"}

    fired = rt.advance(timedelta(days=5))  # to Monday 8 September 10:00 local: daily sweeps, checks, report
    assert (SWEEP_AFTER_LEAVE, "waitlist-sweep") in fired and any(n == "weekly-report" for _, n in fired)
    by_id = {a["intake_id"]: a for a in rt.scan("assignments")}
    for n in ("Ben", "Cem", "Lio"):
        a = by_id[ids[n]]
        assert (a["status"], a["companion_id"]) == ("assigned", "A"), n
        assert datetime.fromisoformat(a["assigned_at"]) == SWEEP_AFTER_LEAVE  # the sweep's scheduled time

    # an exit dated in the next school year: Ada's data follow that school year (one retention rule)
    exit_body = {"exit_date": "2032-08-03", "reason": "completed", "destination": "dual_training"}
    r = rt.api("POST", f"/assignments/{ids['Ada']}/exit", body=exit_body, claims=OFFICE)
    assert r.status == 200, r.body
    r = rt.api("POST", f"/intakes/{ids['Cem']}/withdraw", body={"reason": "consent_withdrawn"}, claims=SCHOOL)
    assert r.status == 200, r.body
    rt.drain()
    rt.advance(timedelta(hours=2))
    r = rt.api("POST", "/reports", body={"report_type": "weekly", "period": "this_week"}, claims=OFFICE)
    assert r.status == 201, r.body
    rt.drain()
    return ids


def _instants(value: Any, path: str) -> Iterator[tuple[str, datetime]]:
    """Every instant in a stored value: ISO 8601 date-times and ULIDs in strings (also inside JSON held in
    strings), epoch seconds / milliseconds in numbers."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _instants(v, f"{path}.{k}")
    elif isinstance(value, list | tuple | set):
        for i, v in enumerate(value):
            yield from _instants(v, f"{path}[{i}]")
    elif isinstance(value, str):
        yield from _instants_in_text(value, path)
    elif isinstance(value, int | Decimal) and not isinstance(value, bool):
        if 10**9 <= value < 4 * 10**9:
            yield path, datetime.fromtimestamp(int(value), UTC)
        elif 10**12 <= value < 4 * 10**12:
            yield path, datetime.fromtimestamp(int(value) / 1000, UTC)


def _instants_in_text(text: str, path: str) -> Iterator[tuple[str, datetime]]:
    for m in ISO_INSTANT.finditer(text):
        t = datetime.fromisoformat(m.group(0).replace("Z", "+00:00"))
        yield path, t if t.tzinfo else t.replace(tzinfo=UTC)
    for m in ULID_TEXT.finditer(text):
        yield f"{path}<ulid>", ULID.from_str(m.group(0)).datetime


def _stored_instants(rt: LocalRuntime) -> Iterator[tuple[str, str | None, datetime]]:
    """``(place, TTL attribute of the place or None, instant)`` of everything stored: every table, the
    ``Date`` of every e-mail sent, every object key."""
    for table in TABLES.values():
        if table.name == IDEMPOTENCY.name:
            # Powertools' dedup window (``expiration``, ``in_progress_expiration``) is computed from the
            # system time inside the library; it is no timestamp of the domain (docs/adr/0003-one-clock.md).
            continue
        for item in rt.scan(table.name):
            for path, t in _instants(item, table.name):
                yield path, table.ttl_attribute, t
    for m in ses_backends[ACCOUNT][REGION].sent_messages:
        yield "ses.Date", None, parsedate_to_datetime(message_from_bytes(m.raw_data.encode())["Date"])
    s3 = boto3.client("s3")
    for bucket in BUCKETS:
        for obj in s3.list_objects_v2(Bucket=rt.names[bucket]).get("Contents", []):
            for path, t in _instants(obj["Key"], f"s3.{bucket}"):
                yield path, None, t
            for day in re.findall(r"\d{4}-\d{2}-\d{2}", obj["Key"]):  # the report's local date
                yield f"s3.{bucket}.day", None, datetime.combine(date.fromisoformat(day), time(12), UTC)


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[LocalRuntime, dict[str, str], datetime]]:
    """The runtime after the students' life, their intake ids, and the simulated time at the end."""
    with LocalRuntime(stage="clock", log_level="ERROR", clock_start=T0) as rt:
        ids = _life_of_a_few_students(rt)
        yield rt, ids, rt.clock.now()


def test_every_stored_timestamp_comes_from_the_simulated_clock(
    world: tuple[LocalRuntime, dict[str, str], datetime],
) -> None:
    rt, _, end = world
    seen: Counter[str] = Counter()
    wrong = []
    for path, ttl, t in _stored_instants(rt):
        place, attribute = path.split(".")[0], path.split(".")[1].split("<")[0].split("[")[0]
        seen[place] += 1
        # an expiry lies after everything that happened; what happened lies in the simulated period (a
        # lease may reach a little ahead)
        ok = t > end if attribute == ttl else T0 <= t <= end + timedelta(days=1)
        if not ok:
            wrong.append(f"{path} = {t.isoformat()}")
    assert not wrong, "\n".join(wrong)
    # the search found the timestamps of every store (it cannot pass by finding nothing)
    stores = ("intakes", "intake-outbox", "audit-log", "assignments", "matching-outbox", "aggregates")
    assert all(seen[s] > 0 for s in (*stores, "ses", "s3")), seen

    # time to assignment comes from the same clock: Ben and Lio waited 2 days (Cem withdrew), Ada none
    counters = counters_of(i for i in rt.scan("aggregates") if i["pk"] == f"year#{SCHOOL_YEAR}")
    assert (counters.get("wait#0"), counters.get("wait#1-7")) == (1, 2), counters


def test_every_store_writes_the_same_expiry_for_a_student(
    world: tuple[LocalRuntime, dict[str, str], datetime],
) -> None:
    """One retention rule (contracts/retention.py): intake, matching and reporting expire a student's data at
    the same instant — the end of 31 July a year after the school year the student left in."""
    rt, ids, _ = world
    this_year = datetime(2033, 7, 31, 22, 0, tzinfo=UTC)  # 2031/32: 1 August 2033 00:00 in Ludwigsburg
    next_year = datetime(2034, 7, 31, 22, 0, tzinfo=UTC)  # Ada's exit is dated in 2032/33
    expected = {"Ada": next_year, "Ben": this_year, "Cem": this_year, "Lio": this_year}
    by_id = {v: k for k, v in ids.items()}
    found: dict[str, dict[str, datetime]] = {name: {} for name in ids}

    def note(place: str, intake_id: str, item: dict[str, Any]) -> None:
        if intake_id in by_id:
            found[by_id[intake_id]][place] = datetime.fromtimestamp(int(item["expires_at"]), UTC)

    for item in rt.scan("intakes"):
        note("intakes", item["intake_id"], item)
    for item in rt.scan("assignments"):
        note("assignments", item["intake_id"], item)
    for item in rt.scan("aggregates"):
        pk, sk = item["pk"], item["sk"]
        if pk.startswith("student#"):
            note("reporting state", pk.removeprefix("student#"), item)
        elif pk.startswith("waitlist#"):
            note("reporting waitlist", sk, item)
        elif pk == "alert#waitlisted":
            note("reporting alert", sk.split("#")[0], item)
    for name, places in found.items():
        assert {"intakes", "assignments", "reporting state"} <= set(places), (name, places)
        assert set(places.values()) == {expected[name]}, (name, places)
    assert {"reporting waitlist", "reporting alert"} <= set(found["Ben"])  # the waiting students' too
