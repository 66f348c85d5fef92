"""DynamoDB, S3 and SES access of the reporting service (the only boto3 code of reporting).

Items of the ``aggregates`` table (pk / sk):

* ``student#<intake_id>`` / ``state`` – the merged :class:`StudentState` (JSON) with a ``version`` for
  optimistic concurrency; TTL ``expires_at`` by the one retention rule (``contracts.retention``: the school
  year the student left in — of the exit date once recorded — plus one year)
* ``year#<school year>`` / ``counts…`` – the counters (see ``logic.projection.counters``) as attributes named
  by their keys, a few items per school (``models.aggregates.COUNTS_ITEM``), read back as counters by their
  keys; ``year#<school year>`` / ``<counter>`` – a caseload counter ``n`` (in the caseload index), and any
  counter a stage stored as an item of its own before (a read adds it in, as it does ``months#<school>``)
* ``waitlist#<school year>`` / ``<intake_id>`` – a student's waiting periods (TTL like the state)
* ``waiting#<school year>`` / ``<start>#<intake_id>`` – the open waiting period of a student, and
  ``waited#<school year>`` / ``<end>#<intake_id>#<start>`` – each ended one (instants as
  ``models.aggregates.instant_key``), each with the student's waitlist item; ``waitopen#<school year>`` /
  ``<day>`` – a counter of the open ones by the UTC day they began. Written with the waitlist item; what a
  report reads instead of the whole waitlist (docs/adr/0023-bounded-report-reads.md)
* ``goals#<school year>`` / ``<companion_id>`` – the goal-agreement figures of the companion's students now
  (``students``, ``done``, ``due<k>``) and how far behind it is (``behind<p>``), kept with ``ADD``; in the
  indexes ``goals_behind_<p>`` by school year (``goals_year``) and ``behind<p>``
  (docs/adr/0023-bounded-report-reads.md)
* ``companions`` / ``<companion_id>`` – name, capacity, schools, FTE from ``CompanionUpdated`` (last writer
  wins); ``registry`` / ``totals`` – their totals (companions, capacity, FTE, FTE per school, companions per
  capacity), kept with ``ADD`` in the transaction of each change (docs/adr/0023-bounded-report-reads.md)
* ``alert#<kind>`` / ``<key>`` – alerts sent (claimed before sending, so duplicates send nothing); a
  student's alert expires with the student's data
* ``digest#<kind>`` / ``current`` – the alert window open now; ``digest#<kind>`` / ``window#<end>`` – a window
  and the state of its digest; ``digest#<kind>#<end>`` / ``<key>`` – the alerts collected in it
* ``reports`` / ``<report_id>`` – the report index; ``reportrun`` / ``<run key>`` – scheduled runs
"""

from __future__ import annotations

import json
import os
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import chain
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from common import aws, settings
from common.dynamodb import all_items, batch_get, cancellation_codes, condition_failed, serialize, to_dynamo
from common.events import OutgoingEvent
from common.outbox import outbox_puts
from contracts import retention
from contracts.calendar import whole_days
from contracts.casework import GOAL_MEETINGS_PER_YEAR
from contracts.reference import SCHOOLS
from contracts.topology import (
    CAPACITY_INDEX,
    CASELOAD_INDEX,
    OFFICE_MAIL,
    REPORTING_OUTBOX,
    goals_behind_index,
)
from services.reporting.models.aggregates import (
    COMPANION_COUNTER,
    COMPANION_GOALS,
    COUNTS_ITEM,
    IN_PROGRAMME,
    MONTHS_ITEM,
    NO_INTERNSHIP,
    OPEN_WAITS,
    REGISTRY_TOTALS,
    WAITED,
    WAITING,
    CompanionGoals,
    CompanionInfo,
    CompanionLoad,
    RegistryTotals,
    ReportRecord,
    StudentState,
    WaitlistItem,
    WaitlistSlice,
    day_key,
    instant_key,
    long_cutoff,
    registry_contribution,
    registry_sum,
)

AGGREGATES, REPORTS, OUTBOX = "aggregates", "reports", REPORTING_OUTBOX.name

CounterKey = tuple[str, str]
#: A counter read for a report: its key and value only.
_COUNTER_ATTRIBUTES: dict[str, Any] = {
    "ProjectionExpression": "#k, #n",
    "ExpressionAttributeNames": {"#k": "sk", "#n": "n"},
}


@dataclass(frozen=True)
class Window:
    """An alert window of one kind: its end (UTC instant, ``instant()``), whether its digest is scheduled, and
    whether this call opened it."""

    kind: str
    end: str
    scheduled: bool
    created: bool


def instant(t: datetime) -> str:
    """A UTC instant as stored (seconds; sorts as it orders): ``2026-11-30T08:15:00Z``."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ttl(end: str) -> int:
    """Alert windows are kept for 60 days (long after their digest)."""
    return int(datetime.fromisoformat(end).timestamp()) + 60 * 86400


WRITTEN_STATES = 4096
"""How many student states a process remembers as it wrote them (:meth:`AggregateStore.last_written`): a
student's facts arrive within seconds, mostly at the same warm container, so its second fact starts from
the state its first one wrote instead of reading it (docs/performance.md)."""
_WRITTEN: OrderedDict[tuple[str, str], StudentState] = OrderedDict()


class StaleStateError(RuntimeError):
    """The student's state changed between read and write (concurrent delivery); re-read and retry."""


def year_pk(school_year: str) -> str:
    return f"year#{school_year}"


