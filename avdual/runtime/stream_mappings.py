"""DynamoDB stream event source mappings of the local runtime (the outbox relays' trigger).

For every function with a ``StreamSource`` (``contracts.topology``), the runtime does what the Lambda service
does for a DynamoDB event source mapping ("Using AWS Lambda with Amazon DynamoDB", "Configuring partial batch
response with DynamoDB and Lambda", "Retain discarded records for a DynamoDB event source in Lambda"):

* read the table's stream (moto) from the mapping's position (``TRIM_HORIZON`` when the runtime starts);
* drop records the mapping's filters do not match (:mod:`avdual.runtime.filtering`);
* invoke the function with real-shaped DynamoDB stream events (``Records[]`` with ``eventSource``
  ``aws:dynamodb``, ``eventSourceARN``, ``dynamodb.Keys/NewImage`` in DynamoDB JSON, ``SequenceNumber`` …),
  at most ``batch_size`` records each;
* a partial batch response checkpoints before the lowest reported sequence number and retries from there;
  a failed invocation (error, or an invalid response) is bisected (``bisect_batch_on_error``; no retry
  used); after ``max_retry_attempts`` retries the batch's position goes to the on-failure destination (the
  relay DLQ) as Lambda's invocation record describes it (no records in it), and the mapping moves on.

Nothing is transformed here: the function's own code renders and publishes the events.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from avdual.runtime.base import ACCOUNT, REGION
from avdual.runtime.filtering import check_dynamodb_patterns, matches_any
from avdual.runtime.lambda_service import LambdaService
from contracts.topology import FUNCTIONS, Function, Table

#: Records the mapping reads per ``GetRecords`` call.
READ_LIMIT = 100


class StreamMappings(LambdaService):
    """Polls the DynamoDB streams of the topology's stream-triggered functions."""

    def _streams(self) -> Any:
        # botocore's account-based endpoint for DynamoDB Streams is not routed by moto: pin the classic one.
        return self.poller_client(
            "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com"
        )

    def _open_stream(self, ddb: Any, t: Table) -> None:
        """Remember the table's stream and start every stream mapping on it at ``TRIM_HORIZON``."""
        arn = ddb.describe_table(TableName=self.names[t.name])["Table"]["LatestStreamArn"]
        streams = self._streams()
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
        self._stream_shards[t.name] = (arn, [sh["ShardId"] for sh in shards])
        for fn in stream_functions(t.name):
            assert fn.stream is not None
            check_dynamodb_patterns(fn.stream.filter_patterns)  # as Lambda's CreateEventSourceMapping
            self._stream_iterators[fn.name] = [
                streams.get_shard_iterator(
                    StreamArn=arn, ShardId=sh["ShardId"], ShardIteratorType="TRIM_HORIZON"
                )["ShardIterator"]
                for sh in shards
            ]

    def poll_streams(self) -> int:
        """One poll of every stream mapping until the streams are read to the end; returns how many records
        were handed to functions (relayed, or described in the DLQ after the retries)."""
        handled = 0
        with self.lock:
            streams = self._streams()
            for fn in (f for f in FUNCTIONS.values() if f.stream):
                for shard, it in enumerate(self._stream_iterators.get(fn.name, [])):
                    while it:
                        resp = streams.get_records(ShardIterator=it, Limit=READ_LIMIT)
                        records = [self._stream_record(fn, r) for r in resp["Records"]]
                        handled += self._deliver_stream(fn, shard, records)
                        nxt = resp.get("NextShardIterator")
                        self._stream_iterators[fn.name][shard] = nxt  # the checkpoint, after delivery
                        if not resp["Records"] or nxt == it:
                            break
                        it = nxt
        return handled

    def _stream_record(self, fn: Function, record: dict[str, Any]) -> dict[str, Any]:
        """A ``GetRecords`` record as Lambda puts it into the event: JSON values only (the creation time in
        epoch seconds), with the stream's ARN and region."""
        assert fn.stream is not None
        ddb = dict(record["dynamodb"])
        created = ddb.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            ddb["ApproximateCreationDateTime"] = created.timestamp()
        return {
            **record,
            "dynamodb": ddb,
            "eventSource": "aws:dynamodb",
            "eventSourceARN": self._stream_shards[fn.stream.table][0],
            "awsRegion": REGION,
        }

    def _deliver_stream(self, fn: Function, shard: int, records: list[dict[str, Any]]) -> int:
        assert fn.stream is not None
        wanted = [r for r in records if matches_any(fn.stream.filter_patterns, r)]
        for i in range(0, len(wanted), fn.stream.batch_size):
            self._deliver_stream_batch(fn, shard, wanted[i : i + fn.stream.batch_size])
        return len(wanted)

    def _deliver_stream_batch(self, fn: Function, shard: int, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch is processed: retry from the lowest reported record, bisect a failed
        invocation, and after the retries describe what is left in the DLQ."""
        assert fn.stream is not None
        retries = 0
        while batch:
            failed_at = self._invoke_stream_batch(fn, batch)
            self.stats.batches += 1
            if failed_at is None:
                return
            if failed_at < 0 and fn.stream.bisect_batch_on_error and len(batch) > 1:
                half = len(batch) // 2  # bisecting uses no retry
                self._deliver_stream_batch(fn, shard, batch[:half])
                batch = batch[half:]
                continue
            batch = batch[max(failed_at, 0) :]  # checkpoint before the lowest reported record
            retries += 1
            if retries > fn.stream.max_retry_attempts:
                self._stream_dead_letter(fn, shard, batch, attempts=retries, function_error=failed_at < 0)
                return

    def _invoke_stream_batch(self, fn: Function, batch: list[dict[str, Any]]) -> int | None:
        """None on success, the index of the lowest reported record on a partial batch response, -1 when
        the invocation failed as a whole (error or invalid response)."""
        self.stats.deliveries += len(batch)
        try:
            result = self.invoke(fn.name, {"Records": json.loads(json.dumps(batch))}) or {}
        except Exception:
            self.stats.failures += len(batch)
            return -1
        reported = [f.get("itemIdentifier") for f in (result.get("batchItemFailures") or [])]
        if not reported:
            return None
        positions = [r["dynamodb"]["SequenceNumber"] for r in batch]
        if any(not isinstance(x, str) or x not in positions for x in reported):
            self.stats.failures += len(batch)
            return -1  # Lambda treats an unknown item identifier as a failure of the whole batch
        first = min(positions.index(x) for x in reported)
        self.stats.failures += len(batch) - first
        return first

    def _stream_dead_letter(
        self, fn: Function, shard: int, batch: list[dict[str, Any]], *, attempts: int, function_error: bool
    ) -> None:
        """Lambda's on-failure invocation record for a stream source: the batch's position, no records."""
        assert fn.stream is not None
        arn, shards = self._stream_shards[fn.stream.table]
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        body = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.physical(fn.name)}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": attempts,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                **({"functionError": "Unhandled"} if function_error else {}),
            },
            "version": "1.0",
            "timestamp": self.clock.now().isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shards[shard],
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(first.get("ApproximateCreationDateTime")),
                "approximateArrivalOfLastRecord": _iso(last.get("ApproximateCreationDateTime")),
                "batchSize": len(batch),
                "streamArn": arn,
            },
        }
        self.poller_client("sqs").send_message(
            QueueUrl=self._dlqs[("relay", fn.stream.table)], MessageBody=json.dumps(body)
        )


def stream_functions(table: str) -> list[Function]:
    return [f for f in FUNCTIONS.values() if f.stream and f.stream.table == table]


def _iso(epoch: Any) -> str | None:
    return datetime.fromtimestamp(float(epoch), UTC).isoformat() if epoch is not None else None
