"""Transactional outbox format, declared once (docs/adr/0005-outbox-relay-lambda.md).

A service that publishes after a DynamoDB write puts an **outbox item into the same table in the
same** ``TransactWriteItems`` call as its business item. The table's DynamoDB stream triggers the
table's **outbox relay**, a Lambda function of the owning service (declared in
:mod:`contracts.topology`, code in :mod:`common.outbox_relay`) that turns every *inserted* outbox
item into one event on the platform bus. The same handler runs on AWS (DynamoDB event source
mapping) and locally (``avdual/runtime/stream_mappings.py`` plays the event source mapping on moto).
A crash after the transaction cannot lose the event; a retried transaction cannot duplicate it (the
put is conditional on the key not existing; consumers dedupe on ``metadata.idempotency_key`` anyway).

Outbox item (strings unless noted)::

    <table pk>    = "outbox#<metadata.idempotency_key>"
    <table sk>    = "outbox"                       (only for tables with a sort key)
    record_type   = "outbox"
    detail_type   = "IntakeSubmitted"              an EventSpec.detail_type the service publishes
    metadata      = '{"version": 1, ...}'          JSON text of the envelope's metadata object
    data          = '{"intake_id": ...}'           JSON text of the envelope's data object
    <table ttl>   = epoch seconds (Number), now + OUTBOX_TTL_DAYS

The relay sets ``source`` itself (the one source of the events the table's service publishes), so a
table can only publish as its own service. Outbox items carry no personal data (events never do).

This module knows only the item format (no topology): the filter of the relay's event source mapping
(:func:`filter_pattern`) and the one renderer from a stream record to a ``PutEvents`` entry
(:func:`render_entry`), used by the relay and by ``avdual ops republish``.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from contracts.event_catalog import EventSpec

OUTBOX_KEY_PREFIX = "outbox#"
OUTBOX_SORT_KEY = "outbox"
OUTBOX_RECORD_TYPE_ATTRIBUTE = "record_type"
OUTBOX_RECORD_TYPE = "outbox"
OUTBOX_DETAIL_TYPE_ATTRIBUTE = "detail_type"
OUTBOX_METADATA_ATTRIBUTE = "metadata"
OUTBOX_DATA_ATTRIBUTE = "data"
#: Outbox items expire after this many days (table TTL); the relay publishes them within seconds.
OUTBOX_TTL_DAYS = 7


class OutboxItemError(ValueError):
    """A stream record is not a publishable outbox item (missing attribute, bad JSON, foreign event)."""


def filter_pattern(partition_key: str) -> dict[str, Any]:
    """Lambda event filter (``FilterCriteria``) of the relay's event source mapping: inserted outbox items.

    Lambda filters DynamoDB stream records on the ``dynamodb`` key only ("Using event filtering with a
    DynamoDB event source"), so the event name cannot be named: an insert is a record with a new image and
    without an old one (the outbox tables stream ``NEW_AND_OLD_IMAGES``), and the outbox item is recognised
    by its key prefix and ``record_type``, all in DynamoDB JSON."""
    return {
        "dynamodb": {
            "Keys": {partition_key: {"S": [{"prefix": OUTBOX_KEY_PREFIX}]}},
            "NewImage": {OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": [OUTBOX_RECORD_TYPE]}},
            "OldImage": {OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": [{"exists": False}]}},
        },
    }


def _string(image: dict[str, Any], attribute: str) -> str:
    value = image.get(attribute, {}).get("S")
    if not isinstance(value, str):
        raise OutboxItemError(f"outbox item without string attribute {attribute!r}")
    return value


def _json_object(image: dict[str, Any], attribute: str) -> dict[str, Any]:
    try:
        value = json.loads(_string(image, attribute))
    except json.JSONDecodeError as e:
        raise OutboxItemError(f"outbox attribute {attribute!r} is not JSON: {e.msg}") from None
    if not isinstance(value, dict):
        raise OutboxItemError(f"outbox attribute {attribute!r} is not a JSON object")
    return value


def render_entry(record: dict[str, Any], publishes: Collection[EventSpec], bus_name: str) -> dict[str, Any]:
    """The ``PutEvents`` entry for an outbox item's stream record (``dynamodb.NewImage`` in DynamoDB JSON).

    ``publishes``: the events the table's service may publish through it (one ``source``); the item's
    detail-type must be one of them. ``detail`` is the envelope with ``metadata`` and ``data`` as JSON
    objects (the item holds them as JSON text). Raises :class:`OutboxItemError` for anything else.
    """
    sources = {spec.source for spec in publishes}
    if len(sources) != 1:
        raise ValueError(f"an outbox publishes as exactly one source, got {sorted(sources)}")
    image = record.get("dynamodb", {}).get("NewImage") or {}
    detail_type = _string(image, OUTBOX_DETAIL_TYPE_ATTRIBUTE)
    if detail_type not in {spec.detail_type for spec in publishes}:
        raise OutboxItemError(f"{detail_type!r} is not an event of {next(iter(sources)).value}")
    detail = {
        "metadata": _json_object(image, OUTBOX_METADATA_ATTRIBUTE),
        "data": _json_object(image, OUTBOX_DATA_ATTRIBUTE),
    }
    return {
        "Source": next(iter(sources)).value,
        "DetailType": detail_type,
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        "EventBusName": bus_name,
    }
