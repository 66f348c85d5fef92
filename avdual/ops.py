"""Operations: dead-letter queues, event replay from the archive, pipeline health.

The same functions serve the embedded runtime (``make serve`` exposes them at ``/_ops/*`` on
127.0.0.1, and tests call them in-process) and a deployed stage (resources resolved from the
CloudFormation stack ``AvDual-<stage>`` with the usual AWS credentials).

DLQ kinds (``contracts.operations.DEAD_LETTER_KINDS``), each found by the tags infra puts on the queues
(``avdual:dlq-kind``, ``avdual:dlq-of``; the local runtime tags its queues the same way):

* ``subscription`` – the SQS redrive DLQ of a subscription queue (consumer kept failing);
  redrive: back to the subscription queue.
* ``rule`` – the DLQ of an EventBridge rule target (EventBridge could not deliver to the queue);
  the message body is the event, as the rule delivers it; redrive: into the subscription queue.
* ``relay`` – the on-failure destination of an outbox relay (the Lambda function on the outbox table's
  DynamoDB stream). Its messages are Lambda's invocation records: batch metadata (shard id, sequence
  numbers), not the records; there is nothing to redrive (see :data:`RELAY_NOTE`).
* ``async`` – the DLQ of asynchronous invocations of a scheduled function (also the Scheduler
  target DLQ); the body is the invocation payload. Redrive against AWS: ``lambda:Invoke`` with
  ``InvocationType=Event``; the local runtime cannot re-invoke through the DLQ (:func:`async_note`).
* ``alarm`` – undeliverable alarm e-mails (only with ``alarmEmail``); listed, not redriven.

Nothing here prints event ``data`` or payloads: listings show ids, types, sources, keys and batch
metadata only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from common.event_bus import EventBridgePublisher
from contracts.operations import (
    DEAD_LETTER_KINDS,
    TAG_DLQ_KIND,
    TAG_DLQ_OF,
    TAG_FUNCTION,
    TAG_QUEUE_OF,
    TAG_TABLE,
    dead_letter_queue_name,
    stack_name,
)
from contracts.outbox import (
    OUTBOX_KEY_PREFIX,
    OUTBOX_RECORD_TYPE,
    OUTBOX_RECORD_TYPE_ATTRIBUTE,
    OUTBOX_TTL_DAYS,
    render_entry,
)
from contracts.topology import FUNCTIONS, SCHEDULED_TIME, SUBSCRIPTIONS, outbox_relay, outbox_tables

#: Why a relay DLQ message is not redriven, and what to do instead.
RELAY_NOTE = (
    "Kein Redrive: Der Outbox-Relay hat die Stream-Records dieses Batches nach allen Wiederholungen nicht "
    "auf den Bus gelegt, die DLQ-Nachricht enthält nur Shard und Sequenznummern. Die Events sind deshalb "
    "auch nicht im Event-Archiv – `ops replay` hilft nur für Events, die den Bus erreicht haben. "
    "Die Outbox-Items liegen weiter in der Tabelle "
    f"{{table}} (Schlüssel `{OUTBOX_KEY_PREFIX}<idempotency_key>`, TTL {OUTBOX_TTL_DAYS} Tage), die "
    "Stream-Records 24 h. Ursache beheben, dann `avdual ops republish --table {table} --hours N` (legt die "
    "Outbox-Items des Zeitraums erneut auf den Bus; Konsumenten erkennen Dubletten), dann die DLQ-Nachricht "
    "löschen."
)
ALARM_NOTE = "Kein Redrive: nicht zustellbare Alarm-E-Mails; Abonnement des Alarm-Topics {of} prüfen."


@dataclass(frozen=True)
class DeadLetterQueue:
    """One DLQ of the stage."""

    name: str  # contracts.operations.dead_letter_queue_name(kind, of): alarm and dashboard name
    kind: str  # contracts.operations.DEAD_LETTER_KINDS
    of: str  # subscription / outbox table / function (topology names), alarm topic
    url: str


@dataclass
class OpsTarget:
    """Where the pipeline lives: subscription queues, every DLQ, the bus and its archive.

    ``functions`` maps topology function names to physical names (AWS only: the async redrive
    invokes them); ``local`` marks the embedded runtime (no Lambda service to invoke).
    """

    queues: dict[str, str]  # subscription -> queue url
    dead_letter_queues: list[DeadLetterQueue]
    bus_arn: str
    archive_arn: str | None
    functions: dict[str, str] = field(default_factory=dict)
    #: topology table name → physical name (``republish`` reads the outbox tables)
    tables: dict[str, str] = field(default_factory=dict)
    local: bool = False
    sqs: Any = field(default=None)
    events: Any = field(default=None)
    lambda_: Any = field(default=None)
    dynamodb: Any = field(default=None)
    #: local only: ``invoke(function, payload)`` plays the Lambda service (the embedded runtime's ``invoke``)
    invoke: Callable[[str, Any], Any] | None = None

    def __post_init__(self) -> None:
        self.sqs = self.sqs or boto3.client("sqs")
        self.events = self.events or boto3.client("events")
        self.dynamodb = self.dynamodb or boto3.client("dynamodb")
        if not self.local:
            self.lambda_ = self.lambda_ or boto3.client("lambda")

    def select(self, name: str | None = None, kind: str | None = None) -> list[DeadLetterQueue]:
        if kind is not None and kind not in DEAD_LETTER_KINDS:
            raise ValueError(f"unknown DLQ kind {kind!r} (one of {', '.join(DEAD_LETTER_KINDS)})")
        out = [
            d
            for d in self.dead_letter_queues
            if (name is None or d.name == name) and (kind is None or d.kind == kind)
        ]
        if name is not None and not out:
            known = ", ".join(d.name for d in self.dead_letter_queues)
            raise ValueError(f"unknown DLQ {name!r} (known: {known})")
        return sorted(out, key=lambda d: (DEAD_LETTER_KINDS.index(d.kind), d.name))  # type: ignore[arg-type]


def resolve_queues(sqs: Any, urls: list[str]) -> tuple[dict[str, str], list[DeadLetterQueue]]:
    """Subscription queues and DLQs among ``urls``, by their tags (``contracts.operations``); untagged
    queues are ignored. Fails when a subscription of the topology has no queue, DLQ or rule DLQ."""
    queues: dict[str, str] = {}
    dlqs: list[DeadLetterQueue] = []
    for url in urls:
        tags = sqs.list_queue_tags(QueueUrl=url).get("Tags", {})
        if TAG_QUEUE_OF in tags:
            queues[tags[TAG_QUEUE_OF]] = url
        kind, of = tags.get(TAG_DLQ_KIND), tags.get(TAG_DLQ_OF)
        if kind in DEAD_LETTER_KINDS and of:
            dlqs.append(DeadLetterQueue(dead_letter_queue_name(kind, of), kind, of, url))
    have = {(d.kind, d.of) for d in dlqs}
    missing = [
        s
        for s in SUBSCRIPTIONS
        if s not in queues or ("subscription", s) not in have or ("rule", s) not in have
    ]
    if missing:
        raise RuntimeError(
            f"no tagged queue/DLQ/rule DLQ for subscription(s) {', '.join(missing)} "
            f"(tags {TAG_QUEUE_OF}, {TAG_DLQ_KIND}, {TAG_DLQ_OF}; deployed before them?)"
        )
    return queues, dlqs


def _depth(sqs: Any, url: str) -> int:
    a = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return int(a["Attributes"]["ApproximateNumberOfMessages"]) + int(
        a["Attributes"].get("ApproximateNumberOfMessagesNotVisible", 0)
    )


def health(t: OpsTarget) -> dict[str, Any]:
    """Depth of every DLQ (grouped by kind) and of the subscription queues; ``healthy`` is False when any
    DLQ holds a message."""
    by_kind: dict[str, dict[str, int]] = {k: {} for k in DEAD_LETTER_KINDS}
    for d in t.select():
        by_kind[d.kind][d.name] = _depth(t.sqs, d.url)
    queued = {name: _depth(t.sqs, url) for name, url in sorted(t.queues.items())}
    total = sum(n for names in by_kind.values() for n in names.values())
    return {
        "healthy": total == 0,
        "dead_letters": total,
        "queues": queued,
        "dead_letter_queues": {k: v for k, v in by_kind.items() if v},
        "subscriptions": {
            s: {"queued": n, "dead_letters": by_kind["subscription"].get(s, 0)} for s, n in queued.items()
        },
    }


# ---------------------------------------------------------------------------- listing (no data, ever)
def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None


def _event_summary(body: dict[str, Any]) -> dict[str, Any]:
    detail = body.get("detail")
    meta = detail.get("metadata") if isinstance(detail, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    return {
        "detail_type": body.get("detail-type"),
        "source": body.get("source"),
        "event_id": body.get("id"),
        "idempotency_key": meta.get("idempotency_key"),
    }


def _is_event(body: Any) -> bool:
    return isinstance(body, dict) and "detail-type" in body and "source" in body


def _attribute(msg: dict[str, Any], *names: str) -> str | None:
    attrs = msg.get("MessageAttributes") or {}
    for n in names:
        if n in attrs:
            return str(attrs[n].get("StringValue"))
    return None


def _batch_info(body: Any) -> dict[str, Any]:
    """Batch metadata of Lambda's on-failure record for a stream source (``requestContext``,
    ``responseContext``, ``DDBStreamBatchInfo``): positions and conditions, never records."""
    if not isinstance(body, dict):
        return {}
    info = next((v for k, v in body.items() if k.endswith("BatchInfo") and isinstance(v, dict)), {})
    ctx = body.get("requestContext") or {}
    response = body.get("responseContext") or {}
    keys = (
        "shardId",
        "startSequenceNumber",
        "endSequenceNumber",
        "batchSize",
        "streamArn",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
    )
    out = {k: info.get(k) for k in keys if k in info}
    if isinstance(ctx, dict):
        out.update({k: ctx[k] for k in ("condition", "approximateInvokeCount") if k in ctx})
    if isinstance(response, dict) and "functionError" in response:
        out["functionError"] = response["functionError"]
    return out


def _schedule_of(function: str, payload: Any) -> dict[str, Any]:
    """Which topology schedule of ``function`` produced ``payload`` (and when), without the payload."""
    if not isinstance(payload, dict):
        return {}
    spec = FUNCTIONS.get(function)
    for sched in spec.schedules if spec else ():
        if set(payload) == set(sched.payload) and all(
            v == SCHEDULED_TIME or payload.get(k) == v for k, v in sched.payload.items()
        ):
            when = [payload[k] for k, v in sched.payload.items() if v == SCHEDULED_TIME]
            return {"schedule": sched.name, "scheduled_time": when[0] if when else None}
    return {"payload_keys": sorted(payload)}


def _summary(d: DeadLetterQueue, msg: dict[str, Any]) -> dict[str, Any]:
    body = _json(msg["Body"])
    row: dict[str, Any] = {
        "dlq": d.name,
        "kind": d.kind,
        "of": d.of,
        "message_id": msg["MessageId"],
        "receive_count": int(msg.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
    }
    if d.kind == "relay":
        row.update(_batch_info(body))
    elif _is_event(body):
        row.update(_event_summary(body))
    elif d.kind == "async":
        row.update(_schedule_of(d.of, body))
    error = _attribute(msg, "ERROR_CODE", "ErrorCode")
    if error is not None:
        row["error_code"] = error
    return row


def _drain_queue(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not got:
            return out
        out += got


def _release(sqs: Any, url: str, msgs: list[dict[str, Any]]) -> None:
    for m in msgs:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)


def list_dead_letters(t: OpsTarget, name: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
    """DLQ messages of every kind (ids and metadata, :func:`_summary`), never data; they stay in the DLQ."""
    rows = []
    for d in t.select(name, kind):
        msgs = _drain_queue(t.sqs, d.url, visibility=1)
        _release(t.sqs, d.url, msgs)
        rows += [_summary(d, m) for m in msgs]
    return rows


# ---------------------------------------------------------------------------- redrive per kind
def async_note(function: str, local: bool, can_invoke: bool = True) -> str:
    """What the async redrive did (or, without a Lambda service to call, what to do)."""
    if not local:
        return f"{function} mit der Originalnutzlast erneut asynchron aufgerufen (InvocationType Event)."
    if can_invoke:
        return f"{function} lokal mit der Originalnutzlast erneut ausgeführt; Fehlschläge bleiben in der DLQ."
    return (
        "Hier gibt es keinen Lambda-Dienst, der aus der DLQ erneut aufruft; die Nachrichten bleiben in der "
        f"DLQ. Gegen AWS ruft `avdual ops redrive --stage <stage> --kind async` {function} mit der "
        "Originalnutzlast erneut auf (InvocationType Event); gegen `make serve` führt "
        "`avdual ops redrive --kind async` den Handler erneut aus."
    )


def _move(t: OpsTarget, d: DeadLetterQueue, to: str) -> int:
    msgs = _drain_queue(t.sqs, d.url, visibility=60)
    for m in msgs:
        t.sqs.send_message(QueueUrl=to, MessageBody=m["Body"])
        t.sqs.delete_message(QueueUrl=d.url, ReceiptHandle=m["ReceiptHandle"])
    return len(msgs)


def _reinvoke(t: OpsTarget, d: DeadLetterQueue) -> tuple[int, int]:
    """Invoke the function again with each payload (AWS: ``InvocationType=Event``; locally: the runtime runs
    the handler and a failure keeps the message); delete what was accepted."""
    function = t.functions.get(d.of)
    if function is None and t.invoke is None:
        raise RuntimeError(f"function {d.of} of DLQ {d.name} not found (tag {TAG_FUNCTION})")
    msgs = _drain_queue(t.sqs, d.url, visibility=60)
    done = 0
    for m in msgs:
        if t.invoke is not None:
            try:
                t.invoke(d.of, json.loads(m["Body"]))
                accepted = True
            except Exception:  # the handler failed again: the message stays in the DLQ
                accepted = False
        else:
            resp = t.lambda_.invoke(FunctionName=function, InvocationType="Event", Payload=m["Body"].encode())
            accepted = int(resp.get("StatusCode", 0)) == 202 and not resp.get("FunctionError")
        if accepted:
            t.sqs.delete_message(QueueUrl=d.url, ReceiptHandle=m["ReceiptHandle"])
            done += 1
        else:
            _release(t.sqs, d.url, [m])
    return done, len(msgs) - done


def redrive(t: OpsTarget, name: str | None = None, kind: str | None = None) -> dict[str, dict[str, Any]]:
    """Redrive per DLQ, as far as the kind allows (consumers are idempotent). Per DLQ: ``moved`` messages,
    ``remaining`` ones, ``to`` (where they went) and a ``note`` when nothing can be moved automatically."""
    out: dict[str, dict[str, Any]] = {}
    for d in t.select(name, kind):
        r: dict[str, Any] = {"kind": d.kind, "moved": 0}
        if d.kind in ("subscription", "rule"):
            # subscription DLQ: back to its source queue; rule DLQ: the event as the rule delivers it
            r["to"] = f"queue {d.of}"
            r["moved"] = _move(t, d, t.queues[d.of])
        elif d.kind == "async" and (not t.local or t.invoke is not None):
            r["to"] = f"lambda {d.of}"
            r["moved"], failed = _reinvoke(t, d)
            r["note"] = async_note(d.of, local=t.local) + (
                f" {failed} Aufruf(e) erneut fehlgeschlagen." if failed else ""
            )
        elif d.kind == "async":
            r["note"] = async_note(d.of, local=True, can_invoke=False)
        elif d.kind == "relay":
            r["note"] = RELAY_NOTE.format(table=d.of)
        else:
            r["note"] = ALARM_NOTE.format(of=d.of)
        r["remaining"] = _depth(t.sqs, d.url)
        out[d.name] = r
    return out


def replay(t: OpsTarget, start: datetime, end: datetime, name: str | None = None) -> dict[str, Any]:
    """Replay archived events of ``[start, end]`` onto the bus (all rules); consumers dedupe on
    idempotency keys."""
    if t.archive_arn is None:
        raise RuntimeError("no event archive configured")
    name = name or f"replay-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
    r = t.events.start_replay(
        ReplayName=name,
        EventSourceArn=t.archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": t.bus_arn},
    )
    state = t.events.describe_replay(ReplayName=name)
    return {"replay": name, "state": state.get("State", r.get("State"))}


def republish(t: OpsTarget, table: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Put the outbox items of ``table`` written in ``[start, end]`` on the bus again, rendered exactly as the
    outbox relay renders them (:func:`contracts.outbox.render_entry`). The way back after a relay DLQ message:
    those events never reached the bus, so the archive cannot replay them; the outbox items stay in their
    table for :data:`OUTBOX_TTL_DAYS` days. Consumers dedupe on the idempotency key, so events that did
    arrive are harmless duplicates.

    The write time of an item is its TTL minus :data:`OUTBOX_TTL_DAYS`. Returns counts per detail-type;
    raises ``ValueError`` for a table without an outbox, ``PublishError`` if ``PutEvents`` keeps failing.
    """
    spec = next((tb for tb in outbox_tables() if tb.name == table), None)
    if spec is None:
        raise ValueError(f"{table!r} has no outbox (one of {', '.join(tb.name for tb in outbox_tables())})")
    ttl = spec.ttl_attribute or "expires_at"
    lo = start.timestamp() + OUTBOX_TTL_DAYS * 86400
    hi = end.timestamp() + OUTBOX_TTL_DAYS * 86400
    bus_name = t.bus_arn.rsplit("/", 1)[-1]
    entries: list[dict[str, Any]] = []
    for page in t.dynamodb.get_paginator("scan").paginate(
        TableName=t.tables[table],
        FilterExpression="#rt = :outbox AND #ttl BETWEEN :lo AND :hi",
        ExpressionAttributeNames={"#rt": OUTBOX_RECORD_TYPE_ATTRIBUTE, "#ttl": ttl},
        ExpressionAttributeValues={
            ":outbox": {"S": OUTBOX_RECORD_TYPE},
            ":lo": {"N": str(int(lo))},
            ":hi": {"N": str(int(hi) + 1)},
        },
    ):
        entries += [
            render_entry({"dynamodb": {"NewImage": item}}, outbox_relay(spec).publishes, bus_name)
            for item in page["Items"]
        ]
    EventBridgePublisher(client=t.events, bus_name=bus_name).publish_entries(entries)
    by_type = Counter(e["DetailType"] for e in entries)
    return {"table": table, "republished": len(entries), "by_detail_type": dict(sorted(by_type.items()))}


