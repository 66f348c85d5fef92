"""The embedded local runtime (DESIGN.md §4): the whole platform in one process on moto.

It creates every resource **from the topology**, routes events through moto's EventBridge
rules (same patterns as CDK) into SQS queues, and plays the Lambda service: it imports each
handler by the dotted path CDK uses and calls it with real-shaped events — API Gateway REST
proxy events for routes, SQS batch events wrapping EventBridge events for subscriptions,
Scheduler payloads for schedules — and a fake Lambda context.

Delivery options prove idempotency and order tolerance: ``duplicate`` delivers every message
a second time later, ``shuffle`` shuffles what is available. Messages whose handler keeps
failing go to the subscription's DLQ after ``max_receive_count`` attempts. A drain that
needs more than ``max_deliveries`` deliveries raises :class:`EventStormError`.

API routes are authorised like API Gateway's Cognito authorizer does it: ``api(..., token=...)`` or an
``Authorization`` header is verified against the topology's user pool on moto (``avdual.auth``;
401 without or with an invalid token); ``api(..., claims=...)`` models a request API Gateway has
already authorised (tests, demo). Public routes (the web form page) need neither.

Time: ``self.clock`` is a simulated clock (real time plus an offset). :meth:`LocalRuntime.advance` moves it
forward and fires every topology schedule that falls due on the way, in order, as EventBridge Scheduler
would (moto's Scheduler never fires, DESIGN.md §5), with ``<aws.scheduler.scheduled-time>`` replaced by the
scheduled instant; API Gateway's ``requestTimeEpoch`` follows the clock too.

Mail and files: the SES sender identities of the topology are created and verified; with ``out_dir`` every
email sent through SES is also written to ``<out_dir>/mail/*.eml`` and every object stored in a topology
bucket to ``<out_dir>/<bucket>/``, so a person can open them.

moto is not thread-safe (DESIGN.md §5): every entry point takes ``self.lock``.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import boto3
from moto import mock_aws

from avdual.auth import InvalidTokenError, LocalCognito, bearer
from avdual.ops import OpsTarget, resolve_queues
from common import settings
from common.events import EventBridgePublisher, PublishError
from contracts.operations import (
    TAG_DLQ_KIND,
    TAG_DLQ_OF,
    TAG_QUEUE_OF,
    DeadLetterKind,
    dead_letter_queue_name,
    pipe_name,
)
from contracts.outbox import matches_filter, outbox_tables, render_entry
from contracts.topology import (
    BUCKETS,
    EVENT_BUS_ENV,
    FUNCTIONS,
    MAIL_IDENTITIES,
    ROUTES,
    SCHEDULED_TIME,
    STAGE_ENV,
    SUBSCRIPTIONS,
    TABLES,
    Route,
    Schedule,
    Subscription,
    Table,
    constant_env,
)

REGION: Final = "eu-central-1"
ACCOUNT = "123456789012"
#: Attempts of an asynchronous invocation before its DLQ (Lambda: the first try and 2 retries).
ASYNC_ATTEMPTS = 3
#: Where the local gateway accepts the web form's Cognito calls (``avdual.server``).
LOCAL_AUTH_PATH = "/_local/cognito"
#: API Gateway's answer without a valid token (the CDK stack sets the same German gateway response).
UNAUTHORIZED_BODY = json.dumps({"message": "Bitte anmelden.", "errors": []}, ensure_ascii=False)


class EventStormError(RuntimeError):
    """Delivery did not settle: more deliveries than ``max_deliveries`` in one drain."""


@dataclass
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    timeout_ms: int = 30_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}"

    @property
    def function_version(self) -> str:
        return "$LATEST"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return self.timeout_ms


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class DeadLetter:
    subscription: str
    body: dict[str, Any]
    attempts: int


@dataclass
class DeliveryStats:
    deliveries: int = 0
    batches: int = 0
    failures: int = 0
    by_detail_type: Counter[str] = field(default_factory=Counter)


def _route_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$")


# ---------------------------------------------------------------------------- EventBridge Scheduler emulation
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_NAMES = {
    **{m: i + 1 for i, m in enumerate(_MONTHS)},
    **{d: i + 1 for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))},
}


def _cron_field(text: str, lo: int, hi: int) -> set[int]:
    """One field of an AWS cron expression: ``*``, ``?``, numbers/names, lists, ranges, ``/`` steps."""
    out: set[int] = set()
    for part in text.split(","):
        rng, _, step = part.partition("/")
        if rng in ("*", "?"):
            a, b = lo, hi
        elif "-" in rng:
            a, b = (int(_NAMES.get(x, x)) for x in rng.split("-"))
        else:
            a = int(_NAMES.get(rng, rng))
            b = hi if step else a
        if not (lo <= a <= hi and lo <= b <= hi):
            raise ValueError(f"cron field out of range: {text!r}")
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def schedule_times(sched: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """Instants (UTC) in ``(after, until]`` at which ``sched`` fires (``cron(...)`` in its time zone)."""
    m = re.fullmatch(r"cron\((.+)\)", sched.expression.strip())
    if not m or len(m.group(1).split()) != 6:
        raise ValueError(f"unsupported schedule expression {sched.expression!r}")
    minute, hour, dom, month, dow, year = m.group(1).split()
    minutes, hours = _cron_field(minute, 0, 59), _cron_field(hour, 0, 23)
    doms, months, dows = _cron_field(dom, 1, 31), _cron_field(month, 1, 12), _cron_field(dow, 1, 7)
    years = _cron_field(year, 1970, 2199)
    tz = ZoneInfo(sched.timezone)
    out = []
    day: date = after.astimezone(tz).date()
    while day <= until.astimezone(tz).date():
        if (
            day.month in months
            and day.year in years
            and day.day in doms
            and (day.weekday() + 1) % 7 + 1 in dows
        ):
            for h in sorted(hours):
                for mi in sorted(minutes):
                    t = datetime(day.year, day.month, day.day, h, mi, tzinfo=tz).astimezone(UTC)
                    if after < t <= until:
                        out.append(t)
        day += timedelta(days=1)
    return out


def _decoded_subject(raw: str) -> str:
    from email import message_from_string
    from email.header import decode_header, make_header

    return str(make_header(decode_header(message_from_string(raw).get("Subject", ""))))


class SimClock:
    """Real time plus an offset that only grows (:meth:`LocalRuntime.advance`)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


