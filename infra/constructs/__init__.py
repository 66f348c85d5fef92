"""CDK constructs built from ``contracts.topology``."""

from infra.constructs.api import Api
from infra.constructs.platform import Platform
from infra.constructs.runtime import LambdaRuntime
from infra.constructs.service import Resources, ServiceConstruct

__all__ = ["Api", "LambdaRuntime", "Platform", "Resources", "ServiceConstruct"]
