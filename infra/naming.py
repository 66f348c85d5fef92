"""Construct ids derived from topology names (stable logical IDs), and the names/tags by which
operations tooling (``avdual ops``) finds the queues of a deployed stack.

Pure Python (no CDK import): ``avdual.ops`` and the local runtime read the same names and tags.
"""

from __future__ import annotations

import re
from typing import Literal

DeadLetterKind = Literal["subscription", "rule", "pipe", "async", "alarm"]
#: Every kind of DLQ in the stack, in the order ``avdual ops health`` shows them.
DEAD_LETTER_KINDS: tuple[DeadLetterKind, ...] = ("subscription", "rule", "pipe", "async", "alarm")

#: Tag on every DLQ: its kind (:data:`DEAD_LETTER_KINDS`).
TAG_DLQ_KIND = "avdual:dlq-kind"
#: Tag on every DLQ: the topology name it belongs to (subscription, table of the outbox pipe, function).
TAG_DLQ_OF = "avdual:dlq-of"
#: Tag on a subscription's main queue: the subscription name.
TAG_QUEUE_OF = "avdual:queue-of"
#: Tag on every Lambda function: its topology name.
TAG_FUNCTION = "avdual:function"


def construct_id(name: str) -> str:
    """``"intake-api"`` → ``"IntakeApi"``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def dead_letter_queue_name(kind: DeadLetterKind, of: str) -> str:
    """Readable DLQ name (alarm names, dashboard, ``avdual ops``): ``matching-intake-events``,
    ``matching-intake-events-rule``, ``matching-outbox-outbox-pipe``, ``reporting-renderer-async``."""
    suffixes = {"subscription": "", "rule": "-rule", "pipe": "-outbox-pipe", "async": "-async", "alarm": ""}
    return f"{of}{suffixes[kind]}"


def pipe_name(stage: str, table: str) -> str:
    """Physical name of the outbox pipe of ``table``."""
    return f"avdual-{stage}-{table}-outbox"
