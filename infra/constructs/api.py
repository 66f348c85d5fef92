"""The REST API: one resource/method per topology route, Lambda proxy integrations."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from contracts import topology as topo

#: API Gateway logs hold caller IPs (personal data): kept shorter than the function logs.
API_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
THROTTLING_RATE_LIMIT = 50
THROTTLING_BURST_LIMIT = 100


class Api(Construct):
    """``apigateway.RestApi`` with stage = ``stage``, X-Ray tracing and modest throttling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: Mapping[str, lambda_.IFunction],
        log_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # access log (JSON, no bodies); execution logs at ERROR level without data tracing
        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=API_LOG_RETENTION,
            encryption_key=log_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"avdual-{stage}",
            description=f"AV dual platform API ({stage})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            cloud_watch_role=True,  # account-level role API Gateway needs to write any CloudWatch log
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=stage,
                tracing_enabled=True,
                throttling_rate_limit=THROTTLING_RATE_LIMIT,
                throttling_burst_limit=THROTTLING_BURST_LIMIT,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=False,
            ),
        )
        # pre-create the execution log group (API Gateway would create it unencrypted, never expiring)
        self.execution_logs = logs.LogGroup(
            self,
            "ExecutionLogs",
            log_group_name=f"API-Gateway-Execution-Logs_{self.rest_api.rest_api_id}/{stage}",
            retention=API_LOG_RETENTION,
            encryption_key=log_key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.rest_api.deployment_stage.node.add_dependency(self.execution_logs)
        integrations = {
            name: apigw.LambdaIntegration(fn, proxy=True, allow_test_invoke=False)
            for name, fn in functions.items()
        }
        for route in topo.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            resource.add_method(route.method, integrations[route.function])
