"""The REST API: one resource/method per topology route, Lambda proxy integrations.

Every method except the routes the topology declares ``public`` (the static web form page) is behind
the Cognito authorizer of :class:`infra.constructs.auth.Auth`. The stage variables carry the web
form's login configuration; ``multipart/form-data`` is a binary media type (class-list uploads
reach the function base64-encoded, byte-exact). Gateway answers (401, 403, …) are German, in the
API's error body shape.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from common.errors import FORBIDDEN, NOT_FOUND, UNAUTHENTICATED, error_body
from contracts import topology as topo
from infra.constructs.auth import Auth

#: API Gateway logs hold caller IPs (personal data): kept shorter than the function logs.
API_LOG_RETENTION = logs.RetentionDays.THREE_MONTHS
THROTTLING_RATE_LIMIT = 50
THROTTLING_BURST_LIMIT = 100
#: German gateway responses in the API's error body shape ``{"message", "errors"}``.
GATEWAY_RESPONSES = {
    apigw.ResponseType.UNAUTHORIZED: ("401", UNAUTHENTICATED),
    apigw.ResponseType.ACCESS_DENIED: ("403", FORBIDDEN),
    apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN: ("404", NOT_FOUND),
    apigw.ResponseType.REQUEST_TOO_LARGE: ("413", "Die Anfrage ist zu groß."),
    apigw.ResponseType.THROTTLED: ("429", "Zu viele Anfragen. Bitte kurz warten."),
    apigw.ResponseType.DEFAULT_5_XX: (None, "Interner Fehler. Bitte später erneut versuchen."),
}


class Api(Construct):
    """``apigateway.RestApi`` with stage = ``stage``, X-Ray tracing and modest throttling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        stage: str,
        functions: Mapping[str, lambda_.Function],
        log_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.auth = Auth(self, "Auth", stage=stage)
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
            binary_media_types=list(topo.BINARY_MEDIA_TYPES),
            cloud_watch_role=True,  # account-level role API Gateway needs to write any CloudWatch log
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            deploy_options=apigw.StageOptions(
                stage_name=stage,
                variables={  # the web form's login configuration (services/intake/handlers/page.py)
                    "authEndpoint": f"https://cognito-idp.{Aws.REGION}.amazonaws.com/",
                    "userPoolClientId": self.auth.web_client.user_pool_client_id,
                    "region": Aws.REGION,
                },
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
        # under the RestApi: CDK attaches the authorizer to it (and cdk-nag's acknowledgments look there)
        self.authorizer = self.auth.authorizer(self.rest_api)
        # the authorizer accepts tokens of any app client of the pool: the functions check ``aud`` with this
        for name in sorted({r.function for r in topo.ROUTES}):
            functions[name].add_environment(
                topo.COGNITO.client_id_env, self.auth.web_client.user_pool_client_id
            )
        for route in topo.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            if route.public:
                resource.add_method(route.method, integrations[route.function])
            else:
                resource.add_method(
                    route.method,
                    integrations[route.function],
                    authorizer=self.authorizer,
                    authorization_type=apigw.AuthorizationType.COGNITO,
                )
        for response_type, (status, message) in GATEWAY_RESPONSES.items():
            self.rest_api.add_gateway_response(
                f"Gateway{response_type.response_type}",
                type=response_type,
                status_code=status,
                templates={"application/json": error_body(message)},
            )
