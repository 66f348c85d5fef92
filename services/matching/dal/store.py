"""DynamoDB access for matching: companions (capacity counter), assignments (incl. waitlist), outbox.

Capacity is guarded by conditional transactions (docs/architecture.md): a companion's ``used``
counter is incremented only if ``used < capacity`` and the companion is active, in the same
``TransactWriteItems`` call as the assignment item, which is itself conditional on the state the
decision was based on (not yet known / still waiting / still at the same companion). Either
everything is written or nothing.

Events are never published directly: every state change puts its events into the matching
outbox table **in the same transaction** (``common.outbox``; transactional outbox, docs/architecture.md).
The outbox table's stream triggers the outbox relay (``common.outbox_relay``, the same Lambda handler on AWS
and locally), which puts the events on the bus, so a crash between the write and the publish cannot lose one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from common import aws, settings
from common.dynamodb import all_items, cancellation_codes, condition_failed, from_dynamo, serialize
from common.events import OutgoingEvent
from common.outbox import outbox_puts
from contracts import retention
from contracts.reference import SCHOOLS
from contracts.topology import SERVES_PREFIX, serves_attribute, serving_index
from services.matching.models.matching import Assignment, Companion

COMPANIONS, ASSIGNMENTS, OUTBOX = "companions", "assignments", "matching-outbox"
MAX_TRANSACTION_ITEMS = 100
"""DynamoDB ``TransactWriteItems`` takes at most 100 actions
(https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)."""
BY_SCHOOL, WAITLIST = "by_school", "waitlist"


class CompanionFullError(RuntimeError):
    """The companion had no free capacity (or became inactive) when the claim was written."""


class AlreadyDecidedError(RuntimeError):
    """The student's record is not (any more) in the state the decision was based on: a duplicate
    delivery or a concurrent decision came first. Nothing was written."""


class StaleStateError(AlreadyDecidedError):
    """A :meth:`MatchingStore.commit` met a state other than the one its plan was made from (a counter, a
    registry entry or a student changed meanwhile). Nothing was written: read again and plan again."""


@dataclass(frozen=True)
class CompanionWrite:
    """One companion in a :meth:`MatchingStore.commit`: its counter changes by ``delta``, guarded by what
    the plan saw. A companion that receives students (``target``) or whose registry ``fields`` change must
    still be at ``seen_revision`` (its schools, capacity, activity and leave unchanged) and its counter at
    most ``limit`` before the write (``capacity − delta``: never above capacity after it); one that only
    gives students needs that many. ``fields`` (a ``None`` value removes the field) raise the revision;
    ``new``: the companion does not exist yet."""

    companion_id: str
    seen_revision: int = 0
    delta: int = 0
    seen_version: int | None = None
    """Given: nothing about the companion (entry or caseload) may have changed since the read — a registry
    change is planned for exactly the students the companion had."""
    limit: int | None = None
    target: bool = False
    fields: Mapping[str, Any] | None = None
    new: bool = False


@dataclass(frozen=True)
class StudentWrite:
    """One student's new record in a :meth:`MatchingStore.commit`, written only if the record is still in the
    state the plan saw: waiting (``seen_companion_id=None``) or assigned to ``seen_companion_id``."""

    new: Assignment
    seen_companion_id: str | None


def _revision_condition(names: dict[str, str], values: dict[str, Any], revision: int) -> str:
    """``revision`` is still the one the decision was made on (an item written before revisions: 0)."""
    names["#rev"] = "revision"
    values[":rev"] = {"N": str(revision)}
    return "(attribute_not_exists(#rev) OR #rev = :rev)" if revision == 0 else "#rev = :rev"


def _version_condition(names: dict[str, str], values: dict[str, Any], version: int) -> str:
    """Nothing about the companion changed since it was read: neither its entry nor its caseload."""
    names["#ver"] = "version"
    values[":ver"] = {"N": str(version)}
    return "(attribute_not_exists(#ver) OR #ver = :ver)" if version == 0 else "#ver = :ver"


def _bump(names: dict[str, str], values: dict[str, Any]) -> str:
    """SET clause raising the companion's ``version``: every write of a companion item raises it."""
    names["#ver"] = "version"
    values[":vzero"], values[":vone"] = {"N": "0"}, {"N": "1"}
    return "#ver = if_not_exists(#ver, :vzero) + :vone"


class CapacityBelowUseError(RuntimeError):
    """The new capacity is below the number of students the companion has now. Nothing was written."""

    def __init__(self, used: int):
        super().__init__(f"capacity below used ({used})")
        self.used = used


