"""DynamoDB access for matching: companions (capacity counter) and assignments (incl. waitlist).

Capacity is guarded by a conditional transaction (DESIGN.md §2, §5): the companion's
``used`` counter is incremented only if ``used < capacity`` and the companion is active,
and the assignment item is written only if the student is not assigned already.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from common import settings
from services.matching.models.matching import Assignment, Companion

COMPANIONS, ASSIGNMENTS = "companions", "assignments"
_ser = TypeSerializer()


class CompanionFullError(RuntimeError):
    """The companion had no free capacity (or became inactive) when the claim was written."""


class AlreadyDecidedError(RuntimeError):
    """The student already has an assignment/waitlist/withdrawal record (duplicate or race)."""


def _to_dynamo(obj: dict[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        if isinstance(v, float):
            return Decimal(str(v))
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        if isinstance(v, list):
            return [conv(x) for x in v]
        return v
    return {k: conv(v) for k, v in obj.items() if v is not None}


def _from_dynamo(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, dict):
        return {k: _from_dynamo(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_from_dynamo(v) for v in obj]
    return obj


def _av(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in _to_dynamo(item).items()}


class MatchingStore:
    def __init__(self, companions: Any | None = None, assignments: Any | None = None, client: Any | None = None):
        self._c, self._a, self._client = companions, assignments, client

    @property
    def companions(self) -> Any:
        return self._c or settings.table(COMPANIONS)

    @property
    def assignments(self) -> Any:
        return self._a or settings.table(ASSIGNMENTS)

    @property
    def client(self) -> Any:
        return self._client or settings.client("dynamodb")

    # ------------------------------------------------------------------ companions
    def upsert_companion(self, companion: Companion) -> Companion:
        """Create or replace the registry fields, keeping the live ``used`` counter."""
        fields = companion.model_dump(mode="json", exclude={"companion_id", "used"})
        names = {f"#{k}": k for k in fields}
        values = {f":{k}": v for k, v in _to_dynamo(fields).items()}
        expr = "SET " + ", ".join(f"#{k} = :{k}" for k in fields) + ", #used = if_not_exists(#used, :zero)"
        names["#used"] = "used"
        values[":zero"] = 0
        resp = self.companions.update_item(Key={"companion_id": companion.companion_id}, UpdateExpression=expr,
                                           ExpressionAttributeNames=names, ExpressionAttributeValues=values,
                                           ReturnValues="ALL_NEW")
        return Companion.model_validate(_from_dynamo(resp["Attributes"]))

    def get_companion(self, companion_id: str) -> Companion | None:
        item = self.companions.get_item(Key={"companion_id": companion_id}, ConsistentRead=True).get("Item")
        return Companion.model_validate(_from_dynamo(item)) if item else None

    def list_companions(self) -> list[Companion]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"ConsistentRead": True}
        while True:
            resp = self.companions.scan(**kwargs)
            items += resp["Items"]
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return sorted((Companion.model_validate(_from_dynamo(i)) for i in items), key=lambda c: c.companion_id)

    def companions_for_school(self, school_id: str) -> list[Companion]:
        return [c for c in self.list_companions() if school_id in c.school_ids]

    # ------------------------------------------------------------------ assignments
    def get_assignment(self, intake_id: str) -> Assignment | None:
        item = self.assignments.get_item(Key={"intake_id": intake_id}, ConsistentRead=True).get("Item")
        return Assignment.model_validate(_from_dynamo(item)) if item else None

    def claim(self, assignment: Assignment, *, from_waitlist: bool) -> None:
        """Atomically take one slot of ``assignment.companion_id`` and write the assignment.

        Raises ``CompanionFullError`` or ``AlreadyDecidedError``; on either nothing is written.
        """
        item = assignment.model_dump(mode="json", exclude_none=True)
        item.pop("waitlist_school", None)
        item.pop("waitlisted_at", None) if not from_waitlist else None
        cond = "attribute_not_exists(intake_id)" if not from_waitlist else "#s = :waiting"
        put: dict[str, Any] = {"TableName": settings.table_name(ASSIGNMENTS), "Item": _av(item),
                               "ConditionExpression": cond}
        if from_waitlist:
            put["ExpressionAttributeNames"] = {"#s": "status"}
            put["ExpressionAttributeValues"] = {":waiting": {"S": "waitlisted"}}
        try:
            self.client.transact_write_items(TransactItems=[
                {"Update": {
                    "TableName": settings.table_name(COMPANIONS),
                    "Key": {"companion_id": {"S": assignment.companion_id}},
                    "UpdateExpression": "SET #u = #u + :one",
                    "ConditionExpression": "#u < #cap AND #act = :true",
                    "ExpressionAttributeNames": {"#u": "used", "#cap": "capacity", "#act": "active"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":true": {"BOOL": True}},
                }},
                {"Put": put},
            ])
        except ClientError as e:
            if e.response["Error"]["Code"] != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in e.response.get("CancellationReasons", [])]
            if len(reasons) > 1 and reasons[1] == "ConditionalCheckFailed":
                raise AlreadyDecidedError(assignment.intake_id) from None
            raise CompanionFullError(assignment.companion_id) from None

    def put_waitlisted(self, assignment: Assignment) -> None:
        """Write a waitlist entry; raises ``AlreadyDecidedError`` if the student is known already."""
        try:
            self.assignments.put_item(Item=_to_dynamo(assignment.model_dump(mode="json", exclude_none=True)),
                                      ConditionExpression="attribute_not_exists(intake_id)")
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise AlreadyDecidedError(assignment.intake_id) from None
            raise

    def release(self, intake_id: str, companion_id: str, new_status: str, at: str) -> bool:
        """End an assignment and free the slot atomically; False if it was not assigned (idempotent)."""
        try:
            self.client.transact_write_items(TransactItems=[
                {"Update": {
                    "TableName": settings.table_name(ASSIGNMENTS), "Key": {"intake_id": {"S": intake_id}},
                    "UpdateExpression": "SET #s = :new, updated_at = :at",
                    "ConditionExpression": "#s = :assigned AND companion_id = :cid",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":new": {"S": new_status}, ":at": {"S": at},
                                                  ":assigned": {"S": "assigned"}, ":cid": {"S": companion_id}},
                }},
                {"Update": {
                    "TableName": settings.table_name(COMPANIONS), "Key": {"companion_id": {"S": companion_id}},
                    "UpdateExpression": "SET #u = #u - :one", "ConditionExpression": "#u > :zero",
                    "ExpressionAttributeNames": {"#u": "used"},
                    "ExpressionAttributeValues": {":one": {"N": "1"}, ":zero": {"N": "0"}},
                }},
            ])
        except ClientError as e:
            if e.response["Error"]["Code"] == "TransactionCanceledException":
                return False
            raise
        return True

    def mark_withdrawn(self, intake_id: str, at: str) -> None:
        """Tombstone: withdrawn (also when matching never saw the intake: order tolerance)."""
        self.assignments.update_item(
            Key={"intake_id": intake_id},
            UpdateExpression="SET #s = :w, updated_at = :at REMOVE waitlist_school, profile",
            ConditionExpression="attribute_not_exists(intake_id) OR #s = :waiting OR #s = :w",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":w": "withdrawn", ":at": at, ":waiting": "waitlisted"},
        )

    def waiting(self, school_id: str) -> Iterator[Assignment]:
        """Waitlisted students of ``school_id``, longest waiting first (sparse GSI ``waitlist``)."""
        kwargs: dict[str, Any] = {"IndexName": "waitlist", "KeyConditionExpression": Key("waitlist_school").eq(school_id),
                                  "ScanIndexForward": True}
        while True:
            resp = self.assignments.query(**kwargs)
            for item in resp["Items"]:
                yield Assignment.model_validate(_from_dynamo(item))
            if "LastEvaluatedKey" not in resp:
                return
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def all_assignments(self) -> list[Assignment]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"FilterExpression": Attr("status").exists()}
        while True:
            resp = self.assignments.scan(**kwargs)
            items += resp["Items"]
            if "LastEvaluatedKey" not in resp:
                break
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
        return [Assignment.model_validate(_from_dynamo(i)) for i in items]
