"""The outbox relay: inserted outbox items of a table's DynamoDB stream → events on the platform bus.

One relay function per outbox table (``contracts.topology``: ``<table>-relay``, a function of the table's
service) is triggered by a DynamoDB event source mapping that passes only inserted outbox items
(``contracts.outbox.filter_pattern``). Each record is rendered by the one renderer
(``contracts.outbox.render_entry``: the owning service's ``source``, the item's detail-type, the envelope
with ``metadata`` and ``data`` as JSON objects) and put on the bus through the publisher port
(``common.events``). The same handler runs on AWS and in the local runtime.

Failures (Powertools ``BatchProcessor``, partial batch responses with ``ReportBatchItemFailures``):

* records are published one at a time in stream order; after the first failure the rest of the batch is
  not attempted but reported too. Lambda checkpoints before the lowest reported sequence number and
  retries from there, so events leave in order and none is put twice by the same retry;
* when the *first* record of a batch of several fails, the invocation fails instead: Lambda bisects the
  batch (``BisectBatchOnFunctionError``, no retry used) until a bad record is alone, so the records
  behind it are relayed and only its own position reaches the DLQ after the retries;
* a record that keeps failing is retried ``MaximumRetryAttempts`` times, then its position goes to the
  relay DLQ; ``avdual ops republish`` puts the items of a time window on the bus again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from common import settings
from common.event_bus import EventBridgePublisher
from common.observability import logger, tracer
from contracts.outbox import render_entry
from contracts.topology import Table, outbox_relay, outbox_tables

SERVICE = "outbox-relay"
log = logger(SERVICE)
trace = tracer(SERVICE)


class UnknownOutboxError(LookupError):
    """A stream record of a table that is not an outbox in this function's environment."""


class NotAttemptedError(RuntimeError):
    """Not published in this invocation: an earlier record of the batch failed (Lambda retries from it)."""


class BatchHeadFailedError(RuntimeError):
    """The first record of a batch of several failed: the invocation fails so that Lambda bisects."""


def outbox_table(event_source_arn: str) -> Table:
    """The outbox table whose stream ``event_source_arn`` is (``…:table/<name>/stream/<label>``), found by
    the physical table names in the environment (a relay's environment names its own table)."""
    physical = event_source_arn.partition(":table/")[2].partition("/stream/")[0]
    for table in outbox_tables():
        try:
            if settings.table_name(table.name) == physical:
                return table
        except settings.SettingMissingError:
            continue
    raise UnknownOutboxError(f"no outbox table {physical!r} in this function's environment")


def relay(event: dict[str, Any], context: LambdaContext, publisher: EventBridgePublisher) -> dict[str, Any]:
    """Publish the batch's outbox items in stream order; returns the partial batch response."""
    processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)
    bus = settings.event_bus_name()
    failed_before = False

    def record_handler(record: DynamoDBRecord) -> None:
        nonlocal failed_before
        position = record.dynamodb.sequence_number if record.dynamodb else None
        if failed_before:
            raise NotAttemptedError(position)
        try:
            table = outbox_table(record.event_source_arn or "")
            publisher.publish_entries([render_entry(record.raw_event, outbox_relay(table).publishes, bus)])
        except Exception as e:
            failed_before = True
            # the error type and the stream position only: never the item (it names people's ids)
            log.warning(
                "outbox record not relayed", extra={"sequence_number": position, "error": type(e).__name__}
            )
            raise

    response = dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    )
    records = event.get("Records") or []
    failures = response.get("batchItemFailures") or []
    if len(records) > 1 and len(failures) == len(records):
        raise BatchHeadFailedError(f"first of {len(records)} records failed: bisect")
    return response


@log.inject_lambda_context
@trace.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return relay(event, context, EventBridgePublisher())
