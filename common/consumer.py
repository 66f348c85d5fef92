"""Generic SQS-buffered EventBridge consumer (Powertools BatchProcessor, partial batch responses).

Each SQS record body is an EventBridge event whose ``detail`` is our envelope. Records are
dispatched by ``detail-type`` to the handler registered for that :class:`EventSpec`; a record
that fails (unknown type, invalid envelope, handler error) is reported in
``batchItemFailures`` so only it is retried and finally lands in the DLQ.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any, cast

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel, SqsRecordModel
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Json

from contracts.events import EVENTS, Envelope, EventSpec, Metadata


class EventBridgeSqsRecord(SqsRecordModel):
    body: Json[EventBridgeModel]  # type: ignore[assignment]


class UnknownEventError(ValueError):
    """A record's detail-type is not one this consumer subscribes to."""


@cache
def envelope_model(spec: EventSpec) -> type[BaseModel]:
    return Envelope[spec.data_model]  # type: ignore[name-defined]


def parse_detail(detail_type: str, detail: Mapping[str, Any]) -> tuple[EventSpec, Metadata, BaseModel]:
    """Validate an EventBridge ``detail`` against the registered spec; raises on unknown/invalid."""
    spec = EVENTS.get(detail_type)
    if spec is None:
        raise UnknownEventError(detail_type)
    env = envelope_model(spec).model_validate(detail)
    return spec, env.metadata, env.data  # type: ignore[attr-defined]


EventHandler = Callable[[Metadata, Any], None]


def process_events(
    event: dict[str, Any], context: LambdaContext, handlers: Mapping[EventSpec, EventHandler]
) -> dict[str, Any]:
    """Run ``handlers`` over an SQS batch; returns ``{"batchItemFailures": [...]}``."""
    # Report every failure per record (also when the whole batch fails) instead of raising.
    processor = BatchProcessor(
        event_type=EventType.SQS, model=EventBridgeSqsRecord, raise_on_entire_batch_failure=False
    )

    def record_handler(record: EventBridgeSqsRecord) -> None:
        eb = record.body
        # ``detail`` is typed dict | model, but EventBridgeModel is not parametrised here: always the raw dict
        spec, meta, data = parse_detail(eb.detail_type, cast(Mapping[str, Any], eb.detail))
        if spec not in handlers:
            raise UnknownEventError(eb.detail_type)
        handlers[spec](meta, data)

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
