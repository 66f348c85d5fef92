"""Lazily-read settings. Nothing is read at import time, so three services share one process locally.

Names only: the boto3 clients built from them are :mod:`common.aws` (logic never imports boto3, not even
through ``common``; docs/adr, layers).

Resource names come from the environment variables the topology declares
(``contracts.topology``); call :func:`reset` after changing the environment.
"""

from __future__ import annotations

import os
from functools import cache

from contracts.topology import API_BASE_URL_ENV, BUCKETS, COGNITO, EVENT_BUS_ENV, MAC_KEYS, STAGE_ENV, TABLES


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
def mac_key_id(logical: str) -> str:
    """Id (ARN) of the KMS HMAC key ``logical`` of the topology (e.g. ``"student-key"``)."""
    return _env(MAC_KEYS[logical].env_var)


@cache
def event_bus_name() -> str:
    return _env(EVENT_BUS_ENV)


def user_pool_client_id() -> str:
    """The app client id the API's ID tokens must be issued to (read per request: the local runtime sets it
    when it creates its user pool)."""
    return _env(COGNITO.client_id_env)


def api_base_url() -> str:
    """Public base URL of the API and its pages (``…/`` with the stage), for links in e-mails."""
    return _env(API_BASE_URL_ENV)


def stage() -> str:
    return os.environ.get(STAGE_ENV, "local")


def reset() -> None:
    """Forget cached settings after the environment changed (:func:`common.aws.reset` also forgets the
    clients)."""
    for f in (table_name, bucket_name, mac_key_id, event_bus_name):
        f.cache_clear()
