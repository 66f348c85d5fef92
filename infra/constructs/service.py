"""One construct per service: its tables/buckets, functions, subscriptions, schedules and outbox relays.

Reliability settings (docs/architecture.md, "On AWS"):

* every subscription: EventBridge rule → KMS-encrypted SQS queue (redrive to a DLQ after
  ``max_receive_count``) → Lambda with partial batch responses; the rule target has its own DLQ and
  retry policy; queue visibility timeout = 6 × the consumer's timeout;
* functions with schedules (asynchronous invocations) get a Lambda DLQ, which is also the DLQ of the
  EventBridge Scheduler targets;
* functions with a ``StreamSource`` (the outbox relays) get a DynamoDB stream event source mapping with the
  topology's filter, batch size, bisection, retries and record age, partial batch responses, and an SQS
  on-failure destination (DLQ kind ``relay``);
* concurrency: see :data:`EVENT_SOURCE_MAX_CONCURRENCY` (no reserved concurrency).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_ses as ses
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from contracts import topology as topo
from infra import iam as grants
from infra.constructs.keys import PENDING_WINDOW, Keys
from infra.constructs.runtime import ARCHITECTURE, RUNTIME, LambdaRuntime
from infra.constructs.storage import bucket_from_topology, table_from_topology
from infra.nag import (
    REASON_IS_DLQ,
    REASON_NOT_REDRIVE_SOURCE,
    REASON_RUNTIME,
    REASON_SQS_ESM_DESTINATION,
    REASON_SYNC_INVOKE,
    REASON_XRAY,
    REASON_XRAY_AND_LIST_STREAMS,
    acknowledge,
)
from infra.naming import TAG_FUNCTION, TAG_QUEUE_OF, construct_id, dead_letter_queue_name
from infra.queues import LOG_RETENTION, dead_letter_queue, queue

#: SQS visibility timeout = this factor × consumer function timeout (AWS recommendation: ≥ 6).
VISIBILITY_TIMEOUT_FACTOR = 6

#: ``ScalingConfig.MaximumConcurrency`` of the SQS event source mappings of each consumer (2 is the
#: minimum). It bounds how many invocations the pollers start for one queue, which caps the write rate
#: on the small companions table (matching) and on the aggregate counters (reporting).
#:
#: No function has *reserved* concurrency. The Lambda documentation requires reserved concurrency to be
#: at least the sum of the ``MaximumConcurrency`` of all SQS event sources of the function; otherwise
#: Lambda throttles the invocations, the messages return to the queue and, after ``maxReceiveCount``
#: receives, land in the DLQ unprocessed. ``MaximumConcurrency`` alone is the documented way to limit an
#: SQS consumer, and it reserves nothing from the account pool (new accounts may have a concurrency quota
#: of 10, below which no reservation is possible at all). Capacity is never exceeded because every claim
#: is a DynamoDB conditional write (docs/matching.md, docs/adr/0020-no-reserved-concurrency.md), not
#: because matching runs one at a time.
EVENT_SOURCE_MAX_CONCURRENCY: dict[str, int] = {"matching-consumer": 2, "reporting-consumer": 5}
DEFAULT_EVENT_SOURCE_MAX_CONCURRENCY = 5

#: EventBridge rule target retries (then the rule DLQ): EventBridge's maximum (24 h / 185 attempts).
RULE_TARGET_MAX_EVENT_AGE = Duration.hours(24)
RULE_TARGET_RETRY_ATTEMPTS = 185
#: EventBridge Scheduler → Lambda retries (then the function's async DLQ).
SCHEDULE_MAX_EVENT_AGE_SECONDS = 6 * 3600
SCHEDULE_RETRY_ATTEMPTS = 10
#: ``sub.pattern()`` keys → ``events.EventPattern`` keyword arguments.
_PATTERN_FIELDS = {"source": "source", "detail-type": "detail_type", "detail": "detail", "account": "account"}


@dataclass
class Resources:
    """Everything a function may reference, by logical topology name."""

    bus: events.IEventBus
    keys: Keys
    tables: dict[str, dynamodb.ITable] = field(default_factory=dict)
    buckets: dict[str, s3.IBucket] = field(default_factory=dict)
    mac_keys: dict[str, kms.IKey] = field(default_factory=dict)
    #: Per-stage replacements of the topology's mail addresses (env var name → address), e.g. from
    #: ``cdk deploy -c officeEmail=…``.
    mail_overrides: dict[str, str] = field(default_factory=dict)

    def mail_addresses(self, identity: topo.MailIdentity) -> tuple[str, str]:
        """``(sender, recipient)`` of ``identity`` in this stage."""
        return (
            self.mail_overrides.get(identity.sender_env, identity.sender),
            self.mail_overrides.get(identity.recipient_env, identity.recipient),
        )

    def environment(self, spec: topo.Function, stage: str) -> dict[str, str]:
        """``env_for(spec)`` with physical names, plus service name, stage and ``constant_env(spec)`` (with
        the stage's mail address overrides)."""
        env: dict[str, str] = {}
        for var, logical in topo.env_for(spec).items():
            if var == topo.EVENT_BUS_ENV:
                env[var] = self.bus.event_bus_name
            elif logical in topo.TABLES and topo.TABLES[logical].env_var == var:
                env[var] = self.tables[logical].table_name
            elif logical in topo.BUCKETS and topo.BUCKETS[logical].env_var == var:
                env[var] = self.buckets[logical].bucket_name
            elif any(o.name == logical for _, o in topo.one_time_targets(spec.name)):
                continue  # the target of a one-time schedule: set when the target exists (_one_time)
            elif logical in topo.MAC_KEYS and topo.MAC_KEYS[logical].env_var == var:
                env[var] = self.mac_keys[logical].key_arn
            else:
                raise ValueError(f"{spec.name}: cannot resolve env var {var}={logical}")
        env[topo.SERVICE_NAME_ENV] = spec.service
        env[topo.STAGE_ENV] = stage
        env[topo.TRACE_DISABLED_ENV] = "true"  # active tracing without the X-Ray SDK (see the constant)
        env.update(topo.constant_env(spec))
        env.update({k: v for k, v in self.mail_overrides.items() if k in env})
        return env


def filter_pattern_json(pattern: dict[str, Any]) -> str:
    """A Lambda event filter pattern as the ``FilterCriteria.Filters[].Pattern`` string."""
    return json.dumps(pattern, sort_keys=True, separators=(",", ":"))


def event_pattern(sub: topo.Subscription) -> events.EventPattern:
    """``sub.pattern()`` as an ``EventPattern`` (fails on keys this mapping does not know)."""
    pattern = sub.pattern()
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"{sub.name}: unsupported pattern keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {_PATTERN_FIELDS[k]: v for k, v in pattern.items()}
    return events.EventPattern(**kwargs)


@jsii.implements(events.IRuleTarget)
class QueueTarget:
    """Rule target: an SQS queue plus the target's DLQ, both KMS-encrypted.

    Unlike ``aws_events_targets.SqsQueue`` this adds no ``kms:*`` grant to the key policy (the
    messaging key already trusts ``events.amazonaws.com`` for exactly ``kms:GenerateDataKey`` and
    ``kms:Decrypt``, restricted to rules of the platform bus) and restricts both queue policies to
    this one rule (``aws:SourceArn``).
    """

    def __init__(self, queue: sqs.IQueue, dead_letter_queue: sqs.IQueue) -> None:
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        for target in (self.queue, self.dead_letter_queue):
            target.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("events.amazonaws.com")],
                    actions=["sqs:SendMessage"],
                    resources=[target.queue_arn],
                    conditions={"ArnEquals": {"aws:SourceArn": rule.rule_ref.rule_arn}},
                )
            )
        return events.RuleTargetConfig(
            arn=self.queue.queue_arn,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_event_age_in_seconds=int(RULE_TARGET_MAX_EVENT_AGE.to_seconds()),
                maximum_retry_attempts=RULE_TARGET_RETRY_ATTEMPTS,
            ),
        )


