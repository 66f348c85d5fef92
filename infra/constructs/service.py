"""One construct per service: its tables/buckets, functions, subscriptions and schedules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contracts import topology as topo
from infra.constructs.runtime import ARCHITECTURE, RUNTIME, LambdaRuntime
from infra.constructs.storage import bucket_from_topology, table_from_topology
from infra.naming import construct_id

#: SQS visibility timeout = this factor × consumer function timeout (AWS recommendation: ≥ 6).
VISIBILITY_TIMEOUT_FACTOR = 6
DLQ_RETENTION = Duration.days(14)
LOG_RETENTION = logs.RetentionDays.ONE_YEAR
#: ``sub.pattern()`` keys → ``events.EventPattern`` keyword arguments.
_PATTERN_FIELDS = {"source": "source", "detail-type": "detail_type", "detail": "detail", "account": "account"}


@dataclass
class Resources:
    """Everything a function may reference, by logical topology name."""

    bus: events.IEventBus
    tables: dict[str, dynamodb.ITable] = field(default_factory=dict)
    buckets: dict[str, s3.IBucket] = field(default_factory=dict)

    def environment(self, spec: topo.Function, stage: str) -> dict[str, str]:
        """``env_for(spec)`` with physical names, plus service name, stage and ``extra_env``."""
        env: dict[str, str] = {}
        for var, logical in topo.env_for(spec).items():
            if var == topo.EVENT_BUS_ENV:
                env[var] = self.bus.event_bus_name
            elif logical in topo.TABLES and topo.TABLES[logical].env_var == var:
                env[var] = self.tables[logical].table_name
            elif logical in topo.BUCKETS and topo.BUCKETS[logical].env_var == var:
                env[var] = self.buckets[logical].bucket_name
            else:
                raise ValueError(f"{spec.name}: cannot resolve env var {var}={logical}")
        env[topo.SERVICE_NAME_ENV] = spec.service
        env[topo.STAGE_ENV] = stage
        env.update(dict(spec.extra_env))
        return env


def event_pattern(sub: topo.Subscription) -> events.EventPattern:
    """``sub.pattern()`` as an ``EventPattern`` (fails on keys this mapping does not know)."""
    pattern = sub.pattern()
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"{sub.name}: unsupported pattern keys {sorted(unknown)}")
    kwargs: dict[str, Any] = {_PATTERN_FIELDS[k]: v for k, v in pattern.items()}
    return events.EventPattern(**kwargs)


class ServiceConstruct(Construct):
    """Data stores of one service (at construction), then its compute (``add_functions``)."""

    def __init__(self, scope: Construct, construct_id_: str, *, service: str, stage: str) -> None:
        super().__init__(scope, construct_id_)
        self.service = service
        self.stage = stage
        self.tables: dict[str, dynamodb.Table] = {
            t.name: table_from_topology(self, t) for t in topo.TABLES.values() if t.service == service
        }
        self.buckets: dict[str, s3.Bucket] = {
            b.name: bucket_from_topology(self, b) for b in topo.BUCKETS.values() if b.service == service
        }
        self.functions: dict[str, lambda_.Function] = {}
        self.queues: dict[str, sqs.Queue] = {}

    def add_functions(self, resources: Resources, runtime: LambdaRuntime) -> dict[str, lambda_.Function]:
        """Functions of this service, the subscriptions they consume and their schedules."""
        for spec in topo.FUNCTIONS.values():
            if spec.service != self.service:
                continue
            fn = self._function(spec, resources, runtime)
            self.functions[spec.name] = fn
            if spec.schedules:
                self._schedules(spec, fn)
        for sub in topo.SUBSCRIPTIONS.values():
            if sub.consumer in self.functions:
                self._subscription(sub, resources.bus)
        return self.functions

    def _function(self, spec: topo.Function, res: Resources, runtime: LambdaRuntime) -> lambda_.Function:
        cid = construct_id(spec.name)
        log_group = logs.LogGroup(
            self, cid + "Logs", retention=LOG_RETENTION, removal_policy=RemovalPolicy.RETAIN
        )
        fn = lambda_.Function(
            self,
            cid,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=spec.handler,
            code=runtime.code_for(spec.service),
            layers=runtime.layers_for(spec.service),
            environment=res.environment(spec, self.stage),
            timeout=Duration.seconds(spec.timeout_seconds),
            memory_size=spec.memory_mb,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            description=spec.description or spec.name,
        )
        for name in spec.tables:
            res.tables[name].grant_read_write_data(fn)
        for name in spec.buckets:
            res.buckets[name].grant_read_write(fn)
        if spec.publishes:
            res.bus.grant_put_events_to(fn)
        return fn

    def _subscription(self, sub: topo.Subscription, bus: events.IEventBus) -> None:
        scope = Construct(self, construct_id(sub.name))
        consumer = topo.FUNCTIONS[sub.consumer]
        dlq = sqs.Queue(
            scope,
            "Dlq",
            retention_period=DLQ_RETENTION,
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        queue = sqs.Queue(
            scope,
            "Queue",
            visibility_timeout=Duration.seconds(VISIBILITY_TIMEOUT_FACTOR * consumer.timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=sub.max_receive_count, queue=dlq),
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        rule_dlq = sqs.Queue(
            scope,
            "RuleDlq",
            retention_period=DLQ_RETENTION,
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
        )
        events.Rule(
            scope,
            "Rule",
            event_bus=bus,
            description=f"{sub.name} → {sub.consumer}",
            event_pattern=event_pattern(sub),
            targets=[targets.SqsQueue(queue, dead_letter_queue=rule_dlq)],
        )
        self.functions[sub.consumer].add_event_source(
            sources.SqsEventSource(
                queue,
                batch_size=sub.batch_size,
                max_batching_window=Duration.seconds(1) if sub.batch_size > 10 else None,
                report_batch_item_failures=True,
            )
        )
        self.queues[sub.name] = queue

    def _schedules(self, spec: topo.Function, fn: lambda_.Function) -> None:
        cid = construct_id(spec.name)
        role = iam.Role(
            self,
            cid + "SchedulerRole",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"EventBridge Scheduler invokes {spec.name}",
        )
        role.add_to_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[fn.function_arn])
        )
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
                ),
            )


def all_functions(services: Mapping[str, ServiceConstruct]) -> dict[str, lambda_.Function]:
    return {name: fn for svc in services.values() for name, fn in svc.functions.items()}
