"""CDK app entry point: ``cdk synth -c stage=dev`` → stack ``AvDual-dev`` (no account/region lookups).

Every stage except :data:`LOCAL_STAGE` needs its own e-mail addresses as context (``-c mailSender=…
-c officeEmail=…``; ``make deploy STAGE=… MAIL_SENDER=… OFFICE_EMAIL=…``): the topology's addresses
are the local runtime's ``.example`` addresses and are never deployed. ``local`` is the offline check
of ``make synth``: it synthesizes with those addresses, and its template refuses to be deployed.
"""

from __future__ import annotations

import re

import aws_cdk as cdk

from contracts.operations import stack_name
from contracts.topology import MAIL_IDENTITIES
from infra.nag import add_checks
from infra.stack import AvDualStack

DEFAULT_STAGE = "dev"
#: The offline synth check (``make synth``): topology addresses, not deployable.
LOCAL_STAGE = "local"
_STAGE_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")
#: Context key → environment variable of each mail address a deployed stage must name.
MAIL_CONTEXT: dict[str, str] = {"mailSender": "MAIL_SENDER", "officeEmail": "OFFICE_EMAIL"}
#: Context ``mailIdentities``: ``create`` (default) creates the SES identities of the stage's addresses;
#: ``existing`` uses identities that exist already in the account/region (e.g. created by another stage
#: with the same addresses: an SES identity exists once per account and region, so two stacks cannot both
#: create it).
MAIL_IDENTITY_MODES = ("create", "existing")
#: Top-level domains that never receive mail (RFC 2606/6761): the local runtime's addresses.
RESERVED_TLDS = (".example", ".invalid", ".test", ".localhost")
_ADDRESS_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")


class StageConfigError(ValueError):
    """A stage's context is incomplete or invalid; the message names the ``-c`` option to pass."""


def stage_of(app: cdk.App) -> str:
    stage = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    if not _STAGE_RE.match(stage):
        raise StageConfigError(f"invalid stage {stage!r}: lower-case letters/digits, starting with a letter")
    return stage


def mail_addresses(app: cdk.App, stage: str) -> dict[str, str]:
    """The stage's mail addresses as env var → address (empty for :data:`LOCAL_STAGE`: topology defaults).

    Raises :class:`StageConfigError` naming the missing ``-c`` options, or an address that is invalid or at a
    reserved domain."""
    if stage == LOCAL_STAGE:
        return {}
    values = {key: str(app.node.try_get_context(key) or "").strip() for key in MAIL_CONTEXT}
    missing = [key for key, value in values.items() if not value]
    if missing:
        options = " ".join(f"-c {key}=…" for key in missing)
        raise StageConfigError(
            f"stage {stage!r} needs its e-mail addresses: {options} (sender = an address the office can "
            f"verify in SES, office = the Bildungsbüro mailbox), e.g. `make deploy STAGE={stage} "
            f"MAIL_SENDER=berichte@… OFFICE_EMAIL=bildungsbuero@…` – see docs/deploy.md"
        )
    for key, value in values.items():
        if not _ADDRESS_RE.match(value) or value.lower().endswith(RESERVED_TLDS):
            raise StageConfigError(
                f"-c {key}={value!r}: not a deliverable e-mail address (the "
                f"{', '.join(RESERVED_TLDS)} domains are the local runtime's); give the stage's real address"
            )
    envs = {env for m in MAIL_IDENTITIES.values() for env in (m.sender_env, m.recipient_env)}
    assert envs == set(MAIL_CONTEXT.values()), "every topology mail address needs a context key"
    return {MAIL_CONTEXT[key]: value for key, value in values.items()}


def mail_identity_mode(app: cdk.App) -> str:
    mode = str(app.node.try_get_context("mailIdentities") or "create")
    if mode not in MAIL_IDENTITY_MODES:
        raise StageConfigError(f"-c mailIdentities={mode!r}: one of {', '.join(MAIL_IDENTITY_MODES)}")
    return mode


def build(app: cdk.App) -> AvDualStack:
    """Add the stack of the stage given by context ``stage`` (default ``dev``) to ``app``, with the
    cdk-nag AwsSolutions + Serverless checks (synth fails on unacknowledged findings).

    Context: ``mailSender`` and ``officeEmail`` (required except for ``local``, see :func:`mail_addresses`),
    ``mailIdentities`` (``create``/``existing``), ``alarmEmail`` (optional: subscribed to the alarm topic).
    """
    stage = stage_of(app)
    overrides = mail_addresses(app, stage)
    mode = mail_identity_mode(app)
    add_checks(app)
    alarm_email = app.node.try_get_context("alarmEmail")
    stack = AvDualStack(
        app,
        stack_name(stage),
        stage=stage,
        description=f"AV dual companion platform ({stage})",
        termination_protection=stage == "prod",
        alarm_email=str(alarm_email) if alarm_email else None,
        mail_overrides=overrides,
        create_mail_identities=mode == "create",
    )
    if stage == LOCAL_STAGE:
        refuse_deployment(stack)
    return stack


def refuse_deployment(stack: cdk.Stack) -> None:
    """A CloudFormation rule that always fails: the ``local`` template (with the local runtime's
    ``.example`` addresses) can be synthesized and linted, never created or updated. The assertion asks
    whether CDK's ``BootstrapVersion`` parameter (a number) is a word it never is."""
    cdk.CfnRule(
        stack,
        "LocalStageIsNotDeployable",
        assertions=[
            cdk.CfnRuleAssertion(
                assert_=cdk.Fn.condition_contains(["synth-only-stage"], cdk.Fn.ref("BootstrapVersion")),
                assert_description=(
                    "Stage 'local' is the offline synth check and cannot be deployed: deploy a stage with "
                    "its own addresses (make deploy STAGE=dev MAIL_SENDER=… OFFICE_EMAIL=…, docs/deploy.md)."
                ),
            )
        ],
    )


def main() -> None:
    app = cdk.App()
    try:
        build(app)
    except StageConfigError as e:
        raise SystemExit(f"avdual: {e}") from None
    app.synth()


if __name__ == "__main__":
    main()