class AggregateStore:
    """Reads and writes the ``aggregates`` table."""

    def __init__(self, table: Any | None = None, client: Any | None = None):
        self._t, self._client = table, client

    @property
    def table(self) -> Any:
        return self._t or aws.table(AGGREGATES)

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")

    # ------------------------------------------------------------------ per-student state
    def last_written(self, intake_id: str) -> StudentState | None:
        """The state of the student as this process last wrote it (a copy), if it still remembers it: the
        starting point of the next fact without a read. Not proof of what is stored – another writer may
        have changed it since – so a write based on it is conditional on its version like any other."""
        known = _WRITTEN.get((settings.table_name(AGGREGATES), intake_id))
        return known.model_copy(deep=True) if known is not None else None

    def get_state(self, intake_id: str) -> StudentState | None:
        item = self.table.get_item(
            Key={"pk": f"student#{intake_id}", "sk": "state"}, ConsistentRead=True
        ).get("Item")
        if not item:
            return None
        return StudentState.model_validate({**json.loads(item["state"]), "version": int(item["version"])})

    def save_state(
        self,
        old: StudentState | None,
        new: StudentState,
        deltas: Counter[CounterKey],
        waitlist: WaitlistItem | None,
        *,
        replaces: WaitlistItem | None = None,
    ) -> None:
        """Write the new state, its waitlist item (with its periods' index items, the ones of ``replaces``
        that it no longer has deleted) and the counter deltas in one transaction, conditional on the state
        read (``old``). Raises :class:`StaleStateError` if it changed meanwhile."""
        name = settings.table_name(AGGREGATES)
        version = (old.version if old else 0) + 1
        state = {
            "pk": f"student#{new.intake_id}",
            "sk": "state",
            "version": version,
            "school_year": new.school_year,
            "expires_at": retention.expires_at(new.school_year, new.exit_date),
            "state": json.dumps(new.content(), ensure_ascii=False, separators=(",", ":")),
        }
        put: dict[str, Any] = {"TableName": name, "Item": serialize(state)}
        if old is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(old.version)}}
        items: list[dict[str, Any]] = [{"Put": put}]
        if waitlist is not None:
            records = waitlist_records(waitlist, retention.expires_at(new.school_year, new.exit_date))
            kept = {(r["pk"], r["sk"]) for r in records}
            items += [{"Put": {"TableName": name, "Item": serialize(r)}} for r in records]
        else:
            kept = set()
        if replaces is not None:
            gone = [k for k in _waitlist_keys(replaces) if k not in kept]
            items += [
                {"Delete": {"TableName": name, "Key": {"pk": {"S": pk}, "sk": {"S": sk}}}}
                for pk, sk in sorted(gone)
            ]
        items += [{"Update": {"TableName": name, **u}} for u in counter_updates(deltas)]
        key = (name, new.intake_id)
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as e:
            _WRITTEN.pop(key, None)
            # another transaction on one of the items (a counter item many facts share) at the same moment:
            # retried like a stale state, from a fresh read
            if condition_failed(e) or "TransactionConflict" in cancellation_codes(e):
                raise StaleStateError(new.intake_id) from None
            raise
        _WRITTEN[key] = new.model_copy(update={"version": version}, deep=True)
        _WRITTEN.move_to_end(key)
        while len(_WRITTEN) > WRITTEN_STATES:
            _WRITTEN.popitem(last=False)

    # ------------------------------------------------------------------ counters
    def counters(self, school_year: str, *, per_companion: bool = True) -> dict[str, int]:
        """All counters of a school year (one query of the year's partition, never a scan of students);
        without ``per_companion`` the caseload counters (``companion#…``, one per companion) are not read:
        two queries of the key ranges before and after them."""
        pk = year_pk(school_year)
        if per_companion:
            items: Iterable[dict[str, Any]] = self._query(pk)
        else:  # "$" follows "#": every "companion#…" key lies between the two ranges
            items = chain(
                self._query(pk, sort=Key("sk").lt(f"{COMPANION_COUNTER}#")),
                self._query(pk, sort=Key("sk").gte(f"{COMPANION_COUNTER}$")),
            )
        return counters_of(items)

    def counter(self, school_year: str, key: str) -> int:
        """One counter of a school year: from the item that holds it, plus an item of its own that a stage
        may hold from before (one ``BatchGetItem``, consistent)."""
        pk = year_pk(school_year)
        home = counter_home(pk, key)
        keys = [{"pk": pk, "sk": key}] + ([{"pk": pk, "sk": home[0]}] if home else [])
        items = batch_get(self.table, keys, ConsistentRead=True)
        return counters_of(items).get(key, 0)

    def add_counters(self, deltas: Counter[CounterKey]) -> None:
        """Apply counter deltas without a student state (bulk loading for benchmarks and tests)."""
        for u in counter_updates(deltas):
            self.client.update_item(TableName=self.table.name, **u)

    def put_counters(self, totals: Mapping[CounterKey, int]) -> None:
        """Write counters as they are (a fresh table: bulk loading for benchmarks), the companions' goal
        figures as their items."""
        with self.table.batch_writer() as bw:
            for (pk, sk), values in _group_counters(totals).items():
                if values is None:
                    year = _caseload_year(pk, sk)
                    extra = {CASELOAD_INDEX.pk: year} if year is not None else {}
                    bw.put_item(Item={"pk": pk, "sk": sk, "n": totals[(pk, sk)], **extra})
                elif _is_goal_item(pk):
                    bw.put_item(Item={"pk": pk, "sk": sk, **_goal_item_values(pk, values)})
                else:
                    bw.put_item(Item={"pk": pk, "sk": sk, **values})

    def companion_goals(self, school_year: str, *, passed: int, limit: int) -> list[CompanionGoals]:
        """The companions with students furthest behind with their goal-agreement meetings once ``passed`` due
        days have passed: the ``limit`` first of the index ``goals_behind_<passed>`` (most behind first) and
        every other companion as far behind as the last of them (ties, which the report orders by code).
        Never the whole partition (docs/adr/0023-bounded-report-reads.md). The index is eventually
        consistent, like every global secondary index."""
        index = goals_behind_index(passed)
        assert index.sk is not None
        query: dict[str, Any] = {
            "IndexName": index.name,
            "KeyConditionExpression": Key(index.pk).eq(school_year),
            "FilterExpression": Attr("students").gt(0),
            "ScanIndexForward": False,
        }
        found: dict[str, CompanionGoals] = {}
        more, start = True, None
        while more and len(found) < limit:
            resp = self.table.query(**query, Limit=limit, **({"ExclusiveStartKey": start} if start else {}))
            for i in resp["Items"]:
                found.setdefault(i["sk"], _companion_goals(i))
            start = resp.get("LastEvaluatedKey")
            more = start is not None
        if more and found:
            last = sorted(g.behind(passed) for g in found.values())[-limit]
            query["KeyConditionExpression"] = Key(index.pk).eq(school_year) & Key(index.sk).eq(last)
            for i in all_items(self.table.query, **query):
                found.setdefault(i["sk"], _companion_goals(i))
        return list(found.values())

    def _query(self, pk: str, sort: Any = None, **extra: Any) -> Iterator[dict[str, Any]]:
        """Every item of the partition ``pk`` (all pages, consistent), within the sort key condition
        ``sort``."""
        key = Key("pk").eq(pk) if sort is None else Key("pk").eq(pk) & sort
        return all_items(self.table.query, KeyConditionExpression=key, ConsistentRead=True, **extra)

    # ------------------------------------------------------------------ waitlist periods
    def waitlist(self, school_year: str) -> list[WaitlistItem]:
        """Every waitlist item of the school year; of each only the attribute the report reads (``item``)."""
        items = self._query(
            f"waitlist#{school_year}", ProjectionExpression="#i", ExpressionAttributeNames={"#i": "item"}
        )
        return [WaitlistItem.model_validate_json(i["item"]) for i in items]

    def put_waitlist_items(self, items: list[WaitlistItem]) -> None:
        """Bulk write with their index items (benchmarks); the consumer writes them in :meth:`save_state`
        (the counters of the open waits come with the other counters)."""
        with self.table.batch_writer() as bw:
            for w in items:
                for record in waitlist_records(w, retention.expires_at(w.school_year)):
                    bw.put_item(Item=record)

    def waitlist_slice(
        self, school_year: str, *, at: datetime, instants: Sequence[datetime], long_days: int, limit: int
    ) -> WaitlistSlice:
        """What a report shows of the waitlist, read bounded by it (docs/adr/0023-bounded-report-reads.md):
        at ``at`` and each of ``instants`` (none later than now) how many wait and how many longer than
        ``long_days``, and the students among the ``limit`` longest waits at ``at`` (ties included). Reads
        the counters of the open waits (one per day), the open waits of the days the instants fall on, the
        waits ended since the earliest instant, and the ``limit`` earliest open waits."""
        sy = school_year
        out = WaitlistSlice(at=at, long_days=long_days)
        earliest = min([at, *instants])
        ended = [
            (_period_of(w, i["sk"]), w)
            for i in self._query(f"{WAITED}#{sy}", sort=Key("sk").gt(instant_key(earliest)))
            for w in [WaitlistItem.model_validate_json(i["item"])]
        ]
        per_day = {
            i["sk"]: int(i.get("n", 0)) for i in self._query(f"{OPEN_WAITS}#{sy}", **_COUNTER_ATTRIBUTES)
        }

        def open_until(t: datetime) -> int:
            """Open waits now that began by ``t``: the days before in the counters, the day of ``t`` read."""
            day = day_key(t)
            same_day = self._query(
                f"{WAITING}#{sy}",
                sort=Key("sk").between(day, f"{instant_key(t)}#~"),
                ProjectionExpression="#k",
                ExpressionAttributeNames={"#k": "sk"},
            )
            return sum(n for d, n in per_day.items() if d < day) + sum(1 for _ in same_day)

        def ended_between(began_by: datetime, t: datetime) -> int:
            return sum(1 for (start, end), _ in ended if start <= began_by and end > t)

        for t in {at, *instants}:
            cutoff = long_cutoff(t, long_days)
            out.waiting[t] = open_until(t) + ended_between(t, t)
            out.long[t] = open_until(cutoff) + ended_between(cutoff, t)
        out.longest = self._longest(sy, at, long_days, limit, [w for (s, e), w in ended if s <= at < e])
        return out

    def _longest(
        self, sy: str, at: datetime, long_days: int, limit: int, ended: list[WaitlistItem]
    ) -> list[WaitlistItem]:
        """Candidates of the ``limit`` longest waits at ``at``: the earliest open ones, the ones ended since
        ``at`` and every open one as long as the last of them (whole days; ties go by intake id)."""
        pk, upto = f"{WAITING}#{sy}", f"{instant_key(at)}#~"
        resp = self.table.query(
            KeyConditionExpression=Key("pk").eq(pk) & Key("sk").lte(upto), ConsistentRead=True, Limit=limit
        )
        earliest = [WaitlistItem.model_validate_json(i["item"]) for i in resp["Items"]]
        found = {w.intake_id: w for w in [*earliest, *ended]}
        if len(earliest) == limit and "LastEvaluatedKey" in resp:
            days = sorted(whole_days(_start_at(w, at), at) for w in found.values())
            tie = days[-limit]  # the days of the limit-th longest wait
            low, high = at - timedelta(days=tie + 1), at - timedelta(days=tie)
            for i in self._query(pk, sort=Key("sk").between(instant_key(low), f"{instant_key(high)}#~")):
                w = WaitlistItem.model_validate_json(i["item"])
                found.setdefault(w.intake_id, w)
        return list(found.values())

    # ------------------------------------------------------------------ companions
    def put_companion(self, c: CompanionInfo) -> bool:
        """Store unless a newer update is already stored (last writer wins by ``updated_at``), and add the
        change to the registry totals (:data:`REGISTRY_TOTALS`) in the same transaction: the stored item is
        read first and the write is conditional on its ``updated_at`` (the registry item's version), so a
        replayed or retried update adds nothing twice and two concurrent ones cannot both add their change
        (docs/adr/0023-bounded-report-reads.md). False if a newer or the same update was stored already."""
        assert c.updated_at is not None
        key = {"pk": "companions", "sk": c.companion_id}
        name = settings.table_name(AGGREGATES)
        for _ in range(10):
            item = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
            old, _alerted = _companion(c.companion_id, item)
            stored = item.get("updated_at") if item else None
            if stored is not None and stored >= c.updated_at.isoformat():
                return False
            update = _companion_update(c)
            if stored is None:
                update["ConditionExpression"] = "attribute_not_exists(#u)"
            else:
                update["ConditionExpression"] = "#u = :was"
                update["ExpressionAttributeValues"][":was"] = stored
            items: list[dict[str, Any]] = [
                {"Update": {"TableName": name, "Key": serialize(key), **_low_level(update)}}
            ]
            delta = registry_contribution(c)
            delta.subtract(registry_contribution(old))
            adds = {a: n for a, n in sorted(delta.items()) if n}
            if adds:
                items.append({"Update": {"TableName": name, **_totals_update(adds)}})
            try:
                self.client.transact_write_items(TransactItems=items)
                return True
            except ClientError as e:
                if not condition_failed(e, item=0):
                    raise
        raise StaleStateError(f"companions#{c.companion_id}")

    def registry_totals(self) -> RegistryTotals:
        """The totals of the companion registry (one item)."""
        pk, sk = REGISTRY_TOTALS
        item = self.table.get_item(Key={"pk": pk, "sk": sk}, ConsistentRead=True).get("Item") or {}
        return RegistryTotals.of({k: v for k, v in item.items() if k not in ("pk", "sk")})

    def put_companions(self, companions: Iterable[CompanionInfo]) -> None:
        """Write companions as they are with their registry totals (a fresh table: bulk loading for
        benchmarks); the consumer stores them one by one with :meth:`put_companion`."""
        listed = list(companions)
        pk, sk = REGISTRY_TOTALS
        with self.table.batch_writer() as bw:
            for c in listed:
                bw.put_item(Item={"pk": "companions", "sk": c.companion_id, **_companion_attributes(c)})
            bw.put_item(Item={"pk": pk, "sk": sk, **_registry_attributes(listed)})

    def companions(self) -> dict[str, CompanionInfo]:
        out = {}
        for i in self._query("companions"):
            if "capacity" not in i:
                continue  # only an alert flag so far
            out[i["sk"]] = _companion_info(i["sk"], i)
        return out

    def companions_by_id(self, ids: Iterable[str]) -> dict[str, CompanionInfo]:
        """The registry's companions of ``ids`` (``BatchGetItem``; ids the registry does not know are left
        out)."""
        keys = [{"pk": "companions", "sk": cid} for cid in sorted(set(ids))]
        found = batch_get(self.table, keys, ConsistentRead=True) if keys else iter(())
        return {i["sk"]: _companion_info(i["sk"], i) for i in found if "capacity" in i}

    def caseloads(self, school_year: str, ids: Iterable[str]) -> dict[str, int]:
        """The caseload of each companion of ``ids`` in ``school_year`` (0 without a counter)."""
        wanted = sorted(set(ids))
        keys = [_caseload_key(school_year, cid) for cid in wanted]
        found = batch_get(self.table, keys, ConsistentRead=True, **_COUNTER_ATTRIBUTES) if keys else iter(())
        loads = {_caseload_companion(i["sk"]): int(i.get("n", 0)) for i in found}
        return {cid: loads.get(cid, 0) for cid in wanted}

    def most_loaded(self, school_year: str, *, limit: int, registry: RegistryTotals) -> list[CompanionLoad]:
        """The ``limit`` most loaded companions of ``school_year`` (by :attr:`CompanionLoad.rank`: caseload ÷
        capacity, caseload, code), exact, without reading every companion
        (docs/adr/0023-bounded-report-reads.md). Two sorted reads and what they bound:

        * the caseloads in descending order (``CASELOAD_INDEX``, a page of ``limit`` at a time): every
          companion not read yet has at most the caseload read last;
        * the registry's companions by capacity, one whole capacity at a time from the smallest
          (``CAPACITY_INDEX``; how many have each capacity is in ``registry``): every companion not read
          yet has at least the smallest capacity not read.

        Each companion found by one read gets its other figure by key (``BatchGetItem``). It stops when the
        ``limit``-th found has a ratio above anything unread can have (caseload read last ÷ smallest
        capacity unread; 0 once either read has come to its end). The next read is a capacity when it
        costs no more items than the caseloads read so far, else a page of caseloads; when the
        ``limit``-th found lies exactly at that bound, the rest of the companions with the caseload read
        last (all of them, one query), after which every unread caseload is below it. A registry of at
        most ``limit`` companions, or a county where fewer than ``limit`` companions have a ratio above 0,
        is read whole."""
        if registry.companions <= limit:
            return self._every_load(school_year)
        read = _LoadRead(self, school_year, limit, registry)
        while True:
            if not read.step():  # both read to their end and still undecided: fewer than limit above 0
                return self._every_load(school_year)
            found = read.decided()
            if found is not None:
                return found

    def _every_load(self, school_year: str) -> list[CompanionLoad]:
        """Every companion of the registry and every caseload of ``school_year``."""
        infos = self.companions()
        counters = self._query(year_pk(school_year), sort=Key("sk").begins_with(f"{COMPANION_COUNTER}#"))
        loads = {_caseload_companion(i["sk"]): int(i.get("n", 0)) for i in counters}
        return [CompanionLoad(cid, loads.get(cid, 0), infos.get(cid)) for cid in sorted({*infos, *loads})]

    def companion(self, companion_id: str) -> tuple[CompanionInfo | None, int | None]:
        """The companion and the capacity at which the office was last told it is full (None: not told)."""
        i = self.table.get_item(Key={"pk": "companions", "sk": companion_id}, ConsistentRead=True).get("Item")
        return _companion(companion_id, i)

    def companion_and_counter(
        self, companion_id: str, school_year: str, key: str
    ) -> tuple[CompanionInfo | None, int | None, int]:
        """:meth:`companion` and :meth:`counter` (``key`` of ``school_year``) in one strongly consistent
        ``BatchGetItem`` (the "full" check after each assignment: one call, not two)."""
        name = self.table.name
        keys = {("companions", companion_id), (year_pk(school_year), key)}
        got: dict[tuple[str, str], dict[str, Any]] = {}
        request: dict[str, Any] = {
            name: {"Keys": [{"pk": pk, "sk": sk} for pk, sk in sorted(keys)], "ConsistentRead": True}
        }
        while request:  # the resource's client converts the attribute values, as Table calls do
            resp = self.table.meta.client.batch_get_item(RequestItems=request)
            for item in resp.get("Responses", {}).get(name, []):
                got[(item["pk"], item["sk"])] = item
            request = resp.get("UnprocessedKeys") or {}
        counter = got.get((year_pk(school_year), key))
        info, alerted_at = _companion(companion_id, got.get(("companions", companion_id)))
        return info, alerted_at, int(counter.get("n", 0)) if counter else 0

    def mark_full_alerted(self, companion_id: str, capacity: int) -> bool:
        """Claim the "companion full" alert for this capacity; False if it was claimed already."""
        try:
            self.table.update_item(
                Key={"pk": "companions", "sk": companion_id},
                UpdateExpression="SET #f = :c",
                ConditionExpression="attribute_not_exists(#f) OR #f <> :c",
                ExpressionAttributeNames={"#f": "full_alerted_at"},
                ExpressionAttributeValues={":c": capacity},
            )
            return True
        except ClientError as e:
            if condition_failed(e):
                return False
            raise

    def clear_full_alerted(self, companion_id: str) -> None:
        try:
            self.table.update_item(
                Key={"pk": "companions", "sk": companion_id},
                UpdateExpression="REMOVE #f",
                ConditionExpression="attribute_exists(#f)",
                ExpressionAttributeNames={"#f": "full_alerted_at"},
            )
        except ClientError as e:
            if not condition_failed(e):
                raise

    # ------------------------------------------------------------------ alerts sent
    def claim_alert(
        self,
        kind: str,
        key: str,
        at: datetime,
        *,
        expires_at: int,
        stale_after: timedelta = timedelta(minutes=15),
    ) -> bool:
        """Claim an alert before sending it. False if it was sent already or another delivery is sending it
        (a claim older than ``stale_after`` that never got sent is taken over: a crash must not lose it).
        ``expires_at``: the TTL of the record (a student's alert expires with the student's data)."""
        try:
            self.table.put_item(
                Item={
                    "pk": f"alert#{kind}",
                    "sk": key,
                    "state": "sending",
                    "claimed_at": at.isoformat(),
                    "expires_at": expires_at,
                },
                ConditionExpression="attribute_not_exists(pk) OR (#s = :sending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":sending": "sending", ":stale": (at - stale_after).isoformat()},
            )
            return True
        except ClientError as e:
            if condition_failed(e):
                return False
            raise

    def mark_alert(self, kind: str, key: str, state: str, at: datetime) -> None:
        """The alert's state: ``queued`` (collected into a window) or ``sent`` (the office was told)."""
        self.table.update_item(
            Key={"pk": f"alert#{kind}", "sk": key},
            UpdateExpression="SET #s = :s, #t = :t",
            ExpressionAttributeNames={"#s": "state", "#t": f"{state}_at"},
            ExpressionAttributeValues={":s": state, ":t": at.isoformat()},
        )

    def alert_state(self, kind: str, key: str) -> str | None:
        item = self.table.get_item(Key={"pk": f"alert#{kind}", "sk": key}, ConsistentRead=True).get("Item")
        return str(item["state"]) if item else None

    def release_alert(self, kind: str, key: str) -> None:
        self.table.delete_item(Key={"pk": f"alert#{kind}", "sk": key})

    # ------------------------------------------------------------------ alert windows (digest)
    def open_window(self, kind: str, at: datetime, length: timedelta, *, closed: str | None = None) -> Window:
        """The alert window of ``kind`` open at ``at``: the current one if it ends after ``at`` and is still
        open, else a new one ``[at, at + length)`` (or, after a window that closed early because its digest
        ran, ``[its end, its end + length)``). ``closed``: the end of a window found closed meanwhile."""
        for _ in range(10):
            cur = self.table.get_item(Key={"pk": f"digest#{kind}", "sk": "current"}, ConsistentRead=True).get(
                "Item"
            )
            t = instant(at)
            if cur and cur["end"] > t and not cur.get("closed") and cur["end"] != closed:
                return Window(kind, cur["end"], bool(cur.get("scheduled")), created=False)
            start = max(t, cur["end"]) if cur else t
            end = instant(datetime.fromisoformat(start) + length)
            try:
                self.client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": settings.table_name(AGGREGATES),
                                "Item": serialize({"pk": f"digest#{kind}", "sk": "current", "end": end}),
                                "ConditionExpression": "attribute_not_exists(pk)" if not cur else "#e = :old",
                                **(
                                    {
                                        "ExpressionAttributeNames": {"#e": "end"},
                                        "ExpressionAttributeValues": {":old": {"S": cur["end"]}},
                                    }
                                    if cur
                                    else {}
                                ),
                            }
                        },
                        {
                            "Put": {
                                "TableName": settings.table_name(AGGREGATES),
                                "Item": serialize(
                                    {
                                        "pk": f"digest#{kind}",
                                        "sk": f"window#{end}",
                                        "state": "open",
                                        "expires_at": _ttl(end),
                                    }
                                ),
                                "ConditionExpression": "attribute_not_exists(pk)",
                            }
                        },
                    ]
                )
                return Window(kind, end, False, created=True)
            except ClientError as e:
                if not condition_failed(e):
                    raise
        raise StaleStateError(f"digest#{kind}")

    def window_scheduled(self, w: Window) -> None:
        """The digest of ``w`` is scheduled (the next alert of the window does not schedule it again)."""
        self.table.update_item(
            Key={"pk": f"digest#{w.kind}", "sk": "current"},
            UpdateExpression="SET scheduled = :t",
            ConditionExpression="#e = :end",
            ExpressionAttributeNames={"#e": "end"},
            ExpressionAttributeValues={":t": True, ":end": w.end},
        )

    def add_to_window(self, w: Window, key: str, entry: dict[str, Any]) -> bool:
        """Add ``entry`` (JSON-able, no names) under ``key`` to the open window ``w``; False if ``w`` is no
        longer open (its digest is running or ran: the caller opens the next window)."""
        name = settings.table_name(AGGREGATES)
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {
                        "ConditionCheck": {
                            "TableName": name,
                            "Key": {"pk": {"S": f"digest#{w.kind}"}, "sk": {"S": f"window#{w.end}"}},
                            "ConditionExpression": "#s = :open",
                            "ExpressionAttributeNames": {"#s": "state"},
                            "ExpressionAttributeValues": {":open": {"S": "open"}},
                        }
                    },
                    {
                        "Put": {
                            "TableName": name,
                            "Item": serialize(
                                {
                                    "pk": f"digest#{w.kind}#{w.end}",
                                    "sk": key,
                                    "entry": json.dumps(entry, sort_keys=True, default=str),
                                    "expires_at": _ttl(w.end),
                                }
                            ),
                        }
                    },
                ]
            )
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def due_windows(self, kind: str, until: datetime) -> list[str]:
        """Ends of the windows of ``kind`` that ended by ``until`` and whose digest has not gone out."""
        items = self._query(f"digest#{kind}", sort=Key("sk").between("window#", f"window#{instant(until)}"))
        return [i["sk"].removeprefix("window#") for i in items if i.get("state") != "sent"]

    def claim_window(self, kind: str, end: str, at: datetime, *, stale_after: timedelta) -> bool:
        """Close the window for new alerts and claim its digest (one runner at a time; a claim older than
        ``stale_after`` that never finished is taken over)."""
        try:
            self.table.update_item(
                Key={"pk": f"digest#{kind}", "sk": f"window#{end}"},
                UpdateExpression="SET #s = :sending, claimed_at = :t",
                ConditionExpression="#s = :open OR (#s = :sending AND claimed_at < :stale)",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":open": "open",
                    ":sending": "sending",
                    ":t": instant(at),
                    ":stale": instant(at - stale_after),
                },
            )
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        try:  # new alerts go to the next window from now on
            self.table.update_item(
                Key={"pk": f"digest#{kind}", "sk": "current"},
                UpdateExpression="SET closed = :t",
                ConditionExpression="#e = :end",
                ExpressionAttributeNames={"#e": "end"},
                ExpressionAttributeValues={":t": True, ":end": end},
            )
        except ClientError as e:
            if not condition_failed(e):
                raise
        return True

    def window_entries(self, kind: str, end: str) -> dict[str, dict[str, Any]]:
        return {i["sk"]: json.loads(i["entry"]) for i in self._query(f"digest#{kind}#{end}")}

    def window_done(self, kind: str, end: str, at: datetime, *, mailed: bool) -> None:
        self.table.update_item(
            Key={"pk": f"digest#{kind}", "sk": f"window#{end}"},
            UpdateExpression="SET #s = :sent, done_at = :t, mailed = :m",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":sent": "sent", ":t": instant(at), ":m": mailed},
        )

    def release_window(self, kind: str, end: str) -> None:
        """A digest that failed: claimable again by the retry."""
        self.table.update_item(
            Key={"pk": f"digest#{kind}", "sk": f"window#{end}"},
            UpdateExpression="SET #s = :open",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":open": "open"},
        )

    # ------------------------------------------------------------------ report index
    def claim_run(self, run_key: str, report_id: str) -> str:
        """The report id of a scheduled run: ``report_id`` for the first invocation, the earlier one for a
        retried invocation of the same schedule instant (EventBridge Scheduler delivers at least once)."""
        try:
            self.table.put_item(
                Item={"pk": "reportrun", "sk": run_key, "report_id": report_id},
                ConditionExpression="attribute_not_exists(pk)",
            )
            return report_id
        except ClientError as e:
            if not condition_failed(e):
                raise
        item = self.table.get_item(Key={"pk": "reportrun", "sk": run_key}, ConsistentRead=True)["Item"]
        return str(item["report_id"])

    def put_report(self, r: ReportRecord, *, events: Sequence[OutgoingEvent] = ()) -> None:
        """Store the index record; ``subject_ids`` also as a list attribute (for :meth:`reports_listing`).
        With ``events``: in one transaction with their outbox items (``reporting-outbox``), as intake and
        matching publish — the record and its announcement are written together or not at all."""
        item = {
            "pk": "reports",
            "sk": r.report_id,
            "record": r.model_dump_json(),
            "subject_ids": r.subject_ids,
        }
        if not events:
            self.table.put_item(Item=item)
            return
        put = {"Put": {"TableName": settings.table_name(AGGREGATES), "Item": serialize(item)}}
        self.client.transact_write_items(TransactItems=[put, *outbox_puts(OUTBOX, events)])

    def reports_listing(self, intake_id: str) -> list[ReportRecord]:
        """Index records whose ``subject_ids`` contain ``intake_id`` (every page of the index)."""
        items = self._query("reports", FilterExpression=Attr("subject_ids").contains(intake_id))
        return [ReportRecord.model_validate_json(i["record"]) for i in items]

    def acquire(self, name: str, *, seconds: int, now: datetime) -> bool:
        """A lease ``name`` for ``seconds`` (conditional put; an expired lease may be taken over). False if
        another holder has it."""
        until = int(now.timestamp()) + seconds
        try:
            self.table.put_item(
                Item={"pk": "lease", "sk": name, "until": until, "expires_at": until + 3600},
                ConditionExpression="attribute_not_exists(pk) OR #u < :now",
                ExpressionAttributeNames={"#u": "until"},
                ExpressionAttributeValues={":now": int(now.timestamp())},
            )
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def release(self, name: str) -> None:
        self.table.delete_item(Key={"pk": "lease", "sk": name})

    def get_report(self, report_id: str) -> ReportRecord | None:
        item = self.table.get_item(Key={"pk": "reports", "sk": report_id}, ConsistentRead=True).get("Item")
        return ReportRecord.model_validate_json(item["record"]) if item else None

    def reports(self, limit: int = 50) -> list[ReportRecord]:
        resp = self.table.query(
            KeyConditionExpression=Key("pk").eq("reports"), ScanIndexForward=False, Limit=limit
        )
        return [ReportRecord.model_validate_json(i["record"]) for i in resp["Items"]]


