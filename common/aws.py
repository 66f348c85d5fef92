"""boto3 clients and resources for the names in :mod:`common.settings`, created lazily and cached.

The only module of ``common`` besides the stores that imports boto3: ``dal/`` code, handlers and the local
runtime use it; ``logic/`` never does (import-linter, docs/architecture.md "Layers").
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3

from common import settings


@cache
def client(service: str) -> Any:
    """A cached boto3 client (``"dynamodb"``, ``"events"``, ``"s3"``, …)."""
    return boto3.client(service)  # type: ignore[call-overload]


@cache
def resource(service: str) -> Any:
    return boto3.resource(service)  # type: ignore[call-overload]


@cache
def table(logical: str) -> Any:
    """A cached boto3 DynamoDB ``Table`` resource for the topology table ``logical``."""
    return resource("dynamodb").Table(settings.table_name(logical))


def reset() -> None:
    """Forget cached clients and settings (after the environment or the moto backend changed)."""
    for f in (client, resource, table):
        f.cache_clear()
    settings.reset()
