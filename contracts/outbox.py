"""Transactional outbox format (DESIGN.md §2 "No lost events"), declared once.

A service that publishes after a DynamoDB write puts an **outbox item into the same table in the
same** ``TransactWriteItems`` call as its business item. The table's stream feeds an EventBridge
Pipe (CDK, ``infra/``) — or, locally, the runtime's pipe emulation (``avdual/runtime/relay.py``) — that
turns every *inserted* outbox item into one event on the platform bus. A crash after the
transaction cannot lose the event; a retried transaction cannot duplicate it (the put is
conditional on the key not existing; consumers dedupe on ``metadata.idempotency_key`` anyway).

Outbox item (strings unless noted)::

    <table pk>    = "outbox#<metadata.idempotency_key>"
    <table sk>    = "outbox"                       (only for tables with a sort key)
    record_type   = "outbox"
    detail_type   = "IntakeSubmitted"              an EventSpec.detail_type the service publishes
    metadata      = '{"version": 1, ...}'          JSON text of the envelope's metadata object
    data          = '{"intake_id": ...}'           JSON text of the envelope's data object
    <table ttl>   = epoch seconds (Number), now + OUTBOX_TTL_DAYS

The pipe sets ``source`` itself (the owning service's ``Source``), so a table can only publish as
its own service. Outbox items carry no personal data (events never do).
"""

from __future__ import annotations

import json
from typing import Any

from contracts import topology as topo
from contracts.events import Source

OUTBOX_KEY_PREFIX = "outbox#"
OUTBOX_SORT_KEY = "outbox"
OUTBOX_RECORD_TYPE_ATTRIBUTE = "record_type"
OUTBOX_RECORD_TYPE = "outbox"
OUTBOX_DETAIL_TYPE_ATTRIBUTE = "detail_type"
OUTBOX_METADATA_ATTRIBUTE = "metadata"
OUTBOX_DATA_ATTRIBUTE = "data"
#: Outbox items expire after this many days (table TTL); the pipe relays them within seconds.
OUTBOX_TTL_DAYS = 7


def outbox_tables() -> list[topo.Table]:
    """Tables with a stream: each gets an outbox pipe."""
    return [t for t in topo.TABLES.values() if t.stream]


def pipe_source(table: topo.Table) -> Source:
    """The ``source`` of events relayed from ``table``: the one source its owning service publishes with."""
    sources = {
        e.source
        for f in topo.FUNCTIONS.values()
        if f.service == table.service and table.name in f.tables
        for e in f.publishes
    }
    if len(sources) != 1:
        raise ValueError(
            f"outbox table {table.name}: expected exactly one event source, got {sorted(sources)}"
        )
    return next(iter(sources))


def filter_pattern(table: topo.Table) -> dict[str, Any]:
    """EventBridge Pipes filter on the DynamoDB stream record (DynamoDB JSON)."""
    return {
        "eventName": ["INSERT"],
        "dynamodb": {
            "Keys": {table.pk: {"S": [{"prefix": OUTBOX_KEY_PREFIX}]}},
            "NewImage": {OUTBOX_RECORD_TYPE_ATTRIBUTE: {"S": [OUTBOX_RECORD_TYPE]}},
        },
    }


def _image_path(attribute: str) -> str:
    return f"$.dynamodb.NewImage.{attribute}.S"


#: JSON path of the detail-type (a dynamic EventBridge-target parameter of the pipe).
DETAIL_TYPE_PATH = _image_path(OUTBOX_DETAIL_TYPE_ATTRIBUTE)


def input_template() -> str:
    """The event ``detail``: the envelope, its halves inserted unquoted so the JSON text becomes JSON."""
    return (
        f'{{"metadata": <{_image_path(OUTBOX_METADATA_ATTRIBUTE)}>, '
        f'"data": <{_image_path(OUTBOX_DATA_ATTRIBUTE)}>}}'
    )


def matches_filter(table: topo.Table, record: dict[str, Any]) -> bool:
    """The :func:`filter_pattern` semantics, for the local pipe emulation (moto has no Pipes)."""
    if record.get("eventName") != "INSERT":
        return False
    ddb = record.get("dynamodb", {})
    key = ddb.get("Keys", {}).get(table.pk, {}).get("S", "")
    rtype = ddb.get("NewImage", {}).get(OUTBOX_RECORD_TYPE_ATTRIBUTE, {}).get("S")
    return key.startswith(OUTBOX_KEY_PREFIX) and rtype == OUTBOX_RECORD_TYPE


def render_entry(table: topo.Table, record: dict[str, Any], bus_name: str) -> dict[str, Any]:
    """The ``PutEvents`` entry the pipe produces for a matching stream record (local emulation)."""
    image = record["dynamodb"]["NewImage"]
    detail = {
        "metadata": json.loads(image[OUTBOX_METADATA_ATTRIBUTE]["S"]),
        "data": json.loads(image[OUTBOX_DATA_ATTRIBUTE]["S"]),
    }
    return {
        "Source": pipe_source(table).value,
        "DetailType": image[OUTBOX_DETAIL_TYPE_ATTRIBUTE]["S"],
        "Detail": json.dumps(detail, ensure_ascii=False, separators=(",", ":")),
        "EventBusName": bus_name,
    }
