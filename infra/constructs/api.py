"""The REST API: one resource/method per topology route, Lambda proxy integrations."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from contracts import topology as topo


class Api(Construct):
    """``apigateway.RestApi`` with stage = ``stage``, X-Ray tracing and modest throttling."""

    def __init__(
        self, scope: Construct, construct_id: str, *, stage: str, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        super().__init__(scope, construct_id)
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=f"avdual-{stage}",
            description=f"AV dual platform API ({stage})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            deploy_options=apigw.StageOptions(
                stage_name=stage,
                tracing_enabled=True,
                throttling_rate_limit=50,
                throttling_burst_limit=100,
            ),
        )
        integrations = {
            name: apigw.LambdaIntegration(fn, proxy=True, allow_test_invoke=False)
            for name, fn in functions.items()
        }
        for route in topo.ROUTES:
            resource = self.rest_api.root.resource_for_path(route.path)
            resource.add_method(route.method, integrations[route.function])
