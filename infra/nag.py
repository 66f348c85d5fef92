"""cdk-nag 3 (``Validations`` API): the rule packs and narrow, reasoned acknowledgments.

cdk-nag 3 registers its packs as CDK policy-validation plugins; ``cdk synth`` fails on any
unacknowledged finding (errors and warnings alike are reported). Acknowledgments are attached to the
single construct a finding is about (never to the stack), and IAM5 findings name the exact
wildcard (``AwsSolutions-IAM5[Resource::*]``), so a new wildcard elsewhere is still reported.

An acknowledgment id must carry its pack prefix (``AwsSolutions::`` / ``Serverless::``): CDK turns
an unprefixed id into ``Annotation::<id>``, and such an acknowledgment was seen to make a whole
plugin report disappear from the validation report. :func:`acknowledge` refuses unprefixed ids.
"""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import IConstruct

PACKS = ("AwsSolutions", "Serverless")


def add_checks(app: cdk.App) -> None:
    """Run the AwsSolutions and Serverless packs on every synth of ``app``."""
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))


def acknowledge(construct: IConstruct, rule: str, reason: str, finding: str | None = None) -> None:
    """Acknowledge ``rule`` (e.g. ``"AwsSolutions-IAM5"``) on ``construct``, optionally one ``finding``
    (e.g. ``"Resource::*"``) only."""
    pack = rule.split("-", 1)[0]
    if pack not in PACKS:
        raise ValueError(f"unknown cdk-nag pack in rule {rule!r}")
    if len(reason.strip()) < 20:
        raise ValueError(f"{rule}: give a real reason")
    rule_id = f"{pack}::{rule}" + (f"[{finding}]" if finding else "")
    cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id=rule_id, reason=reason))


# --------------------------------------------------------------------------- shared reasons
REASON_RUNTIME = (
    "python3.13 is pinned on purpose (docs/architecture.md, 'On AWS'): the AWS-managed Powertools layer is "
    "resolved from the python3.13/arm64 SSM parameter and the dependencies layer is built for cp313; a "
    "runtime upgrade is a deliberate change of all three together."
)
REASON_XRAY = (
    "X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords do not support "
    "resource-level permissions, so the statement CDK adds must use Resource '*'."
)
REASON_SYNC_INVOKE = (
    "Invoked synchronously only ({how}): a Lambda dead-letter queue applies to asynchronous invocations "
    "and would never receive a message; failures are {where}."
)
REASON_XRAY_AND_LIST_STREAMS = (
    REASON_XRAY
    + " dynamodb:ListStreams (read by the DynamoDB stream event source mapping) has no resource-level "
    "permissions either; every other statement of this role names one stream, key, queue, bus or log group."
)
REASON_SQS_ESM_DESTINATION = (
    "SQS event source: Lambda on-failure destinations exist for stream/Kafka sources only; a message that "
    "fails maxReceiveCount times is moved by the queue's redrive policy to its DLQ (alarmed)."
)
REASON_IS_DLQ = (
    "This queue is itself a dead-letter queue ({of}); a DLQ of a DLQ would only move the problem. It is "
    "alarmed on depth > 0 and redriven by the operator."
)
REASON_NOT_REDRIVE_SOURCE = (
    "Dead-letter queue of {of}; cdk-nag only recognises queues referenced by an SQS redrive policy as DLQs."
)


# --------------------------------------------------------------------------- API Gateway
REASON_OPTIONS = (
    "CORS preflight: browsers send OPTIONS without credentials, so it cannot carry the Cognito token; the "
    "method has a mock integration that returns only CORS headers and reaches no function or data."
)
REASON_PUBLIC_ROUTE = (
    "Route declared public in contracts.topology (static page without data, e.g. the intake web form): a "
    "browser navigating to a page cannot send a bearer token. All data routes use the Cognito authorizer."
)
REASON_REQUEST_VALIDATION = (
    "Requests are validated by the Lambda handlers' pydantic models, which also generate the OpenAPI "
    "contract; an API Gateway model copy of every schema would drift from it."
)
REASON_WAF = (
    "Regional API behind the Cognito authorizer with stage throttling; AWS managed WAF rule groups block "
    "legitimate class-list uploads (CSV/XLSX bodies: SizeRestrictions_BODY, CrossSiteScripting_BODY). A "
    "web ACL with tuned exclusions is an operations decision before production."
)
REASON_APIGW_CLOUDWATCH_ROLE = (
    "Account-level role API Gateway uses to write access/execution logs; the AWS-managed "
    "AmazonAPIGatewayPushToCloudWatchLogs policy is the documented policy for it and is kept current by AWS."
)
APIGW_CLOUDWATCH_POLICY = (
    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
)


def acknowledge_api(rest_api: IConstruct) -> None:
    """Narrow acknowledgments for the REST API (see the reasons above)."""
    from aws_cdk import aws_apigateway as apigw

    from contracts import topology as topo

    acknowledge(rest_api.node.default_child, "AwsSolutions-APIG2", REASON_REQUEST_VALIDATION)  # type: ignore[arg-type]
    stage = rest_api.deployment_stage  # type: ignore[attr-defined]
    acknowledge(stage, "AwsSolutions-APIG3", REASON_WAF)
    role = rest_api.node.try_find_child("CloudWatchRole")
    if role is not None:
        acknowledge(role, "AwsSolutions-IAM4", REASON_APIGW_CLOUDWATCH_ROLE, finding=APIGW_CLOUDWATCH_POLICY)

    methods = [c for c in rest_api.node.find_all() if isinstance(c, apigw.Method)]
    public = {(r.method, r.path) for r in topo.ROUTES if getattr(r, "public", False)}
    for method in methods:
        key = (method.http_method, method.resource.path)
        if method.http_method == "OPTIONS":
            reason = REASON_OPTIONS
        elif key in public:
            reason = REASON_PUBLIC_ROUTE
        else:
            continue
        acknowledge(method, "AwsSolutions-APIG4", reason)
        acknowledge(method, "AwsSolutions-COG4", reason)
