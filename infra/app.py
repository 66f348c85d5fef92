"""CDK app entry point: ``cdk synth -c stage=dev`` → stack ``AvDual-dev`` (no account/region lookups)."""

from __future__ import annotations

import re

import aws_cdk as cdk

from contracts.operations import stack_name
from contracts.topology import OFFICE_MAIL
from infra.nag import add_checks
from infra.stack import AvDualStack

DEFAULT_STAGE = "dev"
_STAGE_RE = re.compile(r"^[a-z][a-z0-9]{0,15}$")


def stage_of(app: cdk.App) -> str:
    stage = str(app.node.try_get_context("stage") or DEFAULT_STAGE)
    if not _STAGE_RE.match(stage):
        raise ValueError(f"invalid stage {stage!r}: lower-case letters/digits, starting with a letter")
    return stage


def build(app: cdk.App) -> AvDualStack:
    """Add the stack of the stage given by context ``stage`` (default ``dev``) to ``app``, with the
    cdk-nag AwsSolutions + Serverless checks (synth fails on unacknowledged findings).

    Optional context ``alarmEmail``: e-mail address subscribed to the alarm topic; ``mailSender`` and
    ``officeEmail``: the stage's sender address (an SES identity) and office mailbox for reports and alerts
    (default: the topology's addresses).
    """
    stage = stage_of(app)
    add_checks(app)
    alarm_email = app.node.try_get_context("alarmEmail")
    overrides = {
        env: str(app.node.try_get_context(key))
        for key, env in (("mailSender", OFFICE_MAIL.sender_env), ("officeEmail", OFFICE_MAIL.recipient_env))
        if app.node.try_get_context(key)
    }
    return AvDualStack(
        app,
        stack_name(stage),
        stage=stage,
        description=f"AV dual companion platform ({stage})",
        termination_protection=stage == "prod",
        alarm_email=str(alarm_email) if alarm_email else None,
        mail_overrides=overrides,
    )


def main() -> None:
    app = cdk.App()
    build(app)
    app.synth()


if __name__ == "__main__":
    main()
