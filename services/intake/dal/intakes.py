"""DynamoDB access for the ``intakes`` table (the only module of intake that talks to DynamoDB).

Items are the JSON form of :class:`IntakeRecord`. The events of a write go as outbox items
(``contracts/outbox.py``) into the ``intake-outbox`` table in the same transaction; the intakes table
itself has no stream, so personal data never travel through one. The API changes form fields (with an
optimistic ``version``), the consumer changes only the projected assignment fields (guarded by the time
of the event), so neither overwrites the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from common import aws, settings
from common.dynamodb import condition_failed, from_dynamo, query_page, serialize
from common.errors import ConflictError
from common.events import OutgoingEvent
from common.outbox import outbox_puts
from common.substitutes import SubstituteStore
from contracts.topology import INTAKE_OUTBOX, INTAKE_SUBSTITUTES, INTAKES
from services.intake.dal import student_keys
from services.intake.models.intake import ERASED_FIELDS, FORM_FIELDS, IntakeRecord, IntakeStatus, iso

TABLE = INTAKES.name
OUTBOX = INTAKE_OUTBOX.name
#: Removed on withdrawal besides the erased form fields: the assignment projection (the assignment ended) and
#: the student's keyed hash (derived from the name and birth date: personal data, and the duplicate check must
#: not find a withdrawn intake).
_ERASED_PROJECTION = ("companion_id", "student_key")
INDEXES = {ix.name: ix for ix in INTAKES.indexes}


class ConditionFailedError(ConflictError):
    """A conditional write found the item in another state (stale version, withdrawn, missing)."""

    for_people = False


def _item(record: IntakeRecord) -> dict[str, Any]:
    return record.model_dump(mode="json", exclude_none=True)


def _record(item: Mapping[str, Any]) -> IntakeRecord:
    return IntakeRecord.model_validate(from_dynamo(dict(item)))


def _names(*names: str) -> dict[str, str]:
    return {f"#{n}": n for n in names}


class IntakeRepository:
    """Stores and reads intake records (and what intake knows of the companions' substitutes)."""

    substitutions = SubstituteStore(INTAKE_SUBSTITUTES.name)

    @property
    def table(self) -> Any:
        return aws.table(TABLE)

    @property
    def client(self) -> Any:
        return aws.client("dynamodb")

    @property
    def table_name(self) -> str:
        return settings.table_name(TABLE)

    # ---------------------------------------------------------------- writes
    # Every write that states a fact carries its events as outbox items in the same transaction
    # (docs/architecture.md "No lost events": the table's stream → the outbox relay puts them on the bus),
    # and ``also`` the audit entry of the access (common/audit_store.py, PendingAudit).
    def put_new(
        self,
        record: IntakeRecord,
        events: Sequence[OutgoingEvent] = (),
        *,
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Insert with its events and the ``TransactItems`` ``also`` (the audit entry of the write); raises
        ``ConditionFailedError`` if the intake id exists already."""
        self._transact(
            {
                "Put": {
                    "TableName": self.table_name,
                    "Item": serialize(_item(record)),
                    "ConditionExpression": "attribute_not_exists(intake_id)",
                }
            },
            events,
            also,
        )

    def update_form(
        self,
        record: IntakeRecord,
        *,
        expected_version: int,
        set_expiry: bool = False,
        events: Sequence[OutgoingEvent] = (),
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Write the form fields and bookkeeping of ``record`` if the stored version is ``expected_version``
        and the intake is not withdrawn; projected assignment fields (and, unless ``set_expiry``, the
        retention time) stay untouched."""
        item = _item(record)
        keys = [*FORM_FIELDS, "version", "updated_at", "updated_by", "year_submitted", "student_key"]
        keys += ["expires_at"] if set_expiry else []
        sets = [k for k in keys if k in item]
        removes = [k for k in FORM_FIELDS if k not in item]
        expr = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if removes:
            expr += " REMOVE " + ", ".join(f"#{k}" for k in removes)
        self._transact(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": serialize({"intake_id": record.intake_id}),
                    "UpdateExpression": expr,
                    "ConditionExpression": "attribute_exists(intake_id) AND #version = :expected "
                    "AND #status <> :withdrawn",
                    "ExpressionAttributeNames": _names(*sets, *removes, "status"),
                    "ExpressionAttributeValues": serialize(
                        {
                            **{f":{k}": item[k] for k in sets},
                            ":expected": expected_version,
                            ":withdrawn": "withdrawn",
                        }
                    ),
                }
            },
            events,
            also,
        )

    def withdraw(
        self,
        intake_id: str,
        *,
        at: datetime,
        by: str,
        reason: str,
        events: Sequence[OutgoingEvent] = (),
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Mark withdrawn and erase the personal data (:data:`ERASED_FIELDS`, the assigned companion) in
        the same transaction as the ``IntakeWithdrawn`` outbox item; raises ``ConditionFailedError`` if
        missing or already withdrawn."""
        self._transact(
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": serialize({"intake_id": intake_id}),
                    "UpdateExpression": "SET #status = :withdrawn, withdrawn_at = :at, withdrawn_by = :by, "
                    "withdrawn_reason = :reason, erased_at = :at ADD #version :one REMOVE "
                    + ", ".join(f"#{k}" for k in (*ERASED_FIELDS, *_ERASED_PROJECTION)),
                    "ConditionExpression": "attribute_exists(intake_id) AND #status <> :withdrawn",
                    "ExpressionAttributeNames": _names(
                        "status", "version", *ERASED_FIELDS, *_ERASED_PROJECTION
                    ),
                    "ExpressionAttributeValues": serialize(
                        {":withdrawn": "withdrawn", ":at": iso(at), ":by": by, ":reason": reason, ":one": 1}
                    ),
                }
            },
            events,
            also,
        )

    def erase(self, intake_id: str, *, at: datetime) -> bool:
        """Erase the personal data of an intake withdrawn before erasure existed (idempotent repair: only if
        withdrawn and not yet erased). True if it erased something."""
        try:
            self.table.update_item(
                Key={"intake_id": intake_id},
                UpdateExpression="SET erased_at = :at REMOVE "
                + ", ".join(f"#{k}" for k in (*ERASED_FIELDS, *_ERASED_PROJECTION)),
                ConditionExpression="#status = :withdrawn AND attribute_not_exists(erased_at)",
                ExpressionAttributeNames=_names("status", *ERASED_FIELDS, *_ERASED_PROJECTION),
                ExpressionAttributeValues={":at": iso(at), ":withdrawn": "withdrawn"},
            )
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def apply_assignment(
        self,
        intake_id: str,
        *,
        status: IntakeStatus,
        companion_id: str | None,
        at: datetime,
        expires_at: int | None = None,
    ) -> bool:
        """Project a matching event: only onto an existing, not withdrawn intake and only if the event is
        newer than the last one applied (duplicates and late arrivals are no-ops). True if applied.

        Matching waitlists a student and lets them in at once when a companion of a connected school has
        room: both facts carry the same instant, and the assignment wins whichever arrives first."""
        sets: dict[str, Any] = {"status": status, "assignment_at": iso(at)}
        if companion_id is not None:
            sets["companion_id"] = companion_id
        if expires_at is not None:
            sets["expires_at"] = expires_at
        expr = "SET " + ", ".join(f"#{k} = :{k}" for k in sets)
        if companion_id is None:
            expr += " REMOVE #companion_id"
        newer = "#assignment_at < :assignment_at"
        if status == "assigned":
            newer += " OR (#assignment_at = :assignment_at AND #status = :waitlisted)"
        try:
            self.table.update_item(
                Key={"intake_id": intake_id},
                UpdateExpression=expr,
                ConditionExpression="attribute_exists(intake_id) AND #status <> :withdrawn AND "
                f"(attribute_not_exists(#assignment_at) OR {newer})",
                ExpressionAttributeNames=_names(*sets, "companion_id", "assignment_at", "status"),
                ExpressionAttributeValues={
                    **{f":{k}": v for k, v in sets.items()},
                    ":withdrawn": "withdrawn",
                    **({":waitlisted": "waitlisted"} if status == "assigned" else {}),
                },
            )
        except ClientError as e:
            if condition_failed(e):
                return False
            raise
        return True

    def _transact(
        self,
        business: dict[str, Any],
        events: Sequence[OutgoingEvent],
        also: Sequence[dict[str, Any]] = (),
    ) -> None:
        try:
            self.client.transact_write_items(TransactItems=[business, *also, *outbox_puts(OUTBOX, events)])
        except ClientError as e:
            if condition_failed(e, item=0):  # the intake's own condition (not its outbox item's)
                raise ConditionFailedError("condition failed") from None
            raise

    # ---------------------------------------------------------------- reads
    def get(self, intake_id: str) -> IntakeRecord | None:
        item = self.table.get_item(Key={"intake_id": intake_id}, ConsistentRead=True).get("Item")
        return _record(item) if item else None

    def query(
        self,
        index: str,
        pk_value: str,
        *,
        sk_prefix: str | None = None,
        filters: Mapping[str, str],
        not_expired_at: int,
        limit: int,
        start_key: dict[str, Any] | None,
        max_rounds: int = 10,
    ) -> tuple[list[IntakeRecord], dict[str, Any] | None]:
        """Up to ``limit`` items of one index partition (newest first) matching ``filters`` (attribute =
        value) and not expired; returns them and the start key of the next page (``None`` at the end)."""
        ix = INDEXES[index]
        key: ConditionBase = Key(ix.pk).eq(pk_value)
        if sk_prefix and ix.sk:
            key = key & Key(ix.sk).begins_with(sk_prefix)
        flt: ConditionBase = Attr("expires_at").not_exists() | Attr("expires_at").gt(not_expired_at)
        for attr, value in filters.items():
            flt = flt & Attr(attr).eq(value)
        items, lek = query_page(
            self.table,
            key=key,
            filter_expression=flt,
            limit=limit,
            start_key=start_key,
            index=index,
            max_rounds=max_rounds,
        )
        return [_record(i) for i in items], lek

    def with_student_key(self, key: str, *, not_expired_at: int) -> list[IntakeRecord]:
        """The intakes (not withdrawn, not expired) of the student with the keyed hash ``key``."""
        found, _ = self.query(
            "by_student_key", key, filters={}, not_expired_at=not_expired_at, limit=10, start_key=None
        )
        return [r for r in found if r.status != "withdrawn"]

    @staticmethod
    def student_key(material: bytes) -> str:
        """The keyed hash of a student (``logic.duplicates.student_material``; KMS, ``dal.student_keys``)."""
        return student_keys.student_key(material)

    def count(self) -> int:
        """Number of intakes (scan; for tests and the local demo only)."""
        return int(self.table.scan(Select="COUNT")["Count"])


def index_key_names(index: str) -> tuple[str, ...]:
    """Attributes of a start key on ``index``: table key + index keys."""
    ix = INDEXES[index]
    return tuple(dict.fromkeys(k for k in (INTAKES.pk, ix.pk, ix.sk) if k))
