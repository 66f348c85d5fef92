"""Construct ids derived from topology names (stable logical IDs). The operations names and tags live in
:mod:`contracts.operations` (re-exported here for the constructs).

Pure Python (no CDK import).
"""

from __future__ import annotations

import re

from contracts.operations import (
    DEAD_LETTER_KINDS,
    TAG_DLQ_KIND,
    TAG_DLQ_OF,
    TAG_FUNCTION,
    TAG_QUEUE_OF,
    TAG_TABLE,
    DeadLetterKind,
    dead_letter_queue_name,
)

__all__ = [
    "DEAD_LETTER_KINDS",
    "TAG_DLQ_KIND",
    "TAG_DLQ_OF",
    "TAG_FUNCTION",
    "TAG_QUEUE_OF",
    "TAG_TABLE",
    "DeadLetterKind",
    "construct_id",
    "dead_letter_queue_name",
]


def construct_id(name: str) -> str:
    """``"intake-api"`` → ``"IntakeApi"``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)
