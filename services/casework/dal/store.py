"""DynamoDB access of casework (the only module of casework that talks to DynamoDB).

``casework`` table, one partition per student (``student#<intake_id>``)::

    sk = "case"                       StudentCase (+ ``companion_id`` for the caseload index ``by_companion``)
    sk = "internship#<internship_id>" Internship
    sk = "meeting#<meeting_id>"       Meeting

so an erasure deletes one partition. Every change of a student's casework writes the case with the next
``version`` (conditional on the one it read) together with the changed item and the events' outbox items
(``casework-outbox``) in one transaction: nothing half-written, no lost event. The ``companies`` table is the
directory (no student data). Substitutions: :mod:`common.substitutes` in the ``casework`` table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from boto3.dynamodb.conditions import Key
from botocore.exceptions import ClientError

from common import aws, settings
from common.dynamodb import all_items, batch_get, cancellation_codes, condition_failed, from_dynamo, serialize
from common.errors import ConflictError
from common.events import OutgoingEvent
from common.outbox import outbox_puts
from common.substitutes import SubstituteStore
from contracts.topology import CASEWORK, CASEWORK_OUTBOX, COMPANIES
from services.casework.models.casework import Company, Internship, Meeting, StudentCase

CASE_SK = "case"
INTERNSHIP_PREFIX = "internship#"
MEETING_PREFIX = "meeting#"


class StaleCaseError(ConflictError):
    """The case changed since it was read (a concurrent write or delivery came first); nothing was written."""

    for_people = False


def student_pk(intake_id: str) -> str:
    return f"student#{intake_id}"


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    """A stored internship or meeting without its keys and TTL."""
    return {k: v for k, v in from_dynamo(item).items() if k not in ("pk", "sk", "expires_at")}


def case_item(case: StudentCase) -> dict[str, Any]:
    """The stored case; ``companion_id`` (the index key) only while the student has a companion."""
    return {
        "pk": student_pk(case.intake_id),
        "sk": CASE_SK,
        **case.model_dump(mode="json", exclude_none=True),
    }


def internship_item(i: Internship, expires_at: int | None) -> dict[str, Any]:
    return {
        "pk": student_pk(i.intake_id),
        "sk": INTERNSHIP_PREFIX + i.internship_id,
        **i.model_dump(mode="json", exclude_none=True),
        "expires_at": expires_at,
    }


def meeting_item(m: Meeting, expires_at: int | None) -> dict[str, Any]:
    return {
        "pk": student_pk(m.intake_id),
        "sk": MEETING_PREFIX + m.meeting_id,
        **m.model_dump(mode="json", exclude_none=True),
        "expires_at": expires_at,
    }


class CaseworkStore:
    substitutions = SubstituteStore(CASEWORK.name)

    @property
    def table(self) -> Any:
        return aws.table(CASEWORK.name)

    @property
    def companies(self) -> Any:
        return aws.table(COMPANIES.name)

    @property
    def client(self) -> Any:
        return aws.client("dynamodb")

    # ------------------------------------------------------------------ reads
    def get_case(self, intake_id: str) -> StudentCase | None:
        item = self.table.get_item(Key={"pk": student_pk(intake_id), "sk": CASE_SK}, ConsistentRead=True).get(
            "Item"
        )
        return StudentCase.model_validate(from_dynamo(item)) if item else None

    def partition(self, intake_id: str) -> tuple[StudentCase | None, list[Internship], list[Meeting]]:
        """The case, its internships and meetings (one query of the student's partition)."""
        case, internships, meetings = None, [], []
        for item in self._query(Key("pk").eq(student_pk(intake_id)), consistent=True):
            sk = str(item["sk"])
            if sk == CASE_SK:
                case = StudentCase.model_validate(from_dynamo(item))
            elif sk.startswith(INTERNSHIP_PREFIX):
                internships.append(Internship.model_validate(_fields(item)))
            elif sk.startswith(MEETING_PREFIX):
                meetings.append(Meeting.model_validate(_fields(item)))
        return case, internships, meetings

    def caseload(self, companion_id: str) -> list[StudentCase]:
        """Every case whose current (or last) companion is ``companion_id`` (the ``by_companion`` index)."""
        items = self._query(Key("companion_id").eq(companion_id), index="by_companion")
        return [StudentCase.model_validate(from_dynamo(i)) for i in items if i.get("sk") == CASE_SK]

    def _query(self, condition: Any, *, index: str | None = None, consistent: bool = False) -> list[Any]:
        kwargs: dict[str, Any] = {"KeyConditionExpression": condition}
        if index:
            kwargs["IndexName"] = index
        else:
            kwargs["ConsistentRead"] = consistent
        return list(all_items(self.table.query, **kwargs))

    # ------------------------------------------------------------------ writes
    def save(
        self,
        case: StudentCase,
        *,
        read_version: int | None,
        items: Iterable[dict[str, Any]] = (),
        conditions: Iterable[dict[str, Any]] = (),
        events: Sequence[OutgoingEvent] = (),
    ) -> None:
        """Write ``case`` (its ``version`` must be ``read_version + 1``; ``read_version=None``: the case must
        not exist yet), the plain ``items`` (internships, meetings), the low-level ``conditions`` and the
        events' outbox items in one transaction; :class:`StaleCaseError` if the case changed meanwhile."""
        name = settings.table_name(CASEWORK.name)
        put: dict[str, Any] = {"TableName": name, "Item": serialize(case_item(case))}
        if read_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": {"N": str(read_version)}}
        transact = [{"Put": put}]
        transact += [{"Put": {"TableName": name, "Item": serialize(i)}} for i in items]
        transact += list(conditions)
        transact += outbox_puts(CASEWORK_OUTBOX.name, events)
        try:
            self.client.transact_write_items(TransactItems=transact)
        except ClientError as e:
            if condition_failed(e) or "TransactionConflict" in cancellation_codes(e):
                raise StaleCaseError("case changed") from None
            raise

    def company_exists(self, company_id: str) -> dict[str, Any]:
        """A transaction condition: the company is in the directory."""
        return {
            "ConditionCheck": {
                "TableName": settings.table_name(COMPANIES.name),
                "Key": {"company_id": {"S": company_id}},
                "ConditionExpression": "attribute_exists(company_id)",
            }
        }

    def erase(self, intake_id: str, tombstone: StudentCase) -> int:
        """Replace the student's case by ``tombstone`` and delete every other item of the partition (the
        internships, meetings and notes); returns how many were deleted. Repeating it changes nothing."""
        self.table.put_item(Item=case_item(tombstone))
        keys = [
            {"pk": i["pk"], "sk": i["sk"]}
            for i in self._query(Key("pk").eq(student_pk(intake_id)), consistent=True)
            if i["sk"] != CASE_SK
        ]
        with self.table.batch_writer() as batch:
            for k in keys:
                batch.delete_item(Key=k)
        return len(keys)

    def set_expiry(self, intake_id: str, expires_at: int) -> None:
        """Give every internship and meeting of the student the case's expiry."""
        for i in self._query(Key("pk").eq(student_pk(intake_id)), consistent=True):
            if i["sk"] != CASE_SK and i.get("expires_at") != expires_at:
                self.table.update_item(
                    Key={"pk": i["pk"], "sk": i["sk"]},
                    UpdateExpression="SET expires_at = :e",
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues={":e": expires_at},
                )

    # ------------------------------------------------------------------ companies
    def put_company(self, c: Company, *, new: bool) -> None:
        cond = "attribute_not_exists(company_id)" if new else "attribute_exists(company_id)"
        item = {**c.model_dump(mode="json", exclude_none=True), "name_key": c.name.casefold()}
        try:
            self.companies.put_item(Item=item, ConditionExpression=cond)
        except ClientError as e:
            if condition_failed(e):
                raise StaleCaseError("company") from None
            raise

    def get_company(self, company_id: str) -> Company | None:
        item = self.companies.get_item(Key={"company_id": company_id}, ConsistentRead=True).get("Item")
        return _company(item) if item else None

    def companies_by_id(self, ids: Iterable[str]) -> dict[str, Company]:
        keys = [{"company_id": i} for i in sorted(set(ids))]
        return {str(item["company_id"]): _company(item) for item in batch_get(self.companies, keys)}

    def all_companies(self) -> list[Company]:
        return [_company(i) for i in all_items(self.companies.scan)]


def _company(item: dict[str, Any]) -> Company:
    return Company.model_validate({k: v for k, v in from_dynamo(item).items() if k != "name_key"})
