"""Customer-managed KMS keys (rotation on) and the key-policy statements the AWS services need.

Three keys, one per kind of data, so a key policy never has to trust more services than its data need:

* ``data``      – DynamoDB tables and the report bucket (personal data of minors). No service
  principal in the key policy: DynamoDB and S3 use the key on behalf of the calling role, which
  gets explicit ``kms:`` actions in its IAM policy (see :mod:`infra.iam`).
* ``messaging`` – every SQS queue (incl. the DLQs EventBridge rules write to) and the alarm SNS
  topic. EventBridge (rule targets and their DLQs) and CloudWatch (alarm → topic) write to those
  resources themselves, so the key policy lets ``events.amazonaws.com`` and
  ``cloudwatch.amazonaws.com`` call ``kms:GenerateDataKey`` + ``kms:Decrypt``. Only documented
  condition keys are used:

  - EventBridge: the statement the SQS developer guide gives for AWS service event sources
    ("Amazon SQS key management", configure KMS permissions for AWS services) has **no** condition, and
    the SNS guide states that ``aws:SourceArn`` / ``aws:SourceAccount`` are not supported in a key
    policy for EventBridge deliveries: a condition there would make every delivery fail (silently,
    into the rule DLQ, whose key is this one). Which rules may write is decided by the queue policies
    instead (``aws:SourceArn`` = the one rule, :class:`infra.constructs.service.QueueTarget`).
  - CloudWatch alarms: ``aws:SourceArn`` (this stage's alarm names) and ``aws:SourceAccount``, as in
    the SNS guide's key-policy example for CloudWatch alarm notifications.
  - SNS (subscription DLQ of the alarm topic): ``aws:SourceArn`` = the topic.
* ``logs``      – CloudWatch log groups. CloudWatch Logs encrypts with the key itself, so the key
  policy trusts ``logs.<region>.amazonaws.com`` with an encryption-context condition that limits it
  to log groups of this account and region.

Every key keeps CDK's default first statement (the account root may use IAM policies to grant
access); without it a key cannot be managed at all.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

#: What EventBridge / CloudWatch need to write into a KMS-encrypted queue or topic.
SERVICE_ENCRYPT_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
#: What CloudWatch Logs needs on a log-group key (explicit list instead of the documented ``Encrypt*``).
LOGS_KEY_ACTIONS = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
)
PENDING_WINDOW = Duration.days(30)


def _arn_prefix(service: str) -> str:
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}"


def alarm_arn_pattern(stage: str) -> str:
    """ARN pattern of the CloudWatch alarms of ``stage`` (all named ``avdual-<stage>-…``)."""
    return f"{_arn_prefix('cloudwatch')}:alarm:avdual-{stage}-*"


def _key(scope: Construct, construct_id: str, stage: str, purpose: str) -> kms.Key:
    return kms.Key(
        scope,
        construct_id,
        description=f"avdual {stage}: {purpose}",
        enable_key_rotation=True,
        pending_window=PENDING_WINDOW,
        removal_policy=RemovalPolicy.RETAIN,
    )


class Keys(Construct):
    """The three customer-managed keys of a stage."""

    def __init__(self, scope: Construct, construct_id: str, *, stage: str) -> None:
        super().__init__(scope, construct_id)
        self.data = _key(self, "DataKey", stage, "DynamoDB tables and report bucket (personal data)")
        self.messaging = _key(self, "MessagingKey", stage, "SQS queues, DLQs and the alarm topic")
        self.logs = _key(self, "LogsKey", stage, "CloudWatch log groups")

        self.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeToWriteEncryptedQueues",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=list(SERVICE_ENCRYPT_ACTIONS),
                resources=["*"],
            )
        )
        self.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(SERVICE_ENCRYPT_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:SourceArn": alarm_arn_pattern(stage)},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        self.logs.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccountAndRegion",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )

    def allow_sns_to_use_messaging_key(self, topic_name: str) -> None:
        """SNS delivers undeliverable notifications to an encrypted subscription DLQ itself.

        The topic ARN is spelt out from its fixed name: a ``Ref`` to the topic would make the key
        depend on the topic that is encrypted with it (a cycle).
        """
        topic_arn = f"arn:{Aws.PARTITION}:sns:{Aws.REGION}:{Aws.ACCOUNT_ID}:{topic_name}"
        self.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowSnsAlarmTopicSubscriptionDlq",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=list(SERVICE_ENCRYPT_ACTIONS),
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": topic_arn}},
            )
        )