@jsii.implements(lambda_.IEventSourceDlq)
class QueueDestination:
    """On-failure destination of a stream event source mapping: an SQS queue encrypted with ``key``.

    Unlike ``aws_lambda_event_sources.SqsDlq`` this grants exactly ``sqs:SendMessage`` and the two KMS
    actions a producer of an encrypted queue needs (``infra.iam.grant_send``), no ``kms:ReEncrypt*``."""

    def __init__(self, queue: sqs.IQueue, key: kms.IKey) -> None:
        self.queue = queue
        self.key = key

    def bind(
        self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction
    ) -> lambda_.DlqDestinationConfig:
        grants.grant_send(target_handler, self.queue.queue_arn, self.key)
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)


#: How each trigger invokes a function, and where its failures end up (``Serverless-LambdaDLQ`` reason).
_INVOCATION_FAILURES = {
    "API Gateway Lambda proxy integration": "returned to the caller as HTTP 5xx (alarmed)",
    "SQS event source mapping": "retried by SQS and moved to the subscription DLQ (alarmed)",
    "DynamoDB stream event source mapping": "retried and bisected by the event source mapping, then "
    "described in its on-failure destination, the relay DLQ (alarmed)",
}


def _invocation_kinds(spec: topo.Function) -> list[str]:
    kinds = []
    if any(r.function == spec.name for r in topo.ROUTES):
        kinds.append("API Gateway Lambda proxy integration")
    if any(s.consumer == spec.name for s in topo.SUBSCRIPTIONS.values()):
        kinds.append("SQS event source mapping")
    if spec.stream:
        kinds.append("DynamoDB stream event source mapping")
    return kinds


