"""DynamoDB tables and S3 buckets from their topology declarations."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from contracts import topology as topo
from infra.naming import construct_id

REPORT_EXPIRY_DAYS = 400


def _attr(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def table_from_topology(scope: Construct, spec: topo.Table) -> dynamodb.Table:
    """On-demand table with PITR, string keys, GSIs (projection ALL), TTL and optional stream; retained."""
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
        removal_policy=RemovalPolicy.RETAIN,
    )
    for index in spec.indexes:
        table.add_global_secondary_index(
            index_name=index.name,
            partition_key=_attr(index.pk),
            sort_key=_attr(index.sk) if index.sk else None,
            projection_type=dynamodb.ProjectionType.ALL,
        )
    return table


def bucket_from_topology(scope: Construct, spec: topo.Bucket) -> s3.Bucket:
    """Private, TLS-only, S3-encrypted bucket whose objects expire after 400 days; retained."""
    return s3.Bucket(
        scope,
        construct_id(spec.name) + "Bucket",
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        encryption=s3.BucketEncryption.S3_MANAGED,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-reports",
                expiration=Duration.days(REPORT_EXPIRY_DAYS),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