# ---------------------------------------------------------------------------- moto DynamoDB transactions
def _install_item_backup_for_transactions() -> None:  # noqa: C901
    """Make moto's ``TransactWriteItems`` back up only the items it writes, not whole tables.

    moto deep-copies every table a transaction touches before each call, to roll back on failure
    (DESIGN.md §5): about 0.4 ms per stored item per call, so a consumer writing one transaction per
    event gets slower with every item stored. This keeps moto's all-or-nothing semantics with a
    backup of the addressed items (and the stream position), restored when the transaction fails.
    """
    import moto.dynamodb.models as ddb_models
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table as MotoTable

    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_avdual_item_backup", False):
        return
    copy_module = ddb_models.copy

    class _KeepTables:  # as the ``copy`` module inside moto's transaction: everything but tables is copied
        @staticmethod
        def deepcopy(x: Any, memo: Any = None) -> Any:
            return x if isinstance(x, MotoTable) else copy_module.deepcopy(x, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:  # noqa: C901
        backup: list[tuple[Any, Any, Any, Any]] = []
        for entry in transact_items:
            for op_type, op in entry.items():
                table = self.tables.get(op.get("TableName")) if isinstance(op, dict) else None
                key = (op.get("Item") if op_type == "Put" else op.get("Key")) if table is not None else None
                if table is None or not key or table.hash_key_attr not in key:
                    continue  # moto rejects it before writing anything
                h = DynamoType(key[table.hash_key_attr])
                if table.range_key_attr:
                    if table.range_key_attr not in key:
                        continue
                    r = DynamoType(key[table.range_key_attr])
                    current = table.items[h].get(r) if h in table.items else None
                else:
                    r, current = None, table.items.get(h)
                backup.append((table, h, r, copy_module.deepcopy(current)))
        streams = {id(t): (t, len(t.stream_shard.items)) for t, *_ in backup if t.stream_shard is not None}
        ddb_models.copy = _KeepTables  # type: ignore[assignment]
        try:
            original(self, transact_items)
        except Exception:
            for table, h, r, item in reversed(backup):
                if r is None:
                    if item is None:
                        table.items.pop(h, None)
                    else:
                        table.items[h] = item
                elif item is None:
                    if h in table.items:
                        table.items[h].pop(r, None)
                else:
                    table.items[h][r] = item
            for t, n in streams.values():
                del t.stream_shard.items[n:]
            raise
        finally:
            ddb_models.copy = copy_module

    transact_write_items._avdual_item_backup = True  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class LocalRuntime:
    """Run the platform on moto. Use as a context manager or call :meth:`start`/:meth:`stop`."""

    def __init__(
        self,
        *,
        stage: str = "local",
        duplicate: bool = False,
        shuffle: bool = False,
        seed: int = 0,
        max_deliveries: int = 200_000,
        log_level: str | None = None,
        out_dir: Path | None = None,
    ):
        self.stage = stage
        self.out_dir = out_dir
        self.clock = SimClock()
        self._ticked = self.clock.now()  # schedules are due after this instant
        self._mail_exported = 0
        self._mirrored: dict[tuple[str, str], str] = {}  # (bucket, key) -> ETag exported
        self.duplicate = duplicate
        self.shuffle = shuffle
        self.random = random.Random(seed)
        self.max_deliveries = max_deliveries
        self.log_level = log_level
        self.lock = threading.RLock()
        self.dead_letters: list[DeadLetter] = []
        self.stats = DeliveryStats()
        self.api_calls: Counter[str] = Counter()
        self._counting = False
        self._mock: Any = None
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._queues: dict[str, tuple[str, str]] = {}  # subscription -> (queue url, dlq url)
        # (DLQ kind, topology name) -> url (contracts.operations kinds)
        self._dlqs: dict[tuple[str, str], str] = {}
        self._stream_shards: dict[str, tuple[str, list[str]]] = {}  # table -> (stream arn, shard ids)
        self._replay: dict[str, list[dict[str, Any]]] = {}
        self._stream_iterators: dict[str, list[str | None]] = {}
        self.pipe_publisher = EventBridgePublisher()
        self._routes = [(r, _route_regex(r.path)) for r in ROUTES]
        self.names: dict[str, str] = {}
        self.cognito = LocalCognito(stage, REGION)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalRuntime:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def physical(self, logical: str) -> str:
        return f"avdual-{self.stage}-{logical}"

    def start(self) -> None:
        env = {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "AVdual",
            "POWERTOOLS_DEV": "false",
            STAGE_ENV: self.stage,
        }
        if self.log_level:
            env["POWERTOOLS_LOG_LEVEL"] = self.log_level
        for fn in FUNCTIONS.values():  # one process plays every function: their fixed settings side by side
            env.update(constant_env(fn))
        os.environ.update(env)
        _install_item_backup_for_transactions()
        self._mock = mock_aws()
        self._mock.start()
        boto3.setup_default_session()
        boto3.DEFAULT_SESSION.events.register("before-call", self._count_call)  # type: ignore[union-attr]
        settings.reset()
        self._create_resources()

    def stop(self) -> None:
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        settings.reset()

    def _count_call(self, model: Any, **_: Any) -> None:
        if self._counting:
            self.api_calls[f"{model.service_model.service_name}.{model.name}"] += 1

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Count AWS API calls made by service code (botocore ``before-call`` hook)."""
        prev, self._counting = self._counting, True
        try:
            yield
        finally:
            self._counting = prev

    # ------------------------------------------------------------------ resources from the topology
    def _create_resources(self) -> None:
        ddb, events, sqs, s3 = (
            boto3.client("dynamodb"),
            boto3.client("events"),
            boto3.client("sqs"),
            boto3.client("s3"),
        )
        bus = self.physical("bus")
        bus_arn = events.create_event_bus(Name=bus)["EventBusArn"]
        self.archive_arn = events.create_archive(
            ArchiveName=self.physical("events"),
            EventSourceArn=bus_arn,
            Description="All platform events, for replay",
        )["ArchiveArn"]
        self.bus_arn = bus_arn
        os.environ[EVENT_BUS_ENV] = bus
        self.names["bus"] = bus
        for t in TABLES.values():
            self._create_table(ddb, t)
        for b in BUCKETS.values():
            name = self.physical(b.name)
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
            os.environ[b.env_var] = name
            self.names[b.name] = name
        for sub in SUBSCRIPTIONS.values():
            dlq = self._dead_letter_queue(sqs, "subscription", sub.name)
            q = sqs.create_queue(QueueName=self.physical(sub.name), tags={TAG_QUEUE_OF: sub.name})["QueueUrl"]
            rule_dlq = self._dead_letter_queue(sqs, "rule", sub.name)
            self._queues[sub.name] = (q, dlq)
            self._replay[sub.name] = []
            events.put_rule(
                Name=self.physical(sub.name), EventBusName=bus, EventPattern=json.dumps(sub.pattern())
            )
            events.put_targets(
                Rule=self.physical(sub.name),
                EventBusName=bus,
                Targets=[
                    {
                        "Id": "queue",
                        "Arn": self._queue_arn(sqs, q),
                        "DeadLetterConfig": {"Arn": self._queue_arn(sqs, rule_dlq)},
                    }
                ],
            )
        for t in outbox_tables():  # the pipe emulation (pump_outboxes) reports failed records here
            self._dead_letter_queue(sqs, "pipe", t.name)
        for f in FUNCTIONS.values():  # asynchronous invocations / Scheduler targets (CDK: Lambda DLQ)
            if f.schedules:
                self._dead_letter_queue(sqs, "async", f.name)
        self.cognito = LocalCognito(self.stage, REGION)  # created on first use (login, token check, web form)
        ses = boto3.client("ses")
        for m in MAIL_IDENTITIES.values():  # CDK: an SES email identity (verified by DNS / the mailbox owner)
            ses.verify_email_identity(EmailAddress=m.sender)
        settings.reset()

    @staticmethod
    def _queue_arn(sqs: Any, url: str) -> str:
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
        return str(attrs["QueueArn"])

    def _dead_letter_queue(self, sqs: Any, kind: DeadLetterKind, of: str) -> str:
        """A DLQ tagged like the CDK one (``contracts.operations``), so ``avdual ops`` finds it the same
        way."""
        name = self.physical(f"{dead_letter_queue_name(kind, of)}-dlq")
        url: str = sqs.create_queue(QueueName=name, tags={TAG_DLQ_KIND: kind, TAG_DLQ_OF: of})["QueueUrl"]
        self._dlqs[(kind, of)] = url
        return url

    def _create_table(self, ddb: Any, t: Table) -> None:
        name = self.physical(t.name)
        attrs = {t.pk} | ({t.sk} if t.sk else set())
        keys = [{"AttributeName": t.pk, "KeyType": "HASH"}] + (
            [{"AttributeName": t.sk, "KeyType": "RANGE"}] if t.sk else []
        )
        gsis = []
        for ix in t.indexes:
            attrs |= {ix.pk} | ({ix.sk} if ix.sk else set())
            gsis.append(
                {
                    "IndexName": ix.name,
                    "Projection": {"ProjectionType": "ALL"},
                    "KeySchema": [{"AttributeName": ix.pk, "KeyType": "HASH"}]
                    + ([{"AttributeName": ix.sk, "KeyType": "RANGE"}] if ix.sk else []),
                }
            )
        kwargs: dict[str, Any] = {
            "TableName": name,
            "BillingMode": "PAY_PER_REQUEST",
            "KeySchema": keys,
            "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attrs)],
        }
        if gsis:
            kwargs["GlobalSecondaryIndexes"] = gsis
        if t.stream:
            kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        ddb.create_table(**kwargs)
        if t.ttl_attribute:
            ddb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": t.ttl_attribute}
            )
        os.environ[t.env_var] = name
        self.names[t.name] = name
        if t.stream:
            self._open_stream(ddb, t)

    # ------------------------------------------------------------------ EventBridge Pipes (outbox relay)
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

    # ------------------------------------------------------------------ the Lambda service
    def handler(self, function: str) -> Callable[..., Any]:
        """Import the function's handler by its topology dotted path (cached)."""
        if function not in self._handlers:
            module, _, attr = FUNCTIONS[function].handler.rpartition(".")
            self._handlers[function] = getattr(importlib.import_module(module), attr)
        return self._handlers[function]

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        fn = FUNCTIONS[function]
        ctx = FakeLambdaContext(
            function_name=self.physical(fn.name),
            memory_limit_in_mb=fn.memory_mb,
            timeout_ms=fn.timeout_seconds * 1000,
        )
        with self.lock:
            try:
                with self.counting():
                    return self.handler(function)(event, ctx)
            finally:
                if self.out_dir is not None:
                    self.export_outputs(buckets=fn.buckets)

    def export_outputs(self, buckets: tuple[str, ...] | None = None) -> list[Path]:
        """Write emails sent through SES to ``<out_dir>/mail/*.eml`` and new objects of the topology buckets
        (``buckets``; default all) to ``<out_dir>/<bucket>/`` – after each invocation with ``out_dir``."""
        from moto.ses.models import ses_backends

        assert self.out_dir is not None
        written = []
        with self.lock:
            sent = ses_backends[ACCOUNT][REGION].sent_messages
            for n, msg in enumerate(sent[self._mail_exported :], self._mail_exported + 1):
                raw = getattr(msg, "raw_data", None)  # the platform sends raw MIME (SendRawEmail)
                if raw is None:
                    continue
                subject = re.sub(r"[^A-Za-z0-9äöüÄÖÜß]+", "-", _decoded_subject(raw))[:60].strip("-")
                name = f"{self.clock.now():%Y%m%d-%H%M%S}-{n:03d}-{subject or 'mail'}.eml"
                path = self.out_dir / "mail" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(raw, encoding="utf-8")
                written.append(path)
            self._mail_exported = len(sent)
            s3 = boto3.client("s3")
            for b in (BUCKETS[n] for n in (BUCKETS if buckets is None else buckets)):
                for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.names[b.name]):
                    for obj in page.get("Contents", []):
                        if self._mirrored.get((b.name, obj["Key"])) == obj["ETag"]:
                            continue  # exported already, unchanged (a redacted report is exported again)
                        self._mirrored[(b.name, obj["Key"])] = obj["ETag"]
                        key = Path(obj["Key"])
                        path = self.out_dir / b.name / f"{key.parent.name}-{key.name}"
                        path.parent.mkdir(parents=True, exist_ok=True)
                        body = s3.get_object(Bucket=self.names[b.name], Key=obj["Key"])["Body"].read()
                        path.write_bytes(body)
                        written.append(path)
        return written

    # ------------------------------------------------------------------ API Gateway (REST proxy)
    def match_route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r, rx in self._routes:
            m = rx.match(path)
            if m and r.method == method:
                return r, m.groupdict()
        return None

    def stage_variables(self) -> dict[str, str]:
        """What CDK puts into the API stage variables: the web form's login configuration (the app client id
        once the local pool exists; the web form page creates it)."""
        out = {"authEndpoint": LOCAL_AUTH_PATH, "region": REGION}
        if self.cognito.created:
            out["userPoolClientId"] = self.cognito.client_id
        return out

    def api(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        raw_body: str | None = None,
        body_bytes: bytes | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
        claims: dict[str, str] | None = None,
        token: str | None = None,
    ) -> ApiResponse:
        """Call the API as API Gateway would (REST proxy event); 404/405 like API Gateway for unknown routes.

        ``claims``: already authorised (tests, demo). Otherwise ``token`` or the ``Authorization`` header
        must be a valid ID token of the local user pool (401 otherwise), except on public routes.
        ``body_bytes`` is sent base64-encoded, as API Gateway does for binary media types (uploads).
        """
        found = self.match_route(method, path)
        if found is None:
            allowed = sorted({r.method for r, rx in self._routes if rx.match(path)})
            allow = {"Allow": ", ".join(allowed)} if allowed else {}
            message = "Methode nicht erlaubt" if allowed else "Nicht gefunden"
            return ApiResponse(
                405 if allowed else 404,
                {"Content-Type": "application/json", **allow},
                json.dumps({"message": message, "errors": []}),
            )
        r, params = found
        params = {k: urllib.parse.unquote(v) for k, v in params.items()}  # routed on the raw path (API GW)
        path = urllib.parse.unquote(path)
        if r.public:
            claims = None
            with self.lock:
                self.cognito.ensure()
        elif claims is None:
            try:
                with self.lock:
                    claims = self.cognito.verify(token or bearer(headers))
            except InvalidTokenError:
                return ApiResponse(401, {"Content-Type": "application/json"}, UNAUTHORIZED_BODY)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if token and not bearer(hdrs):
            hdrs["Authorization"] = f"Bearer {token}"
        text = (
            raw_body
            if raw_body is not None
            else (None if body is None else json.dumps(body, ensure_ascii=False))
        )
        if body_bytes is not None:
            text = base64.b64encode(body_bytes).decode()
        event = {
            "resource": r.path,
            "path": path,
            "httpMethod": method,
            "headers": hdrs,
            "multiValueHeaders": {k: [v] for k, v in hdrs.items()},
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": {k: [v] for k, v in query.items()} if query else None,
            "pathParameters": params or None,
            "stageVariables": self.stage_variables(),
            "requestContext": {
                "resourcePath": r.path,
                "httpMethod": method,
                "path": f"/{self.stage}{path}",
                "stage": self.stage,
                "requestId": str(uuid.uuid4()),
                "accountId": ACCOUNT,
                "apiId": "local",
                "requestTimeEpoch": int(self.clock.now().timestamp() * 1000),
                "protocol": "HTTP/1.1",
                "identity": {"sourceIp": "127.0.0.1", "userAgent": hdrs.get("User-Agent", "avdual-local")},
                "authorizer": {"claims": claims} if claims else None,
            },
            "body": text,
            "isBase64Encoded": body_bytes is not None,
        }
        out = self.invoke(r.function, event)
        headers = dict(out.get("headers") or {})  # Powertools' REST resolver answers with multiValueHeaders
        headers.update({k: ", ".join(v) for k, v in (out.get("multiValueHeaders") or {}).items()})
        return ApiResponse(int(out["statusCode"]), headers, out.get("body") or "")

    # ------------------------------------------------------------------ schedules
    def schedule_payload(self, function: str, schedule: str, at: datetime | None = None) -> dict[str, Any]:
        """The payload EventBridge Scheduler sends for ``schedule`` as of ``at`` (default now)."""
        sched = next(s for s in FUNCTIONS[function].schedules if s.name == schedule)
        instant = (at or self.clock.now()).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {k: instant if v == SCHEDULED_TIME else v for k, v in sched.payload.items()}

    def run_schedule(self, function: str, schedule: str, at: datetime | None = None) -> Any:
        """Trigger a topology schedule now (or as of ``at``); moto's Scheduler never fires (DESIGN.md §5).
        Raises what the handler raises (tests see it); :meth:`advance` dead-letters instead."""
        return self.invoke(function, self.schedule_payload(function, schedule, at))

    def _run_schedule_async(self, function: str, schedule: str, at: datetime) -> bool:
        """As the Lambda service runs a scheduled (asynchronous) invocation: up to :data:`ASYNC_ATTEMPTS`
        attempts, then the payload goes to the function's async DLQ with the error type (never its message,
        which may quote data). True if it ran."""
        payload = self.schedule_payload(function, schedule, at)
        error: Exception | None = None
        for _ in range(ASYNC_ATTEMPTS):
            try:
                self.invoke(function, payload)
                return True
            except Exception as e:  # any handler failure is retried, then dead-lettered
                error = e
        boto3.client("sqs").send_message(
            QueueUrl=self._dlqs[("async", function)],
            MessageBody=json.dumps(payload),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": f"local-{schedule}-{at:%Y%m%dT%H%M%S}"},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": type(error).__name__},
            },
        )
        return False

    def advance(self, delta: timedelta = timedelta(0), *, drain: bool = True) -> list[tuple[datetime, str]]:
        """Move the simulated clock forward by ``delta`` and fire every schedule that fell due since the last
        call, in time order (delivering the events each one causes); ``advance()`` alone catches up with
        real time (``make serve`` calls it in its delivery loop). Returns ``(instant, schedule name)``."""
        with self.lock:
            end = self.clock.now() + delta
            due = sorted(
                (t, f.name, sch.name)
                for f in FUNCTIONS.values()
                for sch in f.schedules
                for t in schedule_times(sch, self._ticked, end)
            )
            fired = []
            for t, function, name in due:
                self.clock.offset += max(t - self.clock.now(), timedelta(0))  # the clock never goes back
                self._ticked = t
                self._run_schedule_async(function, name, t)
                if drain:
                    self.drain()
                fired.append((t, name))
            self.clock.offset += max(end - self.clock.now(), timedelta(0))
            self._ticked = end
            return fired

    # ------------------------------------------------------------------ event delivery
    def _receive_all(self, sqs: Any, url: str) -> list[dict[str, Any]]:
        msgs: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=300, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return msgs
            msgs += got

    @staticmethod
    def _record(msg: dict[str, Any], queue_arn: str, receive_count: int) -> dict[str, Any]:
        body = json.loads(msg["Body"])
        body.setdefault("account", ACCOUNT)  # moto omits it (DESIGN.md §5)
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
        sqs = boto3.client("sqs")
        with self.lock:
            n = sum(len(v) for v in self._replay.values())
            for q, _ in self._queues.values():
                a = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["ApproximateNumberOfMessages"])
                n += int(a["Attributes"]["ApproximateNumberOfMessages"])
            return n

    def drain(self) -> DeliveryStats:
        """Deliver until every queue is empty (and, with ``duplicate``, every replay done)."""
        with self.lock:
            sqs = boto3.client("sqs")
            start = self.stats.deliveries
            attempts: Counter[str] = Counter()
            while True:
                progressed = self.pump_outboxes() > 0
                for name, sub in SUBSCRIPTIONS.items():
                    progressed |= self._deliver_subscription(sqs, name, sub, attempts)
                if not progressed:
                    return self.stats
                if self.stats.deliveries - start > self.max_deliveries:
                    raise EventStormError(f"more than {self.max_deliveries} deliveries in one drain")

    def _deliver_subscription(self, sqs: Any, name: str, sub: Subscription, attempts: Counter[str]) -> bool:  # noqa: C901
        url, dlq = self._queues[name]
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{self.physical(name)}"
        msgs = self._receive_all(sqs, url)
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
            for msg, rec in batch:
                self.stats.deliveries += 1
                self.stats.by_detail_type[json.loads(rec["body"]).get("detail-type", "?")] += 1
                if msg is None:
                    continue  # a replayed duplicate: its original was already settled
                if rec["messageId"] in failed:
                    self.stats.failures += 1
                    if attempts[msg["MessageId"]] >= sub.max_receive_count:
                        sqs.send_message(QueueUrl=dlq, MessageBody=msg["Body"])
                        sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                        self.dead_letters.append(
                            DeadLetter(name, json.loads(msg["Body"]), attempts[msg["MessageId"]])
                        )
                    else:
                        sqs.change_message_visibility(
                            QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"], VisibilityTimeout=0
                        )
                else:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
                    if self.duplicate:
                        self._replay[name].append(rec)
        return True

    def ops_target(self) -> OpsTarget:
        """The operations view (DLQs, archive) of this runtime; use under ``self.lock``."""
        sqs = boto3.client("sqs")
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

    # ------------------------------------------------------------------ direct reads for demo/tests
    def scan(self, logical_table: str) -> list[dict[str, Any]]:
        with self.lock:
            t = boto3.resource("dynamodb").Table(self.names[logical_table])
            items: list[dict[str, Any]] = []
            kwargs: dict[str, Any] = {}
            while True:
                resp = t.scan(**kwargs)
                items += resp["Items"]
                if "LastEvaluatedKey" not in resp:
                    return items
                kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def put_event_raw(self, source: str, detail_type: str, detail: dict[str, Any]) -> None:
        with self.lock:
            boto3.client("events").put_events(
                Entries=[
                    {
                        "Source": source,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self.names["bus"],
                    }
                ]
            )