# ---------------------------------------------------------------------------- a deployed stage
def aws_target(stage: str, clients: dict[str, Any] | None = None) -> OpsTarget:
    """Resolve a deployed stage from its CloudFormation stack ``AvDual-<stage>``: queues and DLQs by their
    tags, functions by their ``avdual:function`` tag, the bus and its archive. ``clients``: boto3 clients by
    service name (default: from the environment's credentials)."""
    c = dict(clients or {})
    for svc in ("cloudformation", "sqs", "events", "lambda", "dynamodb"):
        c.setdefault(svc, boto3.client(svc))
    stack = stack_name(stage)
    resources: list[dict[str, Any]] = []
    for page in c["cloudformation"].get_paginator("list_stack_resources").paginate(StackName=stack):
        resources += page["StackResourceSummaries"]

    def physical(rtype: str) -> list[str]:
        return [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == rtype]

    queues, dlqs = resolve_queues(c["sqs"], physical("AWS::SQS::Queue"))
    functions: dict[str, str] = {}
    if any(d.kind == "async" for d in dlqs):
        for fn in physical("AWS::Lambda::Function"):
            tag = (c["lambda"].get_function(FunctionName=fn).get("Tags") or {}).get(TAG_FUNCTION)
            if tag:
                functions[tag] = fn
    tables: dict[str, str] = {}
    for name in physical("AWS::DynamoDB::Table"):
        arn = c["dynamodb"].describe_table(TableName=name)["Table"]["TableArn"]
        listed = c["dynamodb"].list_tags_of_resource(ResourceArn=arn).get("Tags", [])
        tags = {t["Key"]: t["Value"] for t in listed}
        if TAG_TABLE in tags:
            tables[tags[TAG_TABLE]] = name
    buses = physical("AWS::Events::EventBus")
    if len(buses) != 1:
        raise RuntimeError(f"{stack}: expected one event bus, found {len(buses)}")
    bus_arn = c["events"].describe_event_bus(Name=buses[0])["Arn"]
    archives = c["events"].list_archives(EventSourceArn=bus_arn).get("Archives", [])
    archive_arn = (
        c["events"].describe_archive(ArchiveName=archives[0]["ArchiveName"])["ArchiveArn"]
        if archives
        else None
    )
    return OpsTarget(
        queues=queues,
        dead_letter_queues=dlqs,
        bus_arn=bus_arn,
        archive_arn=archive_arn,
        functions=functions,
        tables=tables,
        sqs=c["sqs"],
        events=c["events"],
        lambda_=c["lambda"],
        dynamodb=c["dynamodb"],
    )
