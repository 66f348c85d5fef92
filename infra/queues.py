"""SQS queues and log settings shared by the constructs: every queue is KMS-encrypted and TLS-only."""

from __future__ import annotations

from aws_cdk import Duration, Tags
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.naming import TAG_DLQ_KIND, TAG_DLQ_OF, DeadLetterKind

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


def dead_letter_queue(
    scope: Construct, construct_id: str, key: kms.IKey, *, kind: DeadLetterKind, of: str
) -> sqs.Queue:
    """A DLQ keeps messages for the maximum 14 days. Tagged with its kind and owner so ``avdual ops``
    finds it in the deployed stack without guessing from logical IDs."""
    q = queue(scope, construct_id, key, retention_period=DLQ_RETENTION)
    Tags.of(q).add(TAG_DLQ_KIND, kind)
    Tags.of(q).add(TAG_DLQ_OF, of)
    return q
