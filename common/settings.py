"""Lazily-read settings. Nothing is read at import time, so three services share one process locally.

Resource names come from the environment variables the topology declares
(``contracts.topology``); call :func:`reset` after changing the environment.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

import boto3

from contracts.topology import BUCKETS, COGNITO, EVENT_BUS_ENV, STAGE_ENV, TABLES


class SettingMissingError(RuntimeError):
    """A required environment variable is not set (deployment or runtime wiring error)."""


def _env(name: str) -> str:
    try:
        return os.environ[name]
    except KeyError:
        raise SettingMissingError(f"environment variable {name} is not set") from None


@cache
def table_name(logical: str) -> str:
    """Physical DynamoDB table name for the topology table ``logical`` (e.g. ``"intakes"``)."""
    return _env(TABLES[logical].env_var)


@cache
def bucket_name(logical: str) -> str:
    """Physical S3 bucket name for the topology bucket ``logical``."""
    return _env(BUCKETS[logical].env_var)


@cache
def event_bus_name() -> str:
    return _env(EVENT_BUS_ENV)


def user_pool_client_id() -> str:
    """The app client id the API's ID tokens must be issued to (read per request: the local runtime sets it
    when it creates its user pool)."""
    return _env(COGNITO.client_id_env)


def stage() -> str:
    return os.environ.get(STAGE_ENV, "local")


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
    return resource("dynamodb").Table(table_name(logical))


def reset() -> None:
    """Forget cached settings and clients (after the environment or the moto backend changed)."""
    for f in (table_name, bucket_name, event_bus_name, client, resource, table):
        f.cache_clear()
