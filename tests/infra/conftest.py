"""The infra modules' one synth per test process (tests/infra/cfn.py)."""

from __future__ import annotations

import pytest

from tests.infra.cfn import Synthesized


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(tmp_path_factory.mktemp("cdk.out"))
