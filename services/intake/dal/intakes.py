"""DynamoDB access for the ``intakes`` table (the only module of intake that talks to DynamoDB)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from common import settings
from common.errors import ConflictError
from services.intake.models.intake import IntakeRecord

TABLE = "intakes"


class IntakeRepository:
    """Stores and reads intake records. Items are the JSON form of :class:`IntakeRecord`."""

    def __init__(self, table: Any | None = None):
        self._table = table

    @property
    def table(self) -> Any:
        return self._table or settings.table(TABLE)

    def put_new(self, record: IntakeRecord) -> None:
        """Insert; raises ``ConflictError`` if the intake id exists already."""
        item = record.model_dump(mode="json", exclude_none=True)
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(intake_id)")
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConflictError(record.intake_id) from None
            raise

    def get(self, intake_id: str) -> IntakeRecord | None:
        item = self.table.get_item(Key={"intake_id": intake_id}, ConsistentRead=True).get("Item")
        return IntakeRecord.model_validate(item) if item else None

    def count(self) -> int:
        """Number of items (scan; for tests and the local demo only)."""
        return int(self.table.scan(Select="COUNT")["Count"])
