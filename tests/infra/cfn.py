"""The stack synthesized once per test process, and lookups over its template, shared by the infra test
modules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
STAGE = "dev"
#: The context a real deploy of a stage passes (its own addresses, the alarm e-mail): one for every module
#: that reads the synthesized stack.
CONTEXT = {
    "stage": STAGE,
    "mailSender": "berichte-dev@bildung.lkl-beispiel.de",
    "officeEmail": "bildungsbuero-dev@lkl-beispiel.de",
    "alarmEmail": "betrieb@lkl-beispiel.de",
}
#: The modules that read the stack of :class:`Synthesized`: ``make test``'s xdist workers run them in one
#: process (tests/conftest.py), so the stack is synthesized once (docs/performance.md, "`make test`").
SYNTH_MODULES = (
    "tests/infra/test_infra_hardening.py",
    "tests/infra/test_infra_stack.py",
    "tests/infra/test_aws_rules.py",
    "tests/infra/test_infra_auth.py",
)


class TemplateLookups:
    """Mixin: ``self.json`` is the template, ``self.stack`` the CDK stack it came from."""

    json: dict[str, Any]
    stack: Any

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.json["Resources"]

    def of_type(self, cfn_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r["Type"] == cfn_type}

    def logical_id(self, construct: Any) -> str:
        child = getattr(construct.node, "default_child", None) or construct
        return str(self.stack.resolve(child.logical_id))


def ref(value: Any) -> str:
    """Logical id of a ``Ref`` or ``Fn::GetAtt``."""
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    raise AssertionError(f"not a Ref/GetAtt: {value!r}")


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Synthesized(TemplateLookups):
    """``cdk synth`` of the stage's stack with :data:`CONTEXT` (``infra.app.build``: with the cdk-nag checks)
    into ``outdir``: the template as written, the validation report, the error synth raised (cdk-nag findings;
    the template is written anyway). Made once per test process (fixture ``synthesized``); the modules read
    it and never change it."""

    def __init__(self, outdir: Path) -> None:
        import aws_cdk as cdk

        from infra.app import build

        context = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
        self.app = cdk.App(context={**context, **CONTEXT, "aws:cdk:bundling-stacks": []}, outdir=str(outdir))
        self.stack = build(self.app)
        self.synth_error: str | None = None
        try:
            self.app.synth()
        except RuntimeError as exc:  # validation (cdk-nag) failures; the template is written anyway
            self.synth_error = str(exc)
        self.template_text = (outdir / f"{self.stack.stack_name}.template.json").read_text()
        self.json: dict[str, Any] = json.loads(self.template_text)
        report = outdir / "validation-report.json"
        self.report: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
