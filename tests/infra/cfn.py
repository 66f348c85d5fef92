"""Lookups over a synthesized CloudFormation template, shared by the infra test modules."""

from __future__ import annotations

from typing import Any


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
