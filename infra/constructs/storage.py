"""DynamoDB tables and S3 buckets from their topology declarations."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts import topology as topo
from infra.nag import acknowledge
from infra.naming import TAG_TABLE, construct_id

REPORT_EXPIRY_DAYS = 400
ACCESS_LOG_EXPIRY_DAYS = 400


def _attr(name: str, *, number: bool = False) -> dynamodb.Attribute:
    kind = dynamodb.AttributeType.NUMBER if number else dynamodb.AttributeType.STRING
    return dynamodb.Attribute(name=name, type=kind)


def table_from_topology(scope: Construct, spec: topo.Table, key: kms.IKey) -> dynamodb.Table:
    """On-demand table with PITR, string keys (an index's sort key may be a number), GSIs (projection ALL),
    TTL and optional stream, encrypted with the customer-managed ``key``; retained."""
    table = dynamodb.Table(
        scope,
        construct_id(spec.name) + "Table",
        partition_key=_attr(spec.pk),
        sort_key=_attr(spec.sk) if spec.sk else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=spec.ttl_attribute,
        stream=dynamodb.StreamViewType.NEW_AND_OLD_IMAGES if spec.stream else None,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=key,
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attr(index.pk),
            sort_key=_attr(index.sk, number=index.sk_number) if index.sk else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    Tags.of(table).add(TAG_TABLE, spec.name)  # ``avdual ops republish`` finds outbox tables by it
    return table


def access_log_bucket(scope: Construct, construct_id_: str) -> s3.Bucket:
    """Target of S3 server access logging: private, TLS-only, SSE-S3 (log delivery cannot use SSE-KMS)."""
    bucket = s3.Bucket(
        scope,
        construct_id_,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    acknowledge(
        bucket,
        "AwsSolutions-S1",
        "This bucket receives the server access logs of the report bucket; logging its own access would "
        "log the log deliveries recursively.",
    )
    return bucket


def bucket_from_topology(
    scope: Construct, spec: topo.Bucket, key: kms.IKey, access_logs: s3.IBucket
) -> s3.Bucket:
    """Private, TLS-only bucket encrypted with the customer-managed ``key`` (bucket key on), server
    access logs into ``access_logs``, objects expire after 400 days; retained."""
    return s3.Bucket(
        scope,
        construct_id(spec.name) + "Bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        bucket_key_enabled=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=f"{spec.name}/",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-reports",
                expiration=Duration.days(REPORT_EXPIRY_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
