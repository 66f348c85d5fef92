"""Shared Lambda runtime pieces: the Powertools layer, the dependencies layer, per-service code."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from infra.bundling import REPO_ROOT, dependencies_code, service_code

RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
#: Public SSM parameter holding the latest AWS-managed Powertools layer ARN (resolved at deploy time).
POWERTOOLS_LAYER_PARAMETER = "/aws/service/powertools/python/arm64/python3.13/latest"


class LambdaRuntime(Construct):
    """Layers shared by all functions and one code asset per service."""

    def __init__(self, scope: Construct, construct_id: str, *, repo_root: Path = REPO_ROOT) -> None:
        super().__init__(scope, construct_id)
        self.repo_root = repo_root
        powertools_arn = ssm.StringParameter.value_for_string_parameter(self, POWERTOOLS_LAYER_PARAMETER)
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", powertools_arn
        )
        self.dependencies_layer = lambda_.LayerVersion(
            self,
            "DependenciesLayer",
            code=dependencies_code(repo_root / "pyproject.toml"),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Third-party runtime dependencies of the avdual functions (pyproject.toml)",
        )
        self.layers: list[lambda_.ILayerVersion] = [self.powertools_layer, self.dependencies_layer]
        self._code: dict[str, lambda_.Code] = {}

    def code_for(self, service: str) -> lambda_.Code:
        """The (shared) code asset of ``service``: contracts + common + services/<service>."""
        if service not in self._code:
            self._code[service] = service_code(service, self.repo_root)
        return self._code[service]
