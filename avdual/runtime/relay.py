"""The outbox relay of the local runtime: reads the outbox tables' DynamoDB streams and emulates the
EventBridge Pipes that put the inserted outbox items on the bus (``contracts.outbox``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import boto3

from avdual.runtime.base import ACCOUNT, REGION
from avdual.runtime.lambda_service import LambdaService
from common.events import PublishError
from contracts.operations import pipe_name
from contracts.outbox import matches_filter, outbox_tables, render_entry
from contracts.topology import Table


class OutboxRelay(LambdaService):
    """Relays outbox items from the table streams to the bus."""

    def _streams(self) -> Any:
        # botocore's account-based endpoint for DynamoDB Streams is not routed by moto: pin the classic one.
        return boto3.client(
            "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )

    def _open_stream(self, ddb: Any, t: Table) -> None:
        arn = ddb.describe_table(TableName=self.names[t.name])["Table"]["LatestStreamArn"]
        streams = self._streams()
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self._stream_shards[t.name] = (arn, [sh["ShardId"] for sh in shards])
        self._stream_iterators[t.name] = [
            streams.get_shard_iterator(
                StreamArn=arn, ShardId=sh["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for sh in shards
        ]

    def pump_outboxes(self) -> int:
        """Emulate the outbox pipes: relay inserted outbox items from the table streams to the bus.

        Same filter and rendering as the CDK pipe (``contracts.outbox``). At least once: the stream
        position advances only after every record of the batch was put on the bus or reported to the
        pipe's DLQ (:meth:`_relay`); a transport error propagates and the batch is read again.
        """
        relayed = 0
        with self.lock:
            streams = self._streams()
            for t in outbox_tables():
                for i, it in enumerate(self._stream_iterators.get(t.name, [])):
                    while it:
                        resp = streams.get_records(ShardIterator=it, Limit=100)
                        relayed += self._relay(t, i, [r for r in resp["Records"] if matches_filter(t, r)])
                        nxt = resp.get("NextShardIterator")
                        self._stream_iterators[t.name][i] = nxt
                        if not resp["Records"] or nxt == it:
                            break
                        it = nxt
        return relayed

    def _relay(self, t: Table, shard: int, records: list[dict[str, Any]]) -> int:
        """Put the records' events on the bus; returns how many were handled (relayed or dead-lettered).

        As the pipe after its retries: a record that cannot be rendered (bad outbox item) or whose entry
        ``PutEvents`` keeps rejecting (``PublishError``, after the publisher's retries; a failing batch is
        bisected down to single records) goes to the pipe's DLQ as batch metadata, not as the record.
        """
        rendered: list[tuple[dict[str, Any], dict[str, Any]]] = []
        dead: list[tuple[dict[str, Any], Exception]] = []
        for r in records:
            try:
                rendered.append((r, render_entry(t, r, self.names["bus"])))
            except (KeyError, TypeError, ValueError) as bad_item:
                dead.append((r, bad_item))
        if rendered:
            try:
                self.pipe_publisher.publish_entries([entry for _, entry in rendered])
            except PublishError:
                for r, entry in rendered:
                    try:
                        self.pipe_publisher.publish_entries([entry])
                    except PublishError as rejected:
                        dead.append((r, rejected))
        for r, error in dead:
            self._pipe_dead_letter(t, shard, r, error)
        return len(records)

    def _pipe_dead_letter(self, t: Table, shard: int, record: dict[str, Any], err: Exception) -> None:
        """The DLQ message of a DynamoDB-stream pipe: the batch position (shard, sequence numbers), no
        data (the shape of AWS's ``DDBStreamBatchInfo`` records)."""
        arn, shards = self._stream_shards[t.name]
        ddb = record.get("dynamodb", {})
        seq, arrival = ddb.get("SequenceNumber"), ddb.get("ApproximateCreationDateTime")
        arrival = arrival.isoformat() if isinstance(arrival, datetime) else arrival
        body = {
            "context": {
                "partnerResourceArn": f"arn:aws:pipes:{REGION}:{ACCOUNT}:pipe/"
                f"{pipe_name(self.stage, t.name)}",
                "condition": "RetryAttemptsExhausted",
                "errorCode": type(err).__name__,
            },
            "version": "1.0",
            "timestamp": self.clock.now().isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shards[shard],
                "startSequenceNumber": seq,
                "endSequenceNumber": seq,
                "approximateArrivalOfFirstRecord": arrival,
                "approximateArrivalOfLastRecord": arrival,
                "batchSize": 1,
                "streamArn": arn,
            },
        }
        boto3.client("sqs").send_message(QueueUrl=self._dlqs[("pipe", t.name)], MessageBody=json.dumps(body))