def counter_updates(deltas: Mapping[CounterKey, int]) -> list[dict[str, Any]]:
    """The ``UpdateItem`` requests (low-level, without the table name) that apply counter deltas: ``ADD n``
    per caseload counter; the other counters of a school year one update per item that holds them
    (:func:`counter_home`) that adds to their attributes; the companions' goal figures (partition
    ``goals#<school year>``) one update per companion that adds to its attributes and to how far behind it
    is (:func:`_goal_adds`)."""
    out = []
    for (pk, sk), values in sorted(_group_counters(deltas).items()):
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        if values is None:
            year = _caseload_year(pk, sk)  # a caseload counter is in the index of the caseloads
            out.append(_add_update(key, {"n": deltas[(pk, sk)]}, (CASELOAD_INDEX.pk, year) if year else None))
        elif _is_goal_item(pk):
            partition = pk.removeprefix(f"{COMPANION_GOALS}#")
            out.append(_add_update(key, _goal_adds(values), (goals_behind_index(0).pk, partition)))
        elif adds := {a: n for a, n in sorted(values.items()) if n}:  # the item's counters that change
            out.append(_add_update(key, adds))
    return out


def _add_update(
    key: dict[str, Any], adds: Mapping[str, int], index: tuple[str, str] | None = None
) -> dict[str, Any]:
    """The ``UpdateItem`` request that adds ``adds`` to the item's attributes and, with ``index`` (attribute,
    value), sets the partition key of the index the item is in."""
    names = {f"#a{i}": a for i, a in enumerate(adds)}
    values: dict[str, Any] = {f":a{i}": {"N": str(n)} for i, n in enumerate(adds.values())}
    expression = "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds)))
    if index is not None:
        expression = f"SET #y = :y {expression}"
        names["#y"], values[":y"] = index[0], {"S": index[1]}
    return {
        "Key": key,
        "UpdateExpression": expression,
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


class _LoadRead:
    """The state of :meth:`AggregateStore.most_loaded`'s threshold read."""

    def __init__(self, store: AggregateStore, school_year: str, limit: int, registry: RegistryTotals):
        self.store, self.school_year, self.limit, self.registry = store, school_year, limit, registry
        self.groups = sorted(c for c, n in registry.capacities.items() if c > 0 and n > 0)
        self.loads: dict[str, int] = {}
        self.infos: dict[str, CompanionInfo | None] = {}
        self.start: dict[str, Any] | None = None
        self.read, self.groups_read, self.caseloads_done = 0, 0, False
        self.ceiling: int | None = None  # every caseload not read yet is at most this
        self.tie: int | None = None
        self.tied: set[int] = set()

    def step(self) -> bool:
        """One read (ties, a page of caseloads or a whole capacity) and the other figure of what it found by
        key; False when there is nothing left to read."""
        size = (
            self.registry.capacities[self.groups[self.groups_read]]
            if self.groups_read < len(self.groups)
            else None
        )
        if self.tie is not None:  # the rest of the companions with this caseload (ties at the bound)
            self._caseloads(Key(str(CASELOAD_INDEX.sk)).eq(self.tie), pages=True)
            self.tied.add(self.tie)
            self.ceiling, self.tie = self.tie - 1, None  # the pages read before hold every caseload above
        elif not self.caseloads_done and (size is None or size > self.read):
            last = self._caseloads(None, pages=False)
            if last is not None:
                self.ceiling = last if self.ceiling is None else min(self.ceiling, last)
        elif size is not None:
            capacity = self.groups[self.groups_read]
            key = Key(CAPACITY_INDEX.pk).eq("companions") & Key(str(CAPACITY_INDEX.sk)).eq(capacity)
            for i in all_items(
                self.store.table.query, IndexName=CAPACITY_INDEX.name, KeyConditionExpression=key
            ):
                self.infos[i["sk"]] = _companion_info(i["sk"], i)
            self.groups_read += 1
        else:
            return False
        unnamed = [cid for cid in self.loads if cid not in self.infos]
        named = self.store.companions_by_id(unnamed)
        self.infos.update({cid: named.get(cid) for cid in unnamed})
        self.loads.update(
            self.store.caseloads(self.school_year, [c for c in self.infos if c not in self.loads])
        )
        return True

    def _caseloads(self, sort: Any, *, pages: bool) -> int | None:
        """Caseloads from the index in descending order: every page with ``sort``, else the next page of
        ``limit``. The caseload read last (None: none)."""
        key = Key(CASELOAD_INDEX.pk).eq(self.school_year)
        request: dict[str, Any] = {"IndexName": CASELOAD_INDEX.name, "ScanIndexForward": False}
        if pages:
            items = list(all_items(self.store.table.query, KeyConditionExpression=key & sort, **request))
        else:
            start = {"ExclusiveStartKey": self.start} if self.start else {}
            resp = self.store.table.query(KeyConditionExpression=key, Limit=self.limit, **request, **start)
            items = resp["Items"]
            self.read += len(items)
            self.start = resp.get("LastEvaluatedKey")
            self.caseloads_done = self.start is None
        for i in items:
            self.loads[_caseload_companion(i["sk"])] = int(i["n"])
        return int(items[-1]["n"]) if items else None

    def decided(self) -> list[CompanionLoad] | None:
        """The ``limit`` most loaded if nothing unread can rank above the ``limit``-th found, else None (and,
        when only companions with the caseload read last could, the next step reads all of them)."""
        ranked = sorted(
            (CompanionLoad(cid, n, self.infos[cid]) for cid, n in self.loads.items()), key=lambda c: c.rank
        )
        if len(ranked) < self.limit:
            return None
        if self.caseloads_done or self.groups_read == len(self.groups):
            bound = 0.0  # nothing unread has a caseload, or a capacity above 0
        else:
            bound = float("inf") if self.ceiling is None else self.ceiling / self.groups[self.groups_read]
        nth = ranked[self.limit - 1]
        if nth.ratio > bound:
            return ranked[: self.limit]
        if nth.ratio == bound and self.ceiling and self.ceiling not in self.tied:
            self.tie = self.ceiling
        return None


def _caseload_year(pk: str, sk: str) -> str | None:
    """The school year of a caseload counter (``year#<school year>`` / ``companion#<id>#assigned``), None for
    any other counter."""
    if pk.startswith("year#") and sk.startswith(f"{COMPANION_COUNTER}#"):
        return pk.removeprefix("year#")
    return None


def _caseload_companion(sk: str) -> str:
    return sk.removeprefix(f"{COMPANION_COUNTER}#").rpartition("#")[0]


def _caseload_key(school_year: str, companion_id: str) -> dict[str, str]:
    return {"pk": year_pk(school_year), "sk": f"{COMPANION_COUNTER}#{companion_id}#assigned"}


def _group_counters(deltas: Mapping[CounterKey, int]) -> dict[CounterKey, dict[str, int] | None]:
    """Counter keys by item: a plain counter maps to None, a companion's goal item (``goals#<school year>``
    / ``<companion>``) and an item that holds counters as attributes (:func:`counter_home`) to their
    attributes' values."""
    out: dict[CounterKey, dict[str, int] | None] = {}
    for (pk, sk), n in deltas.items():
        if _is_goal_item(pk):
            item, _, attribute = sk.rpartition("#")
        elif (home := counter_home(pk, sk)) is not None:
            item, attribute = home
        else:
            out[(pk, sk)] = None
            continue
        values = out.setdefault((pk, item), {})
        assert values is not None
        values[attribute] = values.get(attribute, 0) + n
    return out


def _is_goal_item(pk: str) -> bool:
    return pk.startswith(f"{COMPANION_GOALS}#")


def counter_home(pk: str, sk: str) -> tuple[str, str] | None:
    """The item (sort key) of a year's partition that holds the counter ``sk`` as an attribute, and the
    attribute (the key itself), by where the key names a school (``models.aggregates.COUNTS_ITEM``); None for
    a counter that is an item of its own: a companion's caseload, which is in the caseload index, and the
    counters of any other partition. Any grouping reads back the same counters; this one keeps the items
    small and a fact's items few."""
    if not pk.startswith("year#"):
        return None
    kind, *rest = sk.split("#")
    if kind == COMPANION_COUNTER:
        return None
    if rest and rest[0] in SCHOOLS:  # <kind>#<school>#…
        return f"{COUNTS_ITEM}#{rest[0]}", sk
    if len(rest) >= 2 and rest[1] in SCHOOLS:  # <kind>#<month or week>#<school>#…
        school, period = rest[1], rest[0]
        if kind in (IN_PROGRAMME, NO_INTERNSHIP):  # at most twelve months each: the school's item
            return f"{COUNTS_ITEM}#{school}", sk
        return f"{COUNTS_ITEM}#{school}#{period}", sk
    return COUNTS_ITEM, sk


def counters_of(items: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The counters held by ``items`` of a year's partition, by their keys (summed where the same counter is
    held twice: as an item of its own from before and as an attribute of the item that holds it now)."""
    out: dict[str, int] = {}
    for i in items:
        for key, n in _item_counters(i):
            out[key] = out.get(key, 0) + n
    return out


def _item_counters(item: Mapping[str, Any]) -> Iterator[tuple[str, int]]:
    """The counters of an item of a year's partition by their keys: the attributes of a ``counts…`` item,
    a ``months#<school>`` item's attributes ``<kind>#<YYYY-MM>`` as ``<kind>#<YYYY-MM>#<school>`` (the layout
    before), or an item's own ``n``."""
    sk = str(item["sk"])
    if sk == COUNTS_ITEM or sk.startswith(f"{COUNTS_ITEM}#"):
        yield from ((a, int(n)) for a, n in item.items() if a not in ("pk", "sk"))
    elif sk.startswith(f"{MONTHS_ITEM}#"):
        school = sk.removeprefix(f"{MONTHS_ITEM}#")
        yield from ((f"{a}#{school}", int(n)) for a, n in item.items() if a not in ("pk", "sk"))
    else:
        yield sk, int(item.get("n", 0))


