"""The AvDual stack of one stage, composed from the topology (DESIGN.md §3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Stack, Tags
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from contracts import topology as topo
from infra.bundling import REPO_ROOT
from infra.constructs import Api, LambdaRuntime, Platform, Resources, ServiceConstruct
from infra.naming import construct_id


def _services() -> list[str]:
    """Owning services in topology order (``platform`` is built by :class:`Platform`)."""
    owners = [t.service for t in topo.TABLES.values()] + [b.service for b in topo.BUCKETS.values()]
    owners += [f.service for f in topo.FUNCTIONS.values()]
    if any(f.service == "platform" for f in topo.FUNCTIONS.values()):
        raise ValueError("platform functions are not supported: give the function a service")
    return [s for s in dict.fromkeys(owners) if s != "platform"]


class AvDualStack(Stack):
    """Env-agnostic stack: platform, one construct per service, the REST API."""

    def __init__(
        self, scope: Construct, stack_id: str, *, stage: str, repo_root: Path = REPO_ROOT, **kwargs: Any
    ) -> None:
        super().__init__(scope, stack_id, **kwargs)
        self.stage = stage
        Tags.of(self).add("project", "avdual")
        Tags.of(self).add("stage", stage)

        self.platform = Platform(self, "Platform", stage=stage)
        self.runtime = LambdaRuntime(self, "Runtime", repo_root=repo_root)
        resources = Resources(bus=self.platform.bus, tables=dict(self.platform.tables))

        self.services = {
            s: ServiceConstruct(self, construct_id(s), service=s, stage=stage) for s in _services()
        }
        for svc in self.services.values():  # all data stores exist before any function references them
            resources.tables.update(svc.tables)
            resources.buckets.update(svc.buckets)
        self.functions: dict[str, lambda_.Function] = {}
        for svc in self.services.values():
            self.functions.update(svc.add_functions(resources, self.runtime))

        self.api = Api(self, "Api", stage=stage, functions=self.functions)
