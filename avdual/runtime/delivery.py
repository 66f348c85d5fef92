"""Event delivery of the local runtime: as the Lambda service polls SQS event source mappings, it drains
the subscription queues into the consumers in batches, with partial batch responses, retries and DLQs.

Delivery options prove idempotency and order tolerance: ``duplicate`` delivers every message a second
time later, ``shuffle`` shuffles what is available. Messages whose handler keeps failing go to the
subscription's DLQ after ``max_receive_count`` attempts. A drain that needs more than ``max_deliveries``
deliveries raises :class:`EventStormError`.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

from avdual.ops import OpsTarget, resolve_queues
from avdual.runtime.base import ACCOUNT, REGION, DeadLetter, DeliveryStats
from avdual.runtime.stream_mappings import StreamMappings
from contracts.topology import SUBSCRIPTIONS, Subscription


class EventStormError(RuntimeError):
    """Delivery did not settle: more deliveries than ``max_deliveries`` in one drain."""


class Delivery(StreamMappings):
    """Drains the subscription queues (and polls the stream event source mappings) until quiet."""

    def _receive_all(self, sqs: Any, name: str, url: str) -> list[dict[str, Any]]:
        """Every visible message of the subscription's queue, 10 per ``ReceiveMessage`` (the most SQS hands
        out per call, as the Lambda poller asks for them). A queue without a visible message is not asked:
        the Lambda service long-polls it at no cost to the functions, so an empty receive here would only
        spend time (the runtime looks into moto's queue instead, :meth:`_has_visible`)."""
        msgs: list[dict[str, Any]] = []
        while self._has_visible(name):
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return msgs
            msgs += got
        return msgs

    def _has_visible(self, subscription: str) -> bool:
        """Whether the subscription's queue holds a message that a receive would return now (visible, not
        delayed): read from moto's in-process queue, no AWS call."""
        from moto.sqs.models import sqs_backends

        queue = sqs_backends[ACCOUNT][REGION].queues.get(self.physical(subscription))
        return queue is None or any(m.visible and not m.delayed for m in queue._messages)

    @staticmethod
    def _record(msg: dict[str, Any], queue_arn: str, receive_count: int) -> dict[str, Any]:
        body = json.loads(msg["Body"])
        body.setdefault("account", ACCOUNT)  # moto omits it (docs/architecture.md, "The local runtime")
        attrs = msg.get("Attributes", {})
        now = str(int(time.time() * 1000))
        return {
            "messageId": msg["MessageId"],
            "receiptHandle": msg["ReceiptHandle"],
            "body": json.dumps(body, ensure_ascii=False),
            "attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "SentTimestamp": attrs.get("SentTimestamp", now),
                "SenderId": attrs.get("SenderId", ACCOUNT),
                "ApproximateFirstReceiveTimestamp": attrs.get("ApproximateFirstReceiveTimestamp", now),
            },
            "messageAttributes": {},
            "md5OfBody": msg["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        }

    def pending(self) -> int:
        sqs = self.poller_client("sqs")
        with self.lock:
            n = sum(len(v) for v in self._replay.values())
            for q, _ in self._queues.values():
                a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])
                n += int(a["Attributes"]["ApproximateNumberOfMessages"])
            return n

    def drain(self) -> DeliveryStats:
        """Deliver until every queue is empty (and, with ``duplicate``, every replay done)."""
        with self.lock:
            sqs = self.poller_client("sqs")
            start = self.stats.deliveries
            attempts: Counter[str] = Counter()
            while True:
                progressed = self.poll_streams() > 0
                for name, sub in SUBSCRIPTIONS.items():
                    progressed |= self._deliver_subscription(sqs, name, sub, attempts)
                if not progressed:
                    return self.stats
                if self.stats.deliveries - start > self.max_deliveries:
                    raise EventStormError(f"more than {self.max_deliveries} deliveries in one drain")

    def _deliver_subscription(self, sqs: Any, name: str, sub: Subscription, attempts: Counter[str]) -> bool:
        url, _ = self._queues[name]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.physical(name)}"
        msgs = self._receive_all(sqs, name, url)
        replays, self._replay[name] = self._replay[name], []
        if not msgs and not replays:
            return False
        items: list[tuple[dict[str, Any] | None, dict[str, Any]]] = []
        for m in msgs:
            attempts[m["MessageId"]] += 1
            items.append((m, self._record(m, arn, attempts[m["MessageId"]])))
        items += [(None, r) for r in replays]
        if self.shuffle:
            self.random.shuffle(items)
        for i in range(0, len(items), sub.batch_size):
            batch = items[i : i + sub.batch_size]
            try:
                result = self.invoke(sub.consumer, {"Records": [r for _, r in batch]}) or {}
                failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
            except Exception:
                failed = {r["messageId"] for _, r in batch}
            self.stats.batches += 1
            self._settle(sqs, name, sub, batch, failed, attempts)
        return True

    def _settle(
        self,
        sqs: Any,
        name: str,
        sub: Subscription,
        batch: list[tuple[dict[str, Any] | None, dict[str, Any]]],
        failed: set[str],
        attempts: Counter[str],
    ) -> None:
        """After an invocation, as the event source mapping does: the processed messages are deleted in one
        ``DeleteMessageBatch`` (up to 10 a call), a failed one becomes visible again for the next attempt or,
        after ``max_receive_count`` receives, moves to the DLQ."""
        url, dlq = self._queues[name]
        done: list[str] = []
        for msg, rec in batch:
            self.stats.deliveries += 1
            self.stats.by_detail_type[json.loads(rec["body"]).get("detail-type", "?")] += 1
            if msg is None:
                continue  # a replayed duplicate: its original was already settled
            if rec["messageId"] not in failed:
                done.append(msg["ReceiptHandle"])
                if self.duplicate:
                    self._replay[name].append(rec)
                continue
            self.stats.failures += 1
            if attempts[msg["MessageId"]] >= sub.max_receive_count:
                sqs.send_message(QueueUrl=dlq, MessageBody=msg["Body"])
                done.append(msg["ReceiptHandle"])
                self.dead_letters.append(
                    DeadLetter(name, json.loads(msg["Body"]), attempts[msg["MessageId"]])
                )
            else:
                sqs.change_message_visibility(
                    QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
                )
        for i in range(0, len(done), 10):
            entries = [{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(done[i : i + 10])]
            failed_deletes = sqs.delete_message_batch(QueueUrl=url, Entries=entries).get("Failed", [])
            if failed_deletes:
                raise RuntimeError(f"{name}: DeleteMessageBatch failed for {failed_deletes}")

    def ops_target(self) -> OpsTarget:
        """The operations view (DLQs, archive) of this runtime; use under ``self.lock``."""
        sqs = self.poller_client("sqs")
        queues, dlqs = resolve_queues(sqs, [q for q, _ in self._queues.values()] + list(self._dlqs.values()))
        return OpsTarget(
            queues=queues,
            dead_letter_queues=dlqs,
            bus_arn=self.bus_arn,
            archive_arn=self.archive_arn,
            tables=dict(self.names),
            local=True,
            sqs=sqs,
            invoke=self.invoke,
        )