def _goal_adds(values: Mapping[str, int]) -> dict[str, int]:
    """What a change of a companion's goal figures adds to its item: the figures, and to ``behind<p>`` (the
    sort key of ``goals_behind_<p>``) the change of meetings due by the first ``p`` due days minus the
    change of meetings done – linear, so ``ADD`` keeps it exact whatever the order of the facts. Every
    ``behind<p>`` is added even when 0: an item without it would be missing from that index."""
    out = {a: n for a, n in sorted(values.items()) if n}
    for p in range(GOAL_MEETINGS_PER_YEAR + 1):
        sk = goals_behind_index(p).sk
        assert sk is not None
        out[sk] = sum(values.get(f"due{k}", 0) for k in range(p)) - values.get("done", 0)
    return out


def _goal_item_values(pk: str, values: Mapping[str, int]) -> dict[str, Any]:
    """The attributes of a companion's goal item with these figures (written whole, for bulk loading)."""
    return {goals_behind_index(0).pk: pk.removeprefix(f"{COMPANION_GOALS}#"), **_goal_adds(values)}


def _companion_goals(i: Mapping[str, Any]) -> CompanionGoals:
    return CompanionGoals(
        companion_id=str(i["sk"]),
        students=int(i.get("students", 0)),
        done=int(i.get("done", 0)),
        due=tuple(int(i.get(f"due{k}", 0)) for k in range(GOAL_MEETINGS_PER_YEAR)),
    )


