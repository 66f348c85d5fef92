"""Names and tags by which operations tooling (``avdual ops``) finds the queues and functions of a stage.

Declared once: CDK (``infra/``) tags the deployed resources with them, the local runtime tags its moto
resources the same way, and ``avdual.ops`` looks resources up by them.
"""

from __future__ import annotations

from typing import Literal

DeadLetterKind = Literal["subscription", "rule", "relay", "async", "alarm"]
#: Every kind of DLQ in the stack, in the order ``avdual ops health`` shows them. ``relay``: the on-failure
#: destination of an outbox relay's stream event source mapping (batch positions, not records).
DEAD_LETTER_KINDS: tuple[DeadLetterKind, ...] = ("subscription", "rule", "relay", "async", "alarm")

#: Tag on every DLQ: its kind (:data:`DEAD_LETTER_KINDS`).
TAG_DLQ_KIND = "avdual:dlq-kind"
#: Tag on every DLQ: the topology name it belongs to (subscription, outbox table of the relay, function).
TAG_DLQ_OF = "avdual:dlq-of"
#: Tag on a subscription's main queue: the subscription name.
TAG_QUEUE_OF = "avdual:queue-of"
#: Tag on every DynamoDB table: its topology name.
TAG_TABLE = "avdual:table"
#: Tag on every Lambda function: its topology name.
TAG_FUNCTION = "avdual:function"


def dead_letter_queue_name(kind: DeadLetterKind, of: str) -> str:
    """Readable DLQ name (alarm names, dashboard, ``avdual ops``): ``matching-intake-events``,
    ``matching-intake-events-rule``, ``matching-outbox-relay``, ``reporting-renderer-async``."""
    suffixes = {"subscription": "", "rule": "-rule", "relay": "-relay", "async": "-async", "alarm": ""}
    return f"{of}{suffixes[kind]}"


def stack_name(stage: str) -> str:
    """The CloudFormation stack of a stage (one per stage): ``AvDual-dev``."""
    return f"AvDual-{stage}"


#: Outputs of the stage's stack that operators and ``avdual smoke --stage`` read (docs/deploy.md).
OUTPUT_API_URL = "ApiUrl"
OUTPUT_USER_POOL_ID = "UserPoolId"
OUTPUT_WEB_CLIENT_ID = "WebClientId"
