"""The AvDual stack of one stage, composed from the topology (docs/architecture.md, "On AWS")."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Aws, CfnOutput, Stack, Tags
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contracts import topology as topo
from contracts.operations import OUTPUT_API_URL, OUTPUT_USER_POOL_ID, OUTPUT_WEB_CLIENT_ID
from infra.bundling import REPO_ROOT
from infra.constructs import Api, LambdaRuntime, Platform, Resources, ServiceConstruct
from infra.constructs.monitoring import Monitoring
from infra.nag import acknowledge_api
from infra.naming import construct_id


def _services() -> list[str]:
    """Owning services in topology order (``platform`` is built by :class:`Platform`)."""
    owners = [t.service for t in topo.TABLES.values()] + [b.service for b in topo.BUCKETS.values()]
    owners += [f.service for f in topo.FUNCTIONS.values()]
    if any(f.service == "platform" for f in topo.FUNCTIONS.values()):
        raise ValueError("platform functions are not supported: give the function a service")
    return [s for s in dict.fromkeys(owners) if s != "platform"]


class AvDualStack(Stack):
    """Env-agnostic stack: platform, one construct per service, the REST API, monitoring."""

    def __init__(
        self,
        scope: Construct,
        stack_id: str,
        *,
        stage: str,
        repo_root: Path = REPO_ROOT,
        alarm_email: str | None = None,
        mail_overrides: dict[str, str] | None = None,
        create_mail_identities: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, stack_id, **kwargs)
        self.stage = stage
        Tags.of(self).add("project", "avdual")
        Tags.of(self).add("stage", stage)

        self.platform = Platform(self, "Platform", stage=stage)
        keys = self.platform.keys
        self.runtime = LambdaRuntime(self, "Runtime", repo_root=repo_root)
        resources = Resources(
            bus=self.platform.bus,
            keys=keys,
            tables=dict(self.platform.tables),
            mail_overrides=dict(mail_overrides or {}),
        )

        self.services = {
            s: ServiceConstruct(
                self,
                construct_id(s),
                service=s,
                stage=stage,
                keys=keys,
                access_logs=self.platform.access_logs,
                mail_addresses={m.name: resources.mail_addresses(m) for m in topo.MAIL_IDENTITIES.values()},
                create_mail_identities=create_mail_identities,
            )
            for s in _services()
        }
        for svc in self.services.values():  # all data stores exist before any function references them
            resources.tables.update(svc.tables)
            resources.buckets.update(svc.buckets)
            resources.mac_keys.update(svc.mac_keys)
        self.functions: dict[str, lambda_.Function] = {}
        for svc in self.services.values():
            self.functions.update(svc.add_functions(resources, self.runtime))

        self.api = Api(self, "Api", stage=stage, functions=self.functions, log_key=keys.logs)
        acknowledge_api(self.api.rest_api)
        # links in e-mails point to the API's pages; built from the API id and the stage name (not from
        # ``rest_api.url``, which references the deployment stage and would make the functions depend on
        # their own API methods: a cycle)
        base_url = (
            f"https://{self.api.rest_api.rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{stage}/"
        )
        for spec in topo.FUNCTIONS.values():
            if spec.links_to_api:
                self.functions[spec.name].add_environment(topo.API_BASE_URL_ENV, base_url)
        # what ``make smoke STAGE=…`` and the operator read from the stack (docs/deploy.md)
        CfnOutput(
            self, OUTPUT_API_URL, value=self.api.rest_api.url, description="Base URL of the API and web pages"
        )
        CfnOutput(self, OUTPUT_USER_POOL_ID, value=self.api.auth.user_pool.user_pool_id)
        CfnOutput(self, OUTPUT_WEB_CLIENT_ID, value=self.api.auth.web_client.user_pool_client_id)

        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for svc in self.services.values():
            self.dead_letter_queues.update(svc.dead_letter_queues)
        #: outbox table → its relay function
        self.relays = {t.name: self.functions[topo.outbox_relay_name(t)] for t in topo.outbox_tables()}
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            stage=stage,
            keys=keys,
            functions=self.functions,
            dead_letter_queues=self.dead_letter_queues,
            api_stage=self.api.rest_api.deployment_stage,
            relays=self.relays,
            alarm_email=alarm_email,
        )