class ServiceConstruct(Construct):
    """Data stores of one service (at construction), then its compute (``add_functions``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id_: str,
        *,
        service: str,
        stage: str,
        keys: Keys,
        access_logs: s3.IBucket,
        mail_addresses: dict[str, tuple[str, str]] | None = None,
        create_mail_identities: bool = True,
    ) -> None:
        """``mail_addresses``: ``(sender, recipient)`` per topology mail identity of this service; with
        ``create_mail_identities`` the SES identities of those addresses are created here."""
        super().__init__(scope, construct_id_)
        self.service = service
        self.stage = stage
        self.keys = keys
        self.tables: dict[str, dynamodb.Table] = {
            t.name: table_from_topology(self, t, keys.data)
            for t in topo.TABLES.values()
            if t.service == service
        }
        self.buckets: dict[str, s3.Bucket] = {
            b.name: bucket_from_topology(self, b, keys.data, access_logs)
            for b in topo.BUCKETS.values()
            if b.service == service
        }
        #: SES email identities of this service's addresses, sender *and* recipient: in the SES sandbox a
        #: message is only sent to a verified recipient. Each mailbox owner confirms the verification e-mail
        #: once. One identity per address (an address may be both).
        self.mail_identities: dict[str, ses.EmailIdentity] = {}
        if create_mail_identities:
            for m in topo.MAIL_IDENTITIES.values():
                if m.service != service:
                    continue
                sender, recipient = (mail_addresses or {}).get(m.name, (m.sender, m.recipient))
                for role, address in (("Sender", sender), ("Recipient", recipient)):
                    if address not in self.mail_identities:
                        self.mail_identities[address] = ses.EmailIdentity(
                            self, construct_id(m.name) + role, identity=ses.Identity.email(address)
                        )
        #: KMS HMAC keys of this service (keyed hashes; no rotation: AWS rotates no HMAC key, and a rotated
        #: key would give the same student another hash)
        self.mac_keys: dict[str, kms.Key] = {
            k.name: kms.Key(
                self,
                construct_id(k.name),
                description=f"avdual {stage}: {k.name} (HMAC)",
                key_spec=kms.KeySpec.HMAC_256,
                key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
                pending_window=PENDING_WINDOW,
                removal_policy=RemovalPolicy.RETAIN,
            )
            for k in topo.MAC_KEYS.values()
            if k.service == service
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.queues: dict[str, sqs.Queue] = {}
        #: every DLQ of this service, by a readable name (alarms, dashboard)
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.event_source_mappings: dict[str, lambda_.EventSourceMapping] = {}
        #: outbox table → its relay's stream event source mapping and on-failure destination
        self.stream_mappings: dict[str, lambda_.EventSourceMapping] = {}
        self.relay_dead_letter_queues: dict[str, sqs.Queue] = {}
        self._scheduler_roles: dict[str, iam.Role] = {}
        self._schedule_groups: dict[str, scheduler.CfnScheduleGroup] = {}

    def add_functions(self, resources: Resources, runtime: LambdaRuntime) -> dict[str, lambda_.Function]:
        """Functions of this service, the subscriptions they consume, their schedules, their stream sources
        (the outbox relays)."""
        for spec in topo.FUNCTIONS.values():
            if spec.service != self.service:
                continue
            fn = self._function(spec, resources, runtime)
            self.functions[spec.name] = fn
            if spec.schedules:
                self._schedules(spec, fn)
            if spec.stream:
                self._stream_source(spec, fn, resources.tables[spec.stream.table])
        for spec in topo.FUNCTIONS.values():
            for o in spec.one_time if spec.name in self.functions else ():
                self._one_time(spec, o)
        for sub in topo.SUBSCRIPTIONS.values():
            if sub.consumer in self.functions:
                self._subscription(sub, resources.bus)
        return self.functions

    def _function(self, spec: topo.Function, res: Resources, runtime: LambdaRuntime) -> lambda_.Function:
        cid = construct_id(spec.name)
        log_group = logs.LogGroup(
            self,
            cid + "Logs",
            retention=LOG_RETENTION,
            encryption_key=self.keys.logs,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # own role instead of the AWSLambdaBasicExecutionRole managed policy: logs of this group only
        role = iam.Role(
            self,
            cid + "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Lambda {spec.name} ({self.stage})",
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
            )
        )
        async_dlq = None
        if spec.schedules or spec.one_time:  # EventBridge Scheduler invokes asynchronously
            async_dlq = dead_letter_queue(
                self, cid + "AsyncDlq", self.keys.messaging, kind="async", of=spec.name
            )
            grants.grant_send(role, async_dlq.queue_arn, self.keys.messaging)
            what = f"asynchronous invocations of {spec.name} and its schedules"
            acknowledge(async_dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=what))
            self.dead_letter_queues[dead_letter_queue_name("async", spec.name)] = async_dlq
        fn = lambda_.Function(
            self,
            cid,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=runtime.code_for(spec.service),
            layers=runtime.layers_for(spec),
            environment=res.environment(spec, self.stage),
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            role=role,
            dead_letter_queue=async_dlq,
            description=spec.description or spec.name,
        )
        Tags.of(fn).add(TAG_FUNCTION, spec.name)  # ``avdual ops`` re-invokes from the async DLQ
        self._grant_resources(role, spec, res)

        acknowledge(fn, "AwsSolutions-L1", REASON_RUNTIME)
        acknowledge(fn, "Serverless-LambdaLatestVersion", REASON_RUNTIME)
        reason = REASON_XRAY_AND_LIST_STREAMS if spec.stream else REASON_XRAY
        acknowledge(role, "AwsSolutions-IAM5", reason, finding="Resource::*")
        if async_dlq is None:
            kinds = _invocation_kinds(spec)
            acknowledge(
                fn,
                "Serverless-LambdaDLQ",
                REASON_SYNC_INVOKE.format(
                    how=" / ".join(kinds) or "no trigger",
                    where="; ".join(_INVOCATION_FAILURES[k] for k in kinds) or "n/a",
                ),
            )
        for name in spec.buckets:
            bucket_id = Stack.of(self).resolve(res.buckets[name].node.default_child.logical_id)  # type: ignore[union-attr]
            acknowledge(
                role,
                "AwsSolutions-IAM5",
                f"Object-level S3 actions (Get/Put/DeleteObject) need an object ARN; the grant covers the "
                f"objects of the {name} bucket only, no other bucket and no bucket-level action.",
                finding=f"Resource::<{bucket_id}.Arn>/*",
            )
        return fn

    def _grant_resources(self, role: iam.Role, spec: topo.Function, res: Resources) -> None:
        """Grants on exactly the resources the function's topology entry names."""
        for name in spec.tables:
            grants.grant_table_read_write(role, res.tables[name], topo.TABLES[name])
        for name in spec.buckets:
            grants.grant_bucket_objects(role, res.buckets[name])
        if spec.tables or spec.buckets:
            grants.grant_key(role, self.keys.data)
        if spec.stream:
            grants.grant_stream_read(role, res.tables[spec.stream.table], self.keys.data)
        if spec.publishes:
            role.add_to_policy(
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[res.bus.event_bus_arn])
            )
        for name in spec.mail:
            grants.grant_send_mail(role, res.mail_addresses(topo.MAIL_IDENTITIES[name]))
        for name in spec.mac_keys:
            role.add_to_policy(
                iam.PolicyStatement(actions=["kms:GenerateMac"], resources=[res.mac_keys[name].key_arn])
            )

    def _subscription(self, sub: topo.Subscription, bus: events.IEventBus) -> None:
        scope = Construct(self, construct_id(sub.name))
        consumer = topo.FUNCTIONS[sub.consumer]
        key = self.keys.messaging
        dlq = dead_letter_queue(scope, "Dlq", key, kind="subscription", of=sub.name)
        q = queue(
            scope,
            "Queue",
            key,
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * consumer.timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=sub.max_receive_count, queue=dlq),
        )
        Tags.of(q).add(TAG_QUEUE_OF, sub.name)
        rule_dlq = dead_letter_queue(scope, "RuleDlq", key, kind="rule", of=sub.name)
        acknowledge(dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=f"the {sub.name} queue"))
        acknowledge(
            rule_dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=f"the {sub.name} rule target")
        )
        acknowledge(
            rule_dlq, "AwsSolutions-SQS3", REASON_NOT_REDRIVE_SOURCE.format(of=f"the {sub.name} rule")
        )
        events.Rule(
            scope,
            "Rule",
            event_bus=bus,
            description=f"{sub.name} → {sub.consumer}",
            event_pattern=event_pattern(sub),
            targets=[QueueTarget(q, rule_dlq)],
        )
        fn = self.functions[sub.consumer]
        q.grant_consume_messages(fn)
        esm = fn.add_event_source_mapping(
            construct_id(sub.name) + "Source",
            event_source_arn=q.queue_arn,
            batch_size=sub.batch_size,
            max_batching_window=Duration.seconds(1) if sub.batch_size > 10 else None,
            report_batch_item_failures=True,
            max_concurrency=EVENT_SOURCE_MAX_CONCURRENCY.get(
                sub.consumer, DEFAULT_EVENT_SOURCE_MAX_CONCURRENCY
            ),
        )
        acknowledge(esm, "Serverless-LambdaEventSourceMappingDestination", REASON_SQS_ESM_DESTINATION)
        self.queues[sub.name] = q
        self.event_source_mappings[sub.name] = esm
        self.dead_letter_queues[dead_letter_queue_name("subscription", sub.name)] = dlq
        self.dead_letter_queues[dead_letter_queue_name("rule", sub.name)] = rule_dlq

    def _stream_source(self, spec: topo.Function, fn: lambda_.Function, table: dynamodb.ITable) -> None:
        """The DynamoDB stream event source mapping of ``spec`` (an outbox relay) and its on-failure DLQ."""
        src = spec.stream
        assert src is not None and table.table_stream_arn is not None
        dlq = dead_letter_queue(
            self, construct_id(spec.name) + "Dlq", self.keys.messaging, kind="relay", of=src.table
        )
        what = f"the {spec.name} stream event source mapping (on-failure destination)"
        acknowledge(dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=what))
        acknowledge(dlq, "AwsSolutions-SQS3", REASON_NOT_REDRIVE_SOURCE.format(of=what))
        esm = fn.add_event_source_mapping(
            construct_id(spec.name) + "StreamSource",
            event_source_arn=table.table_stream_arn,
            starting_position=lambda_.StartingPosition(src.starting_position),
            batch_size=src.batch_size,
            bisect_batch_on_error=src.bisect_batch_on_error,
            retry_attempts=src.max_retry_attempts,
            max_record_age=Duration.seconds(src.max_record_age_seconds),
            report_batch_item_failures=True,
            on_failure=QueueDestination(dlq, self.keys.messaging),
            filters=[
                {"pattern": json.dumps(p, sort_keys=True, separators=(",", ":"))} for p in src.filter_patterns
            ],
        )
        # the role may read the stream and send to the DLQ before Lambda validates the mapping
        esm.node.add_dependency(fn.role)  # type: ignore[arg-type]
        self.stream_mappings[src.table] = esm
        self.relay_dead_letter_queues[src.table] = dlq
        self.dead_letter_queues[dead_letter_queue_name("relay", src.table)] = dlq

    def _scheduler_role(self, spec: topo.Function, fn: lambda_.Function) -> iam.Role:
        """The role EventBridge Scheduler assumes to invoke ``fn`` (and send to its DLQ): one per function."""
        if spec.name in self._scheduler_roles:
            return self._scheduler_roles[spec.name]
        dlq = self.dead_letter_queues[dead_letter_queue_name("async", spec.name)]
        role = iam.Role(
            self,
            construct_id(spec.name) + "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"EventBridge Scheduler invokes {spec.name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn])
        )
        grants.grant_send(role, dlq.queue_arn, self.keys.messaging)
        self._scheduler_roles[spec.name] = role
        return role

    def _one_time(self, spec: topo.Function, o: topo.OneTimeSchedule) -> None:
        """A one-time schedule the function ``o.created_by`` creates at run time to invoke ``spec``: its
        schedule group, the creator's permission to create schedules named ``<o.name>-…`` in exactly that
        group and to pass exactly the target's scheduler role to EventBridge Scheduler, and the target in the
        creator's environment (``o.env_var``, JSON). AWS: scheduler/latest/UserGuide/setting-up.html
        (execution role, ``iam:PassRole``) and managing-schedule-delete.html (``ActionAfterCompletion``)."""
        fn, creator = self.functions[spec.name], self.functions[o.created_by]
        role = self._scheduler_role(spec, fn)
        group = self._schedule_groups.get(o.group)
        if group is None:
            group = scheduler.CfnScheduleGroup(
                self, construct_id(o.group) + "ScheduleGroup", name=f"avdual-{self.stage}-{o.group}"
            )
            self._schedule_groups[o.group] = group
        group_name = f"avdual-{self.stage}-{o.group}"
        schedules = Stack.of(self).format_arn(
            service="scheduler",
            resource="schedule",
            resource_name=f"{group_name}/{o.name}-*",
            arn_format=ArnFormat.SLASH_RESOURCE_NAME,
        )
        assert creator.role is not None
        creator.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["scheduler:CreateSchedule"], resources=[schedules])
        )
        acknowledge(
            creator.role,
            "AwsSolutions-IAM5",
            f"{o.created_by} creates one one-time schedule per occurrence, named {o.name}-<instant>: the "
            "names are not known at deploy time, so the resource is that name prefix in this schedule "
            "group only (and no other scheduler action).",
            finding=f"Resource::arn:<AWS::Partition>:scheduler:<AWS::Region>:<AWS::AccountId>:schedule/"
            f"{group_name}/{o.name}-*",
        )
        creator.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["iam:PassRole"],
                resources=[role.role_arn],
                conditions={"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}},
            )
        )
        dlq = self.dead_letter_queues[dead_letter_queue_name("async", spec.name)]
        creator.add_environment(
            o.env_var,
            Stack.of(self).to_json_string(
                {
                    "group": group.ref,
                    "target_arn": fn.function_arn,
                    "role_arn": role.role_arn,
                    "dlq_arn": dlq.queue_arn,
                }
            ),
        )

    def _schedules(self, spec: topo.Function, fn: lambda_.Function) -> None:
        dlq = self.dead_letter_queues[dead_letter_queue_name("async", spec.name)]
        role = self._scheduler_role(spec, fn)
        for sched in spec.schedules:
            scheduler.CfnSchedule(
                self,
                construct_id(sched.name) + "Schedule",
                name=f"avdual-{self.stage}-{sched.name}",
                description=sched.description or None,
                schedule_expression=sched.expression,
                schedule_expression_timezone=sched.timezone,
                flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
                state="ENABLED",
                target=scheduler.CfnSchedule.TargetProperty(
                    arn=fn.function_arn,
                    role_arn=role.role_arn,
                    input=json.dumps(sched.payload, sort_keys=True),
                    dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dlq.queue_arn),
                    retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                        maximum_event_age_in_seconds=SCHEDULE_MAX_EVENT_AGE_SECONDS,
                        maximum_retry_attempts=SCHEDULE_RETRY_ATTEMPTS,
                    ),
                ),
            )


def all_functions(services: Mapping[str, ServiceConstruct]) -> dict[str, lambda_.Function]:
    return {name: fn for svc in services.values() for name, fn in svc.functions.items()}
