"""The one cursor codec of paged API answers: an opaque, URL-safe token with the DynamoDB start key of the
next page and the scope it belongs to (an index partition, a day), so that a cursor is only accepted where
it came from (no peeking into another partition with a forged key)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Mapping
from typing import Any

from common.errors import DomainValidationError, FieldError


def invalid_cursor() -> DomainValidationError:
    """422 on the ``cursor`` field (also for a start key DynamoDB refuses)."""
    return DomainValidationError([FieldError(field="cursor", message="Ungültiger Seitenzeiger.")])


def encode_cursor(scope: str, key: Mapping[str, Any]) -> str:
    raw = json.dumps(
        {"s": scope, "k": {k: str(v) for k, v in key.items()}}, separators=(",", ":"), sort_keys=True
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, *, keys: Collection[str]) -> tuple[str, dict[str, str]]:
    """(scope, start key) of ``cursor``; raises :func:`invalid_cursor` unless the key has exactly ``keys``,
    all strings. The caller checks that the scope (and the key's partition) is the one being read."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError):
        raise invalid_cursor() from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("s"), str)
        or not isinstance(data.get("k"), dict)
        or set(data["k"]) != set(keys)
        or not all(isinstance(v, str) for v in data["k"].values())
    ):
        raise invalid_cursor()
    return data["s"], dict(data["k"])
