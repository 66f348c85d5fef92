"""Resources of the local runtime, created on moto from the topology: bus and archive, tables (with
streams and TTL), buckets, subscription queues with their rules and DLQs, SES identities, the schedule groups
of one-time schedules.
"""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from avdual.auth import LocalCognito
from avdual.runtime.base import ACCOUNT, REGION
from avdual.runtime.stream_mappings import StreamMappings
from common import aws
from contracts.operations import (
    TAG_DLQ_KIND,
    TAG_DLQ_OF,
    TAG_QUEUE_OF,
    DeadLetterKind,
    dead_letter_queue_name,
)
from contracts.topology import (
    BUCKETS,
    EVENT_BUS_ENV,
    FUNCTIONS,
    MAC_KEYS,
    MAIL_IDENTITIES,
    SUBSCRIPTIONS,
    TABLES,
    Table,
)


class Resources(StreamMappings):
    """Creates the topology's resources on moto (:meth:`_create_resources`, called by ``start``)."""

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
        for f in FUNCTIONS.values():  # on-failure destinations of the stream event source mappings
            if f.stream:
                self._dead_letter_queue(sqs, "relay", f.stream.table)
        for f in FUNCTIONS.values():  # asynchronous invocations / Scheduler targets (CDK: Lambda DLQ)
            if f.schedules or f.one_time:
                self._dead_letter_queue(sqs, "async", f.name)
        self._one_time_schedules(sqs)
        self.cognito = LocalCognito(self.stage, REGION)  # created on first use (login, token check, web form)
        kms = boto3.client("kms")
        for k in MAC_KEYS.values():  # CDK: a KMS key HMAC_256 / GENERATE_VERIFY_MAC
            key_id = kms.create_key(
                KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description=f"{self.physical(k.name)}"
            )["KeyMetadata"]["KeyId"]
            os.environ[k.env_var] = key_id
            self.names[k.name] = key_id
        ses = boto3.client("ses")
        for m in MAIL_IDENTITIES.values():  # CDK: an SES email identity (verified by DNS / the mailbox owner)
            ses.verify_email_identity(EmailAddress=m.sender)
        aws.reset()

    def _one_time_schedules(self, sqs: Any) -> None:
        """Schedule groups of the one-time schedules and each creator's target (CDK: the group, the target
        function's scheduler role, its async DLQ), so functions create them on moto as they do on AWS."""
        scheduler = boto3.client("scheduler")
        for f in FUNCTIONS.values():
            for o in f.one_time:
                group = self.physical(o.group)
                if f"schedule-group:{o.group}" not in self.names:
                    scheduler.create_schedule_group(Name=group)
                    self.names[f"schedule-group:{o.group}"] = group
                arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.physical(f.name)}"
                self.one_time_targets[arn] = f.name
                os.environ[o.env_var] = json.dumps(
                    {
                        "group": group,
                        "target_arn": arn,
                        "role_arn": f"arn:aws:iam::{ACCOUNT}:role/{self.physical(f.name)}-scheduler",
                        "dlq_arn": self._queue_arn(sqs, self._dlqs[("async", f.name)]),
                    }
                )

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
        numbers = {ix.sk for ix in t.indexes if ix.sk and ix.sk_number}
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
            "AttributeDefinitions": [
                {"AttributeName": a, "AttributeType": "N" if a in numbers else "S"} for a in sorted(attrs)
            ],
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
