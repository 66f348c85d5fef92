"""Customer-managed KMS keys (rotation on) and the key-policy statements the AWS services need.

Three keys, one per kind of data, so a key policy never has to trust more services than its data need:

* ``data``      – DynamoDB tables and the report bucket (personal data of minors). No service
  principal in the key policy: DynamoDB and S3 use the key on behalf of the calling role, which
  gets explicit ``kms:`` actions in its IAM policy (see :mod:`infra.iam`).
* ``messaging`` – every SQS queue (incl. the DLQs EventBridge rules write to) and the alarm SNS
  topic. EventBridge (rule targets and their DLQs) and CloudWatch (alarm → topic) write to those
  resources themselves, so the key policy lets ``events.amazonaws.com`` and
  ``cloudwatch.amazonaws.com`` call ``kms:GenerateDataKey`` + ``kms:Decrypt``, restricted to our
  rules / alarms by ``aws:SourceArn`` / ``aws:SourceAccount``.
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


def rule_arn_pattern(bus_name: str) -> str:
    """ARN pattern of every rule on the custom bus ``bus_name`` (``rule/<bus>/<rule name>``)."""
    return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:rule/{bus_name}/*"


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

    def __init__(self, scope: Construct, construct_id: str, *, stage: str, bus_name: str) -> None:
        super().__init__(scope, construct_id)
        self.data = _key(self, "DataKey", stage, "DynamoDB tables and report bucket (personal data)")
        self.messaging = _key(self, "MessagingKey", stage, "SQS queues, DLQs and the alarm topic")
        self.logs = _key(self, "LogsKey", stage, "CloudWatch log groups")

        self.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowEventBridgeRulesOfThisBus",
                principals=[iam.ServicePrincipal("events.amazonaws.com")],
                actions=list(SERVICE_ENCRYPT_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:SourceArn": rule_arn_pattern(bus_name)},
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                },
            )
        )
        self.messaging.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(SERVICE_ENCRYPT_ACTIONS),
                resources=["*"],
                conditions={
                    "ArnLike": {"aws:SourceArn": f"{_arn_prefix('cloudwatch')}:alarm:*"},
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
