"""Who substitutes for which companion when, and the companion's name: learnt from ``CompanionUpdated`` (its
``substitutions`` and ``name``) by every service whose read rule lets a substitute read a colleague's students
read-only during a leave (intake for names and contacts, casework for the casework;
docs/adr/0022-casework.md) and whose pages name companions. Matching owns the leave periods and the names.

Items in a table with the keys ``pk``/``sk`` (the service's own table)::

    pk = "companion#<X>"  sk = "substitutions"  substitutions: [{substitute_id, start, end}], name, updated_at
    pk = "substitute#<Y>" sk = "companion#<X>"  periods: [{start, end}], updated_at, expires_at

The first is the truth of companion X (last writer wins by the event's ``updated_at``), the second the
index "whom does Y substitute for" that a read of Y's caseload queries. Both are written in one transaction.
Neither has an attribute ``companion_id`` (a table's caseload index must not see them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from common import aws, settings
from common.dynamodb import all_items, batch_get, cancellation_codes, condition_failed, serialize
from contracts.calendar import day_start
from contracts.events import Substitution
from contracts.topology import TABLES

COMPANION_PREFIX = "companion#"
SUBSTITUTE_PREFIX = "substitute#"
TRUTH_SK = "substitutions"


def covers(periods: Iterable[Any], on: date) -> bool:
    """``on`` lies in one of ``periods`` (objects or dicts with ``start``/``end`` days, both inclusive)."""
    for p in periods:
        start, end = (p["start"], p["end"]) if isinstance(p, dict) else (p.start, p.end)
        if date.fromisoformat(str(start)) <= on <= date.fromisoformat(str(end)):
            return True
    return False


def by_substitute(substitutions: Iterable[Substitution]) -> dict[str, list[dict[str, str]]]:
    """``substitute_id → [{start, end}]`` of one companion's substitutions."""
    out: dict[str, list[dict[str, str]]] = {}
    for s in substitutions:
        out.setdefault(s.substitute_id, []).append({"start": s.start.isoformat(), "end": s.end.isoformat()})
    return out


class SubstituteStore:
    """The substitution items of the table ``table_logical`` (keys ``pk``/``sk``)."""

    def __init__(self, table_logical: str) -> None:
        table = TABLES[table_logical]
        if (table.pk, table.sk) != ("pk", "sk"):
            raise ValueError(f"{table_logical}: substitutions need a table with keys pk/sk")
        self.logical = table_logical
        self.ttl = table.ttl_attribute

    @property
    def table(self) -> Any:
        return aws.table(self.logical)

    def apply(
        self, companion_id: str, substitutions: list[Substitution], at: datetime, name: str | None = None
    ) -> bool:
        """Set companion ``companion_id``'s substitutions and name as of ``at`` (an ``at`` not newer than the
        stored one changes nothing: duplicates and late deliveries). ``True`` if written."""
        truth_key = {"pk": COMPANION_PREFIX + companion_id, "sk": TRUTH_SK}
        old = self.table.get_item(Key=truth_key, ConsistentRead=True).get("Item")
        stamp = at.isoformat()
        if old is not None and str(old.get("updated_at", "")) >= stamp:
            return False
        new = by_substitute(substitutions)
        gone = {s["substitute_id"] for s in (old or {}).get("substitutions", [])} - set(new)
        table_name = settings.table_name(self.logical)
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": table_name,
                    "Item": serialize(
                        {
                            **truth_key,
                            "substitutions": [s.model_dump(mode="json") for s in substitutions],
                            **({"name": name} if name else {}),
                            "updated_at": stamp,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR updated_at < :at",
                    "ExpressionAttributeValues": {":at": {"S": stamp}},
                }
            }
        ]
        for sub in sorted(gone):
            items.append(
                {"Delete": {"TableName": table_name, "Key": serialize(self._index_key(sub, companion_id))}}
            )
        for sub, periods in sorted(new.items()):
            item: dict[str, Any] = {
                **self._index_key(sub, companion_id),
                "periods": periods,
                "updated_at": stamp,
            }
            if self.ttl:  # the index entry goes a year after its last day (the truth item stays)
                last = max(date.fromisoformat(p["end"]) for p in periods)
                item[self.ttl] = int(day_start(last.replace(year=last.year + 1)).timestamp())
            items.append({"Put": {"TableName": table_name, "Item": serialize(item)}})
        try:
            aws.client("dynamodb").transact_write_items(TransactItems=items)
        except ClientError as e:
            if condition_failed(e, item=0) or "TransactionConflict" in cancellation_codes(e):
                return False  # a newer update came first
            raise
        return True

    def names(self, companion_ids: Iterable[str]) -> dict[str, str]:
        """``companion_id → name`` of those of ``companion_ids`` whose name this service has learnt."""
        keys = [{"pk": COMPANION_PREFIX + c, "sk": TRUTH_SK} for c in sorted(set(companion_ids))]
        items = batch_get(
            self.table, keys, ProjectionExpression="pk, #n", ExpressionAttributeNames={"#n": "name"}
        )
        return {str(i["pk"])[len(COMPANION_PREFIX) :]: str(i["name"]) for i in items if i.get("name")}

    def substituted_by(self, substitute_id: str, on: date) -> set[str]:
        """The companions whose caseload ``substitute_id`` reads on day ``on``."""
        items = all_items(
            self.table.query, KeyConditionExpression=Key("pk").eq(SUBSTITUTE_PREFIX + substitute_id)
        )
        return {str(i["sk"])[len(COMPANION_PREFIX) :] for i in items if covers(i.get("periods", []), on)}

    def substitutes(self, substitute_id: str, companion_id: str, on: date) -> bool:
        """``substitute_id`` reads ``companion_id``'s caseload on day ``on``."""
        if substitute_id == companion_id:
            return False
        item = self.table.get_item(Key=self._index_key(substitute_id, companion_id)).get("Item")
        return item is not None and covers(item.get("periods", []), on)

    @staticmethod
    def _index_key(substitute_id: str, companion_id: str) -> dict[str, str]:
        return {"pk": SUBSTITUTE_PREFIX + substitute_id, "sk": COMPANION_PREFIX + companion_id}
