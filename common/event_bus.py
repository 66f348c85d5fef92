"""The EventBridge adapter of :class:`common.events.EventPublisher`.

``PutEvents`` takes at most 10 entries per call; entries that fail (``FailedEntryCount > 0``)
are retried with backoff and, if they still fail, :class:`common.events.PublishError` is raised —
a partial failure is never ignored.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from common import aws, settings
from common.events import OutgoingEvent, PublishError

MAX_ENTRIES_PER_CALL = 10


class EventBridgePublisher:
    """Publishes to the platform bus (name from ``EVENT_BUS_NAME``) with retries of failed entries."""

    def __init__(self, client: Any | None = None, bus_name: str | None = None, attempts: int = 3):
        self._client = client
        self._bus = bus_name
        self._attempts = attempts

    def publish(self, events: Sequence[OutgoingEvent]) -> None:
        if not events:
            return
        bus = self._bus or settings.event_bus_name()
        self.publish_entries([e.entry(bus) for e in events])

    def publish_entries(self, entries: list[dict[str, Any]]) -> None:
        """Put ready ``PutEvents`` entries; retries failed entries, raises ``PublishError`` if any remain."""
        client = self._client or aws.client("events")
        for chunk in _chunks(entries, MAX_ENTRIES_PER_CALL):
            pending = chunk
            failed: list[dict[str, Any]] = []
            for attempt in range(self._attempts):
                resp = client.put_events(Entries=pending)
                if not resp.get("FailedEntryCount"):
                    failed = []
                    break
                results = resp["Entries"]
                failed = [r for r in results if r.get("ErrorCode")]
                pending = [e for e, r in zip(pending, results, strict=True) if r.get("ErrorCode")]
                time.sleep(0.05 * (2**attempt))
            if failed:
                raise PublishError(failed)


def _chunks(items: list[Any], n: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]
