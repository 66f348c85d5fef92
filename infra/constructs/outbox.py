"""The outbox relay: DynamoDB stream → EventBridge Pipe (filter + input template) → platform bus.

The item format, the filter pattern and the input template are declared once in
:mod:`contracts.outbox` (the local runtime emulates the same pipe over moto's stream records).

No enrichment, no Lambda: the pipe reads the stream, drops everything that is not a freshly
inserted outbox item, renders ``detail`` from the item's ``metadata`` and ``data`` JSON texts and
puts the event on the bus with the owning service's ``source`` and the item's ``detail_type``.
Batches that keep failing are bisected, retried and finally reported to the pipe's DLQ (the record
positions; the outbox item itself stays in the table until its TTL, so an operator can re-publish it).
"""

from __future__ import annotations

import json

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from constructs import Construct

from contracts import outbox
from contracts import topology as topo
from infra import iam as grants
from infra.constructs.keys import Keys
from infra.nag import REASON_IS_DLQ, REASON_NOT_REDRIVE_SOURCE, acknowledge
from infra.naming import pipe_name
from infra.queues import LOG_RETENTION, dead_letter_queue

#: DynamoDB stream batch the pipe reads; one event per record is put on the bus.
PIPE_BATCH_SIZE = 10
#: A batch that keeps failing is bisected and retried this often; then its position goes to the DLQ.
PIPE_MAXIMUM_RETRY_ATTEMPTS = 10
#: Records older than this go to the DLQ instead of being retried (stream retention is 24 h).
PIPE_MAXIMUM_RECORD_AGE_SECONDS = 6 * 3600


def filter_criteria_json(table: topo.Table) -> str:
    return json.dumps(outbox.filter_pattern(table), sort_keys=True, separators=(",", ":"))


class OutboxPipe(Construct):
    """One pipe per table with a stream."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        spec: topo.Table,
        table: dynamodb.ITable,
        bus: events.IEventBus,
        keys: Keys,
    ) -> None:
        super().__init__(scope, construct_id)
        if not spec.stream or table.table_stream_arn is None:
            raise ValueError(f"table {spec.name} has no stream")
        self.spec = spec
        self.pipe_name = pipe_name(stage, spec.name)
        stream_arn = table.table_stream_arn

        self.dlq = dead_letter_queue(self, "Dlq", keys.messaging, kind="pipe", of=spec.name)
        acknowledge(
            self.dlq, "Serverless-SQSRedrivePolicy", REASON_IS_DLQ.format(of=f"the {self.pipe_name} pipe")
        )
        acknowledge(
            self.dlq, "AwsSolutions-SQS3", REASON_NOT_REDRIVE_SOURCE.format(of=f"the {self.pipe_name} pipe")
        )

        self.log_group = logs.LogGroup(
            self,
            "Logs",
            retention=LOG_RETENTION,
            encryption_key=keys.logs,
            removal_policy=RemovalPolicy.RETAIN,
        )

        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "pipes.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
            description=f"Pipe {self.pipe_name}: read the {spec.name} stream, put events on the bus",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(grants.DYNAMODB_STREAM_ACTIONS), resources=[stream_arn])
        )
        # ListStreams is not resource-scoped (IAM evaluates it against "*"); the Pipes documentation
        # lists it as required for a DynamoDB stream source.
        self.role.add_to_policy(iam.PolicyStatement(actions=["dynamodb:ListStreams"], resources=["*"]))
        grants.grant_key(self.role, keys.data, ("kms:Decrypt",))  # stream records of a CMK table
        grants.grant_send(self.role, self.dlq.queue_arn, keys.messaging)
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus.event_bus_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5",
            "dynamodb:ListStreams has no resource-level permissions (it is evaluated against '*'); the "
            "EventBridge Pipes documentation requires it for DynamoDB stream sources. Every other statement "
            "of this role names one stream, key, queue, bus or log group.",
            finding="Resource::*",
        )

        source = outbox.pipe_source(spec)
        self.source = source.value
        self.pipe = pipes.CfnPipe(
            self,
            "Pipe",
            name=self.pipe_name,
            description=f"Outbox relay: {spec.name} stream → {bus.event_bus_name} ({source.value})",
            role_arn=self.role.role_arn,
            source=stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position="TRIM_HORIZON",
                    batch_size=PIPE_BATCH_SIZE,
                    maximum_retry_attempts=PIPE_MAXIMUM_RETRY_ATTEMPTS,
                    maximum_record_age_in_seconds=PIPE_MAXIMUM_RECORD_AGE_SECONDS,
                    on_partial_batch_item_failure="AUTOMATIC_BISECT",
                    dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(arn=self.dlq.queue_arn),
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=filter_criteria_json(spec))]
                ),
            ),
            target=bus.event_bus_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                event_bridge_event_bus_parameters=pipes.CfnPipe.PipeTargetEventBridgeEventBusParametersProperty(
                    source=source.value,
                    detail_type=outbox.DETAIL_TYPE_PATH,
                ),
                input_template=outbox.input_template(),
            ),
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level="ERROR",
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=self.log_group.log_group_arn
                ),
            ),
            desired_state="RUNNING",
        )
        # the role's policy must exist before the pipe validates its source and target
        self.pipe.node.add_dependency(self.role)
