"""Least-privilege grants with explicit action lists (no ``service:*``, no ``Get*``-style wildcards).

CDK's ``grant_read_write_data`` / ``grant_read_write`` add ``kms:ReEncrypt*``, ``kms:GenerateDataKey*``,
``s3:GetObject*``, ``s3:List*``, ``…/index/*`` and the like; these helpers grant exactly the calls the
services make, on exactly the resources (tables and their declared indexes, objects of one bucket,
one key).
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3

from contracts import topology as topo

#: Item-level DynamoDB calls of the services (TransactWriteItems is authorised per contained action).
DYNAMODB_READ_WRITE_ACTIONS = (
    "dynamodb:BatchGetItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
#: What a caller of a table/bucket encrypted with a customer-managed key needs on that key.
KMS_DATA_ACTIONS = ("kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey")
#: Producer of an SQS queue (or SNS topic) encrypted with a customer-managed key.
KMS_SEND_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
S3_OBJECT_ACTIONS = ("s3:DeleteObject", "s3:GetObject", "s3:PutObject")
#: Execution role of a function with a DynamoDB stream event source mapping (Lambda developer guide, "Using
#: AWS Lambda with Amazon DynamoDB"; DynamoDB developer guide, "IAM policy to allow an AWS Lambda function to
#: access DynamoDB stream records"), on the stream; ``dynamodb:ListStreams`` in addition, on ``*``.
DYNAMODB_STREAM_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")


def index_arns(table: dynamodb.ITable, spec: topo.Table) -> list[str]:
    """ARNs of the declared indexes of ``table`` (each one named, never ``index/*``)."""
    return [f"{table.table_arn}/index/{index.name}" for index in spec.indexes]


def grant_table_read_write(grantee: iam.IGrantable, table: dynamodb.ITable, spec: topo.Table) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(DYNAMODB_READ_WRITE_ACTIONS),
            resources=[table.table_arn, *index_arns(table, spec)],
        )
    )


def grant_key(grantee: iam.IGrantable, key: kms.IKey, actions: tuple[str, ...] = KMS_DATA_ACTIONS) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[key.key_arn])
    )


def grant_bucket_objects(grantee: iam.IGrantable, bucket: s3.IBucket) -> None:
    """Read, write and delete objects (erasure) and list the bucket."""
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(S3_OBJECT_ACTIONS), resources=[bucket.arn_for_objects("*")])
    )
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=["s3:ListBucket"], resources=[bucket.bucket_arn])
    )


def grant_stream_read(grantee: iam.IGrantable, table: dynamodb.ITable, key: kms.IKey) -> None:
    """Read ``table``'s DynamoDB stream as a Lambda event source mapping does, with ``kms:Decrypt`` on the
    table's customer-managed key (stream records are encrypted with it). ``dynamodb:ListStreams`` has no
    resource-level permissions: it is granted on ``*``."""
    if table.table_stream_arn is None:
        raise ValueError("table has no stream")
    principal = grantee.grant_principal
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(DYNAMODB_STREAM_ACTIONS), resources=[table.table_stream_arn])
    )
    principal.add_to_principal_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
    grant_key(grantee, key, ("kms:Decrypt",))


def grant_send(grantee: iam.IGrantable, queue_arn: str, key: kms.IKey) -> None:
    """``sqs:SendMessage`` to one queue encrypted with ``key``."""
    principal = grantee.grant_principal
    principal.add_to_principal_policy(iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[queue_arn]))
    principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(KMS_SEND_ACTIONS), resources=[key.key_arn])
    )


def grant_send_mail(grantee: iam.IGrantable, addresses: tuple[str, ...]) -> None:
    """``ses:SendRawEmail`` on exactly the SES identities of ``addresses`` (sender and recipient; the
    reporting e-mails are raw MIME messages). SES authorises a send against the sender identity and,
    while the account is in the SES sandbox, against the recipient identity too; granting only the
    sender makes every send fail with AccessDenied in the sandbox."""
    stack = Stack.of(grantee.grant_principal)  # type: ignore[arg-type]
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["ses:SendRawEmail"],
            resources=[
                stack.format_arn(service="ses", resource="identity", resource_name=address)
                for address in dict.fromkeys(addresses)
            ],
        )
    )
