"""SQS queues and log settings shared by the constructs: every queue is KMS-encrypted and TLS-only."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

DLQ_RETENTION = Duration.days(14)
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
#: Encrypted queues cache data keys this long (fewer KMS calls; the KMS default is 5 minutes).
DATA_KEY_REUSE = Duration.minutes(15)


def queue(scope: Construct, construct_id: str, key: kms.IKey, **kwargs: object) -> sqs.Queue:
    return sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        data_key_reuse=DATA_KEY_REUSE,
        enforce_ssl=True,
        **kwargs,  # type: ignore[arg-type]
    )


def dead_letter_queue(scope: Construct, construct_id: str, key: kms.IKey) -> sqs.Queue:
    """A DLQ keeps messages for the maximum 14 days."""
    return queue(scope, construct_id, key, retention_period=DLQ_RETENTION)
