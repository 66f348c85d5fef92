"""Operations: dead-letter queues, event replay from the archive, pipeline health (issue 6).

The same functions serve the embedded runtime (``make serve`` exposes them at ``/_ops/*`` on
127.0.0.1, and tests call them in-process) and a deployed stage (resources resolved from the
CloudFormation stack ``AvDual-<stage>`` with the usual AWS credentials).

Nothing here prints event ``data``: listings show ids, detail-types, sources and attempt counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import boto3

from contracts.topology import SUBSCRIPTIONS


@dataclass
class OpsTarget:
    """Where the pipeline lives: queue URLs per subscription, the bus and its archive."""

    queues: dict[str, tuple[str, str]]  # subscription -> (queue url, dlq url)
    bus_arn: str
    archive_arn: str | None
    sqs: Any = field(default=None)
    events: Any = field(default=None)

    def __post_init__(self) -> None:
        self.sqs = self.sqs or boto3.client("sqs")
        self.events = self.events or boto3.client("events")


def _depth(sqs: Any, url: str) -> int:
    a = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                                                "ApproximateNumberOfMessagesNotVisible"])
    return int(a["Attributes"]["ApproximateNumberOfMessages"]) + int(
        a["Attributes"].get("ApproximateNumberOfMessagesNotVisible", 0))


def health(t: OpsTarget) -> dict[str, Any]:
    """Queue and DLQ depths per subscription; ``healthy`` is False when any DLQ holds a message."""
    subs = {}
    for name, (q, dlq) in sorted(t.queues.items()):
        subs[name] = {"queued": _depth(t.sqs, q), "dead_letters": _depth(t.sqs, dlq)}
    return {"healthy": all(s["dead_letters"] == 0 for s in subs.values()), "subscriptions": subs}


def _summary(msg: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(msg["Body"])
    except json.JSONDecodeError:
        body = {}
    meta = (body.get("detail") or {}).get("metadata") or {}
    return {"message_id": msg["MessageId"], "detail_type": body.get("detail-type"), "source": body.get("source"),
            "event_id": body.get("id"), "idempotency_key": meta.get("idempotency_key"),
            "receive_count": int(msg.get("Attributes", {}).get("ApproximateReceiveCount", 0))}


def _drain_queue(sqs: Any, url: str, visibility: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=visibility,
                                  AttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        out += got


def list_dead_letters(t: OpsTarget, subscription: str | None = None) -> list[dict[str, Any]]:
    """DLQ messages (ids, detail-type, source, idempotency key) without their data; messages stay in the DLQ."""
    rows = []
    for name, (_, dlq) in sorted(t.queues.items()):
        if subscription and name != subscription:
            continue
        msgs = _drain_queue(t.sqs, dlq, visibility=1)
        for m in msgs:
            t.sqs.change_message_visibility(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
        rows += [{"subscription": name, **_summary(m)} for m in msgs]
    return rows


def redrive(t: OpsTarget, subscription: str | None = None) -> dict[str, int]:
    """Move DLQ messages back to their source queue (consumers are idempotent). Returns counts per subscription."""
    moved: dict[str, int] = {}
    for name, (q, dlq) in sorted(t.queues.items()):
        if subscription and name != subscription:
            continue
        msgs = _drain_queue(t.sqs, dlq, visibility=60)
        for m in msgs:
            t.sqs.send_message(QueueUrl=q, MessageBody=m["Body"])
            t.sqs.delete_message(QueueUrl=dlq, ReceiptHandle=m["ReceiptHandle"])
        moved[name] = len(msgs)
    return moved


def replay(t: OpsTarget, start: datetime, end: datetime, name: str | None = None) -> dict[str, Any]:
    """Replay archived events of ``[start, end]`` onto the bus (all rules); consumers dedupe on idempotency keys."""
    if t.archive_arn is None:
        raise RuntimeError("no event archive configured")
    name = name or f"replay-{start:%Y%m%dT%H%M%S}-{end:%Y%m%dT%H%M%S}"
    r = t.events.start_replay(ReplayName=name, EventSourceArn=t.archive_arn, EventStartTime=start,
                              EventEndTime=end, Destination={"Arn": t.bus_arn})
    state = t.events.describe_replay(ReplayName=name)
    return {"replay": name, "state": state.get("State", r.get("State"))}


def aws_target(stage: str) -> OpsTarget:
    """Resolve a deployed stage's queues, bus and archive from its CloudFormation stack ``AvDual-<stage>``."""
    cfn, sqs, events = boto3.client("cloudformation"), boto3.client("sqs"), boto3.client("events")
    stack = f"AvDual-{stage}"
    resources: list[dict[str, Any]] = []
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        resources += page["StackResourceSummaries"]

    def find(rtype: str, *needles: str) -> str:
        compact = [n.replace("-", "").lower() for n in needles]
        hits = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == rtype
                and all(n in r["LogicalResourceId"].lower() for n in compact)]
        if len(hits) != 1:
            raise RuntimeError(f"{stack}: expected one {rtype} for {needles}, found {len(hits)}")
        return hits[0]

    queues = {}
    for sub in SUBSCRIPTIONS:
        queue_urls = [r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::SQS::Queue"
                      and sub.replace("-", "").lower() in r["LogicalResourceId"].lower()]
        dlq = [u for u in queue_urls if "dlq" in u.lower() or "deadletter" in u.lower()]
        main = [u for u in queue_urls if u not in dlq]
        if len(main) != 1 or not dlq:
            raise RuntimeError(f"{stack}: cannot resolve the queues of {sub}")
        queues[sub] = (main[0], sorted(dlq)[0])
    bus_name = find("AWS::Events::EventBus", "bus")
    bus_arn = events.describe_event_bus(Name=bus_name)["Arn"]
    archives = events.list_archives(EventSourceArn=bus_arn).get("Archives", [])
    archive_arn = events.describe_archive(ArchiveName=archives[0]["ArchiveName"])["ArchiveArn"] if archives else None
    return OpsTarget(queues=queues, bus_arn=bus_arn, archive_arn=archive_arn, sqs=sqs, events=events)
