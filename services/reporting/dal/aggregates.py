"""DynamoDB access for reporting aggregates and S3 report storage."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from common import settings
from services.reporting.models.aggregates import Projection

AGGREGATES, REPORTS = "aggregates", "reports"
_ser = TypeSerializer()


class StaleProjectionError(RuntimeError):
    """The projection changed between read and write (concurrent delivery); re-read and retry."""


def year_pk(school_year: str) -> str:
    return f"year#{school_year}"


class AggregateStore:
    def __init__(self, table: Any | None = None, client: Any | None = None):
        self._t, self._client = table, client

    @property
    def table(self) -> Any:
        return self._t or settings.table(AGGREGATES)

    @property
    def client(self) -> Any:
        return self._client or settings.client("dynamodb")

    def get_projection(self, intake_id: str) -> Projection | None:
        item = self.table.get_item(Key={"pk": f"student#{intake_id}", "sk": "state"}, ConsistentRead=True).get("Item")
        return Projection.model_validate(item) if item else None

    def save(self, old: Projection | None, new: Projection, deltas: Counter[str]) -> None:
        """Write the projection and counter deltas in one transaction, conditional on ``old``."""
        name = settings.table_name(AGGREGATES)
        item = {"pk": f"student#{new.intake_id}", "sk": "state", **new.model_dump(mode="json", exclude_none=True)}
        put: dict[str, Any] = {"TableName": name, "Item": {k: _ser.serialize(v) for k, v in item.items()}}
        if old is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "as_of = :old"
            put["ExpressionAttributeValues"] = {":old": {"S": old.model_dump(mode="json")["as_of"]}}
        items: list[dict[str, Any]] = [{"Put": put}]
        for sk, delta in sorted(deltas.items()):
            items.append({"Update": {
                "TableName": name, "Key": {"pk": {"S": year_pk(new.school_year)}, "sk": {"S": sk}},
                "UpdateExpression": "ADD #n :d", "ExpressionAttributeNames": {"#n": "n"},
                "ExpressionAttributeValues": {":d": {"N": str(delta)}},
            }})
        try:
            self.client.transact_write_items(TransactItems=items)
        except ClientError as e:
            if e.response["Error"]["Code"] == "TransactionCanceledException":
                raise StaleProjectionError(new.intake_id) from None
            raise

    def put_companion(self, companion_id: str, capacity: int, school_ids: list[str], active: bool) -> None:
        self.table.put_item(Item={"pk": "companions", "sk": companion_id, "capacity": capacity,
                                  "school_ids": school_ids, "active": active})

    def companions(self) -> dict[str, dict[str, Any]]:
        resp = self.table.query(KeyConditionExpression=Key("pk").eq("companions"), ConsistentRead=True)
        return {i["sk"]: {"capacity": int(i["capacity"]), "school_ids": list(i["school_ids"]),
                          "active": bool(i["active"])} for i in resp["Items"]}

    def counters(self, school_year: str) -> dict[str, int]:
        """All counters of a school year (one query, never a scan of student data)."""
        out: dict[str, int] = {}
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(year_pk(school_year)), "ConsistentRead": True}
        while True:
            resp = self.table.query(**kwargs)
            for i in resp["Items"]:
                n = i.get("n", Decimal(0))
                out[i["sk"]] = int(n)
            if "LastEvaluatedKey" not in resp:
                return out
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


class ReportStore:
    """Writes rendered report files to the report bucket."""

    def __init__(self, client: Any | None = None):
        self._client = client

    def put(self, key: str, body: bytes, content_type: str) -> None:
        client = self._client or settings.client("s3")
        client.put_object(Bucket=settings.bucket_name(REPORTS), Key=key, Body=body, ContentType=content_type)