def with_school_keys(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Registry ``fields`` with, if they set ``school_ids``, the attribute of each school's sparse index:
    the school id where the companion serves it, removed (``None``) where it does not."""
    out = dict(fields)
    if fields.get("school_ids") is not None:
        served = set(fields["school_ids"])
        out.update({serves_attribute(s): (s if s in served else None) for s in SCHOOLS})
    return out


def _companion(item: Mapping[str, Any]) -> Companion:
    return Companion.model_validate(
        {k: v for k, v in from_dynamo(item).items() if not k.startswith(SERVES_PREFIX)}
    )


def assignment_item(a: Assignment) -> dict[str, Any]:
    """The stored item: the model plus top-level ``school_id``/``class_name`` for the ``by_school`` index
    (absent without a profile, e.g. on a withdrawal tombstone)."""
    item = a.model_dump(mode="json", exclude_none=True)
    if a.profile is not None:
        item["school_id"], item["class_name"] = a.profile.school_id, a.profile.class_name
    return item


def _assignment(item: dict[str, Any]) -> Assignment:
    return Assignment.model_validate(from_dynamo(item))


def _expired(item: dict[str, Any], now: datetime) -> bool:
    """TTL deletes lazily: an item past ``expires_at`` at ``now`` is treated as gone (read-time filtering)."""
    return retention.is_expired(item.get("expires_at"), now)


class MatchingStore:
    def __init__(
        self, companions: Any | None = None, assignments: Any | None = None, client: Any | None = None
    ):
        self._c, self._a, self._client = companions, assignments, client

    @property
    def companions(self) -> Any:
        return self._c or aws.table(COMPANIONS)

    @property
    def assignments(self) -> Any:
        return self._a or aws.table(ASSIGNMENTS)

    @property
    def client(self) -> Any:
        return self._client or aws.client("dynamodb")

    # ------------------------------------------------------------------ transactions
    def _transact(self, items: list[dict[str, Any]], events: Sequence[OutgoingEvent]) -> list[str] | None:
        """Write ``items`` + the events' outbox items atomically. ``None`` on success, else the
        per-item cancellation codes (``"ConditionalCheckFailed"``, ``"None"``, …) of ``items``."""
        try:
            self.client.transact_write_items(TransactItems=[*items, *outbox_puts(OUTBOX, events)])
        except ClientError as e:
            if e.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = cancellation_codes(e)
            if any(r not in ("None", "ConditionalCheckFailed") for r in reasons):
                raise  # throttling / conflict with another transaction: let the caller's retry handle it
            return (reasons + ["None"] * len(items))[: len(items)] if reasons else ["Unknown"] * len(items)
        return None

    @staticmethod
    def _take(companion_id: str, revision: int | None = None, used: int | None = None) -> dict[str, Any]:
        """Take one slot: ``used + 1`` if ``used < capacity``, the companion is active and — given the
        ``revision`` the decision was made on — its registry entry has not changed since; given ``used``,
        only if that many slots are taken (so the event can tell the caseload after the claim)."""
        names = {"#u": "used", "#cap": "capacity", "#act": "active"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":true": {"BOOL": True}}
        condition = "#u < #cap AND #act = :true"
        if revision is not None:
            condition += " AND " + _revision_condition(names, values, revision)
        if used is not None:
            condition += " AND #u = :used"
            values[":used"] = {"N": str(used)}
        return {
            "Update": {
                "TableName": settings.table_name(COMPANIONS),
                "Key": {"companion_id": {"S": companion_id}},
                "UpdateExpression": "SET #u = #u + :one, " + _bump(names, values),
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    @staticmethod
    def _give(companion_id: str) -> dict[str, Any]:
        """Free one slot: ``used - 1`` (never below 0)."""
        names = {"#u": "used"}
        values: dict[str, Any] = {":one": {"N": "1"}, ":zero": {"N": "0"}}
        return {
            "Update": {
                "TableName": settings.table_name(COMPANIONS),
                "Key": {"companion_id": {"S": companion_id}},
                "UpdateExpression": "SET #u = #u - :one, " + _bump(names, values),
                "ConditionExpression": "#u > :zero",
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    @staticmethod
    def _put(a: Assignment, condition: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        put: dict[str, Any] = {
            "TableName": settings.table_name(ASSIGNMENTS),
            "Item": serialize(assignment_item(a)),
            "ConditionExpression": condition,
        }
        if "#s" in condition:
            put["ExpressionAttributeNames"] = {"#s": "status"}
        if values:
            put["ExpressionAttributeValues"] = serialize(values)
        return {"Put": put}

    @classmethod
    def _put_if_assigned_to(cls, a: Assignment, companion_id: str) -> dict[str, Any]:
        return cls._put(
            a, "#s = :assigned AND companion_id = :cid", {":assigned": "assigned", ":cid": companion_id}
        )

    # ------------------------------------------------------------------ companions
    def save_companion(
        self, fields: dict[str, Any], companion_id: str, *, events: Sequence[OutgoingEvent]
    ) -> None:
        """Create a companion or set the given registry ``fields`` (``None`` removes an optional field),
        keeping the live ``used`` counter; emit ``events``. A new ``capacity`` must be ≥ ``used``
        (checked in the same write): else :class:`CapacityBelowUseError`."""
        names: dict[str, str] = {"#used": "used"}
        values: dict[str, Any] = {":zero": 0}
        sets, removes = ["#used = if_not_exists(#used, :zero)"], []
        for i, (k, v) in enumerate(sorted(with_school_keys(fields).items())):
            names[f"#f{i}"] = k
            if v is None:
                removes.append(f"#f{i}")
            else:
                values[f":f{i}"] = v
                sets.append(f"#f{i} = :f{i}")
        expr = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        update: dict[str, Any] = {
            "TableName": settings.table_name(COMPANIONS),
            "Key": {"companion_id": {"S": companion_id}},
            "UpdateExpression": expr,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": serialize(values),
        }
        if "capacity" in fields:
            update["ConditionExpression"] = "attribute_not_exists(companion_id) OR #used <= :cap"
            update["ExpressionAttributeValues"][":cap"] = {"N": str(int(fields["capacity"]))}
        if self._transact([{"Update": update}], events) is not None:
            current = self.get_companion(companion_id)
            raise CapacityBelowUseError(current.used if current else 0)

    def get_companion(self, companion_id: str) -> Companion | None:
        item = self.companions.get_item(Key={"companion_id": companion_id}, ConsistentRead=True).get("Item")
        return _companion(item) if item else None

    def list_companions(self) -> list[Companion]:
        items = all_items(self.companions.scan, ConsistentRead=True)
        return sorted((_companion(i) for i in items), key=lambda c: c.companion_id)

    def companions_for_school(self, school_id: str) -> list[Companion]:
        """The companions who serve ``school_id``: one ``Query`` of the school's sparse index (eventually
        consistent, as every index read: a claim is conditional on ``used`` and the revision it read, so a
        stale entry costs a re-read, never a place over capacity; the re-solve after a waitlist write reads
        the registry consistently)."""
        items = all_items(
            self.companions.query,
            IndexName=serving_index(school_id),
            KeyConditionExpression=Key(serves_attribute(school_id)).eq(school_id),
        )
        return sorted((_companion(i) for i in items), key=lambda c: c.companion_id)

    # ------------------------------------------------------------------ assignments: writes
    def claim(
        self,
        assignment: Assignment,
        *,
        from_waitlist: bool,
        events: Sequence[OutgoingEvent] = (),
        revision: int | None = None,
        used: int | None = None,
    ) -> None:
        """Atomically take one slot of ``assignment.companion_id`` and write the assignment.

        The item must not exist yet (``from_waitlist=False``) or still be waiting (``True``); the companion's
        registry entry must still be at ``revision`` (the one the choice was made on), if given, and its
        taken slots at ``used`` (the count read), if given.
        Raises ``CompanionFullError`` or ``AlreadyDecidedError``; on either nothing is written.
        """
        assert assignment.companion_id is not None
        put = (
            self._put(assignment, "#s = :waiting", {":waiting": "waitlisted"})
            if from_waitlist
            else self._put(assignment, "attribute_not_exists(intake_id)")
        )
        reasons = self._transact([self._take(assignment.companion_id, revision, used), put], events)
        if reasons is None:
            return
        if reasons[1] == "ConditionalCheckFailed":
            raise AlreadyDecidedError(assignment.intake_id)
        raise CompanionFullError(assignment.companion_id)

    def put_waitlisted(self, assignment: Assignment, *, events: Sequence[OutgoingEvent] = ()) -> None:
        """Write a new waitlist entry; ``AlreadyDecidedError`` if the student is known already."""
        if self._transact([self._put(assignment, "attribute_not_exists(intake_id)")], events) is not None:
            raise AlreadyDecidedError(assignment.intake_id)

    def replace_waitlisted(self, assignment: Assignment, *, events: Sequence[OutgoingEvent] = ()) -> None:
        """Replace a waiting student's entry (new profile); ``AlreadyDecidedError`` if no longer waiting."""
        put = self._put(assignment, "#s = :waiting", {":waiting": "waitlisted"})
        if self._transact([put], events) is not None:
            raise AlreadyDecidedError(assignment.intake_id)

    def replace_assigned(self, assignment: Assignment, *, events: Sequence[OutgoingEvent] = ()) -> None:
        """Replace an assigned student's entry at the same companion (e.g. new profile, same slot)."""
        assert assignment.companion_id is not None
        if (
            self._transact([self._put_if_assigned_to(assignment, assignment.companion_id)], events)
            is not None
        ):
            raise AlreadyDecidedError(assignment.intake_id)

    def reassign(
        self,
        assignment: Assignment,
        from_companion_id: str,
        *,
        events: Sequence[OutgoingEvent] = (),
        revision: int | None = None,
    ) -> None:
        """Move an assigned student to ``assignment.companion_id`` atomically: free the old slot, take
        a new one (``CompanionFullError`` if none, or if the target's registry entry is no longer at
        ``revision``), replace the item if it is still at the old companion (``AlreadyDecidedError``
        otherwise)."""
        assert assignment.companion_id is not None and assignment.companion_id != from_companion_id
        reasons = self._transact(
            [
                self._give(from_companion_id),
                self._take(assignment.companion_id, revision),
                self._put_if_assigned_to(assignment, from_companion_id),
            ],
            events,
        )
        if reasons is None:
            return
        if reasons[2] == "ConditionalCheckFailed" or reasons[0] == "ConditionalCheckFailed":
            raise AlreadyDecidedError(assignment.intake_id)
        raise CompanionFullError(assignment.companion_id)

    def release(
        self, new_state: Assignment, companion_id: str, *, events: Sequence[OutgoingEvent] = ()
    ) -> bool:
        """End an assignment at ``companion_id`` (exit, withdrawal, back to the waitlist) and free the
        slot atomically; ``False`` (nothing written) if the student is not assigned there (idempotent)."""
        return (
            self._transact(
                [self._put_if_assigned_to(new_state, companion_id), self._give(companion_id)], events
            )
            is None
        )

    def commit(
        self,
        students: Sequence[StudentWrite],
        companions: Sequence[CompanionWrite],
        *,
        events: Sequence[OutgoingEvent] = (),
    ) -> None:
        """Write a planned set of changes in **one** transaction: every student's new record (each only if
        still in the state the plan saw), every touched companion's counter as the plan leaves it (and a
        registry change), each only if counter and revision are still what the plan saw, and the events.
        Capacity holds by construction: the plan never leaves a counter above its capacity, and a counter
        that moved meanwhile cancels everything (:class:`StaleStateError`; nothing written). Up to
        :data:`MAX_TRANSACTION_ITEMS` items in all (students + companions + events)."""
        items = [self._companion_write(c) for c in companions]
        for w in students:
            if w.seen_companion_id is None:
                items.append(self._put(w.new, "#s = :waiting", {":waiting": "waitlisted"}))
            else:
                items.append(self._put_if_assigned_to(w.new, w.seen_companion_id))
        if len(items) + len(events) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"transaction of {len(items) + len(events)} items")
        if self._transact(items, events) is not None:
            raise StaleStateError(",".join(sorted(w.new.intake_id for w in students)))

    @staticmethod
    def _companion_write(c: CompanionWrite) -> dict[str, Any]:
        names: dict[str, str] = {"#u": "used"}
        values: dict[str, Any] = {":d": {"N": str(c.delta)}}
        sets, removes, conditions = [_bump(names, values)], [], []
        if c.new:
            sets.append("#u = :d")
            conditions.append("attribute_not_exists(companion_id)")
        else:
            sets.append("#u = #u + :d")
            if c.target or c.fields is not None:
                conditions.append(_revision_condition(names, values, c.seen_revision))
            if c.seen_version is not None:
                conditions.append(_version_condition(names, values, c.seen_version))
            if c.limit is not None:
                values[":limit"] = {"N": str(c.limit)}
                conditions.append("#u <= :limit")
            if c.delta < 0:
                values[":need"] = {"N": str(-c.delta)}
                conditions.append("#u >= :need")
        if c.fields is not None:
            names["#rev"] = "revision"
            values[":next"] = {"N": str(c.seen_revision + 1)}
            sets.append("#rev = :next")
            for i, (k, v) in enumerate(sorted(with_school_keys(c.fields).items())):
                names[f"#f{i}"] = k
                if v is None:
                    removes.append(f"#f{i}")
                else:
                    values[f":f{i}"] = serialize({"v": v})["v"]
                    sets.append(f"#f{i} = :f{i}")
        update: dict[str, Any] = {
            "TableName": settings.table_name(COMPANIONS),
            "Key": {"companion_id": {"S": c.companion_id}},
            "UpdateExpression": "SET "
            + ", ".join(sets)
            + (" REMOVE " + ", ".join(removes) if removes else ""),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if conditions:
            update["ConditionExpression"] = " AND ".join(conditions)
        return {"Update": update}

    def mark_withdrawn(self, intake_id: str, at: str, expires_at: int | None = None) -> None:
        """Tombstone: withdrawn, profile erased (also when matching never saw the intake: order tolerance).

        Raises ``AlreadyDecidedError`` if the student is assigned (release first) or ended.
        """
        values: dict[str, Any] = {":w": "withdrawn", ":at": at, ":waiting": "waitlisted"}
        expr = "SET #s = :w, updated_at = :at"
        if expires_at is not None:
            expr += ", expires_at = :exp"
            values[":exp"] = expires_at
        try:
            self.assignments.update_item(
                Key={"intake_id": intake_id},
                UpdateExpression=expr
                + " REMOVE waitlist_school, waitlisted_at, profile, school_id, class_name, history",
                ConditionExpression="attribute_not_exists(intake_id) OR #s = :waiting OR #s = :w",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as e:
            if condition_failed(e):
                raise AlreadyDecidedError(intake_id) from None
            raise

    def erase_profile(self, intake_id: str, at: str) -> None:
        """Consent withdrawn after the exit: keep only the status ``ended`` (a tombstone against late
        events); erase the student profile, the exit record (date, reason, destination) and the
        assignment details (cost, explanation, history with the office's notes). Idempotent."""
        self.assignments.update_item(
            Key={"intake_id": intake_id},
            UpdateExpression=(
                "SET updated_at = :at "
                "REMOVE profile, school_id, class_name, #exit, cost, explanation, history"
            ),
            ConditionExpression="#s = :ended",
            ExpressionAttributeNames={"#s": "status", "#exit": "exit"},
            ExpressionAttributeValues={":at": at, ":ended": "ended"},
        )

    # ------------------------------------------------------------------ assignments: reads
    def get_assignment(self, intake_id: str, *, now: datetime) -> Assignment | None:
        """The student's record, unless it expired at ``now``."""
        item = self.assignments.get_item(Key={"intake_id": intake_id}, ConsistentRead=True).get("Item")
        return _assignment(item) if item and not _expired(item, now) else None

    def classmates(self, school_id: str, class_name: str, *, exclude: str | None = None) -> list[str]:
        """The companion id of each currently assigned student of one class (GSI ``by_school``)."""
        items = all_items(
            self.assignments.query,
            IndexName=BY_SCHOOL,
            KeyConditionExpression=Key("school_id").eq(school_id) & Key("class_name").eq(class_name),
            FilterExpression=Attr("status").eq("assigned"),
            # only what the class cohesion counts: the profile, explanation and history are most of the size
            ProjectionExpression="#i, #c",
            ExpressionAttributeNames={"#i": "intake_id", "#c": "companion_id"},
        )
        return [i["companion_id"] for i in items if i["intake_id"] != exclude and i.get("companion_id")]

    def students_of_school(self, school_id: str, *, now: datetime) -> list[Assignment]:
        """Every student of a school known to matching with a profile (GSI ``by_school``), unexpired at
        ``now``."""
        items = all_items(
            self.assignments.query, IndexName=BY_SCHOOL, KeyConditionExpression=Key("school_id").eq(school_id)
        )
        return [_assignment(i) for i in items if not _expired(i, now)]

    def waiting(self, school_id: str, *, page_size: int | None = None) -> Iterator[Assignment]:
        """Waitlisted students of ``school_id``, longest waiting first (sparse GSI ``waitlist``), read page by
        page as the caller iterates (``page_size``: items per ``Query``; a caller that wants only the first
        sets it small, else a page is up to 1 MB of the waitlist).

        The index is eventually consistent: callers re-check with conditional writes.
        """
        items = all_items(
            self.assignments.query,
            IndexName=WAITLIST,
            KeyConditionExpression=Key("waitlist_school").eq(school_id),
            ScanIndexForward=True,
            **({"Limit": page_size} if page_size else {}),
        )
        return (_assignment(i) for i in items if i.get("status") == "waitlisted")

    def all_assignments(self, *, now: datetime) -> list[Assignment]:
        """Every student record unexpired at ``now``."""
        items = all_items(self.assignments.scan, FilterExpression=Attr("status").exists())
        return [_assignment(i) for i in items if not _expired(i, now)]
