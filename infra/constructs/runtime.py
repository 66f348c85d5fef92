"""Lambda runtime pieces: the shared Powertools layer, the declared dependencies layers and code."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from contracts.topology import Function, Layer
from infra.bundling import REPO_ROOT, dependencies_code, locked_version, requirements_of, service_code
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
    """The Powertools layer (all functions), a code asset per service and the declared dependencies layers
    (``contracts.topology.LAYERS``), each created once and given to the functions that declare it."""

    def __init__(self, scope: Construct, construct_id: str, *, repo_root: Path = REPO_ROOT) -> None:
        super().__init__(scope, construct_id)
        self.repo_root = repo_root
        powertools_arn = ssm.StringParameter.value_for_string_parameter(self, powertools_layer_parameter())
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", powertools_arn
        )
        self._code: dict[str, lambda_.Code] = {}
        self._layers: dict[str, lambda_.ILayerVersion] = {}

    def code_for(self, service: str) -> lambda_.Code:
        """The (shared) code asset of ``service``: contracts + common + services/<service>."""
        if service not in self._code:
            self._code[service] = service_code(service, self.repo_root)
        return self._code[service]

    def layer(self, layer: Layer) -> lambda_.ILayerVersion:
        """The layer version of a declared dependencies layer."""
        if layer.name not in self._layers:
            self._layers[layer.name] = lambda_.LayerVersion(
                self,
                construct_id(layer.name) + "Layer",
                code=dependencies_code(layer),
                compatible_runtimes=[RUNTIME],
                compatible_architectures=[ARCHITECTURE],
                description=f"{layer.description}: {', '.join(requirements_of(layer))}"[:256],
            )
        return self._layers[layer.name]

    def layers_for(self, function: Function) -> list[lambda_.ILayerVersion]:
        """Powertools + the dependencies layers ``function`` declares, in its order."""
        return [self.powertools_layer, *(self.layer(layer) for layer in function.layers)]