def _companion_attributes(c: CompanionInfo) -> dict[str, Any]:
    """The stored attributes of a registry item (without its key and the alert flag); ``registry`` puts it in
    the index by capacity (``contracts.topology.CAPACITY_INDEX``)."""
    assert c.updated_at is not None
    out: dict[str, Any] = {
        CAPACITY_INDEX.pk: "companions",
        "school_ids": c.school_ids,
        "capacity": c.capacity,
        "active": c.active,
        "updated_at": c.updated_at.isoformat(),
    }
    if c.fte is not None:
        out["fte"] = to_dynamo(c.fte)
    if c.name is not None:
        out["name"] = c.name
    return out


def _companion_update(c: CompanionInfo) -> dict[str, Any]:
    """The ``UpdateItem`` (resource format, without key and condition) that stores ``c`` on its registry
    item: every attribute set, a missing FTE or name removed, the alert flag kept. ``#u`` names
    ``updated_at`` (for the condition)."""
    values = _companion_attributes(c)
    names = {f"#a{i}": a for i, a in enumerate(values) if a != "updated_at"} | {"#u": "updated_at"}
    ref = {a: n for n, a in names.items()}
    removes = [a for a in ("fte", "name") if a not in values]
    names |= {f"#r{i}": a for i, a in enumerate(removes)}
    sets = ", ".join(f"{ref[a]} = :{ref[a][1:]}" for a in values)
    gone = ", ".join(f"#r{i}" for i in range(len(removes)))
    return {
        "UpdateExpression": f"SET {sets}" + (f" REMOVE {gone}" if removes else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": {f":{ref[a][1:]}": v for a, v in values.items()},
    }


def _low_level(update: Mapping[str, Any]) -> dict[str, Any]:
    """An update in the resource format as the low-level client takes it (values serialized)."""
    return {**update, "ExpressionAttributeValues": serialize(update["ExpressionAttributeValues"])}


def _totals_update(adds: Mapping[str, Any]) -> dict[str, Any]:
    """The low-level ``UpdateItem`` (key included, no table name) that adds ``adds`` to the registry
    totals."""
    pk, sk = REGISTRY_TOTALS
    return {
        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
        "UpdateExpression": "ADD " + ", ".join(f"#a{i} :a{i}" for i in range(len(adds))),
        "ExpressionAttributeNames": {f"#a{i}": a for i, a in enumerate(adds)},
        "ExpressionAttributeValues": {f":a{i}": {"N": str(n)} for i, n in enumerate(adds.values())},
    }


def _registry_attributes(companions: Sequence[CompanionInfo]) -> dict[str, Any]:
    return {a: n for a, n in registry_sum(companions).items() if n}


def _companion_info(companion_id: str, i: dict[str, Any]) -> CompanionInfo:
    return CompanionInfo(
        companion_id=companion_id,
        name=i.get("name"),
        school_ids=list(i.get("school_ids", [])),
        capacity=int(i["capacity"]),
        active=bool(i.get("active", True)),
        fte=float(i["fte"]) if "fte" in i else None,
        updated_at=datetime.fromisoformat(i["updated_at"]) if "updated_at" in i else None,
    )


class ReportStore:
    """Report files in the report bucket (encrypted and with a lifecycle by the stack)."""

    def __init__(self, client: Any | None = None):
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("s3")

    def put(self, key: str, body: bytes, content_type: str, *, filename: str | None = None) -> None:
        extra: dict[str, Any] = {}
        if filename:
            extra["ContentDisposition"] = f'attachment; filename="{filename}"'
        self.client.put_object(
            Bucket=settings.bucket_name(REPORTS), Key=key, Body=body, ContentType=content_type, **extra
        )

    def replace(self, key: str, body: bytes) -> None:
        """Overwrite an existing object with ``body``, keeping its content type and download file name."""
        head = self.client.head_object(Bucket=settings.bucket_name(REPORTS), Key=key)
        extra: dict[str, Any] = {}
        if head.get("ContentDisposition"):
            extra["ContentDisposition"] = head["ContentDisposition"]
        self.client.put_object(
            Bucket=settings.bucket_name(REPORTS), Key=key, Body=body, ContentType=head["ContentType"], **extra
        )

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=settings.bucket_name(REPORTS), Key=key)

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=settings.bucket_name(REPORTS), Key=key)["Body"].read())

    def file(self, key: str) -> StoredFile:
        """A stored report file with the media type and download name it was stored with."""
        obj = self.client.get_object(Bucket=settings.bucket_name(REPORTS), Key=key)
        return StoredFile(
            body=bytes(obj["Body"].read()),
            content_type=str(obj.get("ContentType") or "application/octet-stream"),
            content_disposition=obj.get("ContentDisposition"),
        )


