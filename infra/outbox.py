"""Transactional outbox: the item format the services write, and the EventBridge Pipe that relays it.

A service that must publish an event after a DynamoDB write puts an **outbox item into the same table
in the same** ``TransactWriteItems`` **call** as its business item. The table's stream
(``Table.stream=True`` in the topology) feeds an EventBridge Pipe that turns every *inserted* outbox
item into one event on the platform bus. A crash after the transaction can no longer lose the event;
a retried transaction cannot duplicate it (the put is conditional on the key not existing).

Outbox item (all attributes strings unless noted)::

    <table pk>   = "outbox#<metadata.idempotency_key>"   e.g. intake_id = "outbox#intake-submitted:01J…"
    record_type  = "outbox"
    detail_type  = "IntakeSubmitted"                      an EventSpec.detail_type the service publishes
    metadata     = '{"version": 1, "correlation_id": "…", "idempotency_key": "…", "occurred_at": "…"}'
    data         = '{"intake_id": "01J…", "school_id": "…", …}'        the event's ``data`` (JSON text)
    <table ttl>  = <epoch seconds, now + OUTBOX_TTL_DAYS>  (Number; intakes: ``expires_at``)

written with ``ConditionExpression="attribute_not_exists(<pk>)"``. ``metadata`` and ``data`` are the two
halves of the envelope (DESIGN.md §2) serialised with ``json.dumps``; they must be JSON **objects**.
The pipe sets ``source`` itself (the owning service's ``Source``), so a table can only ever publish as
its own service. Outbox items carry no personal data (events never do) and are not visible through
the GSIs (they have no index key attributes).

The pipe forwards only ``INSERT`` stream records whose key starts with :data:`OUTBOX_KEY_PREFIX` and
whose ``record_type`` is :data:`OUTBOX_RECORD_TYPE` (updates, TTL deletions and business items are
dropped by the filter) and renders the event ``detail`` with :func:`input_template`.

These constants belong in ``contracts/`` eventually (the local runtime must emulate the same filter
and template over moto's stream records); they live here until the service side moves them.
"""

from __future__ import annotations

import json
from typing import Any

from contracts import topology as topo
from contracts.events import Source

OUTBOX_KEY_PREFIX = "outbox#"
OUTBOX_RECORD_TYPE_ATTRIBUTE = "record_type"
OUTBOX_RECORD_TYPE = "outbox"
OUTBOX_DETAIL_TYPE_ATTRIBUTE = "detail_type"
OUTBOX_METADATA_ATTRIBUTE = "metadata"
OUTBOX_DATA_ATTRIBUTE = "data"
#: Outbox items expire (table TTL attribute) after this many days; the pipe normally relays them
#: within seconds, the rest is slack for replays from the table after a pipe outage.
OUTBOX_TTL_DAYS = 7

#: DynamoDB stream batch the pipe reads; one event per record is put on the bus.
PIPE_BATCH_SIZE = 10
#: A batch that keeps failing is bisected, retried this often, then its position goes to the pipe DLQ.
PIPE_MAXIMUM_RETRY_ATTEMPTS = 10
#: Records older than this are sent to the pipe DLQ instead of being retried (stream retention is 24 h).
PIPE_MAXIMUM_RECORD_AGE_SECONDS = 6 * 3600


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


def filter_criteria_json(table: topo.Table) -> str:
    return json.dumps(filter_pattern(table), sort_keys=True, separators=(",", ":"))
