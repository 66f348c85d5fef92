"""Generic SQS-buffered EventBridge consumer (Powertools BatchProcessor, partial batch responses).

Each SQS record body is an EventBridge event whose ``detail`` is our envelope. Records are
dispatched by ``detail-type`` to the handler registered for that :class:`EventSpec`; a record
that fails (a body that is not an EventBridge event, unknown type, invalid envelope, handler error) is
reported in ``batchItemFailures`` so only it is retried and finally lands in the DLQ.

The records are Powertools' data classes (``SQSRecord``, ``EventBridgeEvent``), not its parser models: the
parser package builds a pydantic model of every AWS event source on import, while what is validated here is
our envelope (``contracts.events``) — docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.event_bridge_event import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from contracts.events import EVENTS, Envelope, EventSpec, Metadata


class NotAnEventError(ValueError):
    """An SQS record whose body is not an EventBridge event with a ``detail-type`` and a ``detail`` object."""


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


def event_bridge_event(record: SQSRecord) -> EventBridgeEvent:
    """The EventBridge event in an SQS record's body; :class:`NotAnEventError` for anything else."""
    try:
        body = record.json_body
    except ValueError:
        raise NotAnEventError("the SQS message body is not JSON") from None
    if not isinstance(body, dict) or not isinstance(body.get("detail-type"), str):
        raise NotAnEventError("the SQS message body is not an EventBridge event (no detail-type)")
    if not isinstance(body.get("detail"), dict):
        raise NotAnEventError(f"the {body['detail-type']} event has no detail object")
    return EventBridgeEvent(body)


EventHandler = Callable[[Metadata, Any], None]


def process_events(
    event: dict[str, Any], context: LambdaContext, handlers: Mapping[EventSpec, EventHandler]
) -> dict[str, Any]:
    """Run ``handlers`` over an SQS batch; returns ``{"batchItemFailures": [...]}``."""
    # Report every failure per record (also when the whole batch fails) instead of raising.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)

    def record_handler(record: SQSRecord) -> None:
        eb = event_bridge_event(record)
        spec, meta, data = parse_detail(eb.detail_type, eb.detail)
        if spec not in handlers:
            raise UnknownEventError(eb.detail_type)
        handlers[spec](meta, data)

    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)