@dataclass(frozen=True)
class StoredFile:
    body: bytes
    content_type: str
    content_disposition: str | None


def _address(env_var: str) -> str:
    value = os.environ.get(env_var, "").strip()
    if not value:
        raise settings.SettingMissingError(f"environment variable {env_var} is not set")
    return value


def office_address() -> str:
    return _address(OFFICE_MAIL.recipient_env)


def sender_address() -> str:
    return _address(OFFICE_MAIL.sender_env)


class Mailer:
    """Sends MIME messages through SES (the sender identity is verified by the stack / local runtime)."""

    def __init__(self, client: Any | None = None):
        self._client = client

    @property
    def client(self) -> Any:
        return self._client or aws.client("ses")

    def send(self, raw: bytes, *, to: str, sender: str) -> str:
        resp = self.client.send_raw_email(Source=sender, Destinations=[to], RawMessage={"Data": raw})
        return str(resp["MessageId"])


def _companion(companion_id: str, i: Mapping[str, Any] | None) -> tuple[CompanionInfo | None, int | None]:
    """The companion of item ``i`` (None without its data: only an alert flag so far) and the capacity at
    which the office was last told it is full."""
    if not i:
        return None, None
    info = _companion_info(companion_id, dict(i)) if "capacity" in i else None
    return info, int(i["full_alerted_at"]) if "full_alerted_at" in i else None


