"""Lambda runtime pieces: the shared Powertools layer, per-service dependencies layer and code."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.bundling import REPO_ROOT, dependencies_code, locked_version, service_code, service_requirements
from infra.naming import construct_id

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
#: Public SSM parameters of the AWS-managed Powertools layer, one per release
#: (``/aws/service/powertools/python/{arch}/{python}/{version}``; Powertools docs, "Lambda Layer").
POWERTOOLS_LAYER_PARAMETER_PREFIX = "/aws/service/powertools/python/arm64/python3.13"


def powertools_layer_parameter(version: str | None = None) -> str:
    """The SSM parameter of the Powertools layer of ``version`` (default: the version in ``uv.lock``), so
    the deployed functions run the release the tests ran – never ``latest``, which changes under a
    deployed stack at the next deploy."""
    return f"{POWERTOOLS_LAYER_PARAMETER_PREFIX}/{version or locked_version('aws-lambda-powertools')}"


class LambdaRuntime(Construct):
    """The Powertools layer (all functions) plus, per service, a code asset and a dependencies layer."""

    def __init__(self, scope: Construct, construct_id: str, *, repo_root: Path = REPO_ROOT) -> None:
        super().__init__(scope, construct_id)
        self.repo_root = repo_root
        powertools_arn = ssm.StringParameter.value_for_string_parameter(self, powertools_layer_parameter())
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", powertools_arn
        )
        self._code: dict[str, lambda_.Code] = {}
        self._layers: dict[str, list[lambda_.ILayerVersion]] = {}

    def code_for(self, service: str) -> lambda_.Code:
        """The (shared) code asset of ``service``: contracts + common + services/<service>."""
        if service not in self._code:
            self._code[service] = service_code(service, self.repo_root)
        return self._code[service]

    def layers_for(self, service: str) -> list[lambda_.ILayerVersion]:
        """Powertools + the dependencies layer of ``service`` (if its code imports a declared dependency)."""
        if service not in self._layers:
            layers: list[lambda_.ILayerVersion] = [self.powertools_layer]
            requirements = service_requirements(service, self.repo_root)
            if requirements:
                layers.append(
                    lambda_.LayerVersion(
                        self,
                        construct_id(service) + "DependenciesLayer",
                        code=dependencies_code(requirements),
                        compatible_runtimes=[RUNTIME],
                        compatible_architectures=[ARCHITECTURE],
                        description=f"{service} runtime dependencies: {', '.join(requirements)}"[:256],
                    )
                )
            self._layers[service] = layers
        return self._layers[service]