def waitlist_records(w: WaitlistItem, expires_at: int) -> list[dict[str, Any]]:
    """The items of a student's waitlist entry: the entry, its open period by start, each ended period by
    end (all with the entry, so a report lists a student from the index alone)."""
    item = w.model_dump_json()
    return [{"pk": pk, "sk": sk, "expires_at": expires_at, "item": item} for pk, sk in _waitlist_keys(w)]


def _waitlist_keys(w: WaitlistItem) -> list[tuple[str, str]]:
    keys = [(f"waitlist#{w.school_year}", w.intake_id)]
    for start, end in w.periods:
        if end is None:
            keys.append((f"{WAITING}#{w.school_year}", f"{instant_key(start)}#{w.intake_id}"))
        else:
            keys.append(
                (f"{WAITED}#{w.school_year}", f"{instant_key(end)}#{w.intake_id}#{instant_key(start)}")
            )
    return keys


def _period_of(w: WaitlistItem, sk: str) -> tuple[datetime, datetime]:
    """The ended period of ``w`` that the ``waited#`` key ``sk`` names."""
    end_key, _, start_key = sk.split("#")
    return next(
        (s, e)
        for s, e in w.periods
        if e is not None and instant_key(s) == start_key and instant_key(e) == end_key
    )


def _start_at(w: WaitlistItem, at: datetime) -> datetime:
    start = w.waiting_at(at)
    assert start is not None
    return start
