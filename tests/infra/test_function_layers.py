"""Every function runs with only its own layers, and its layers carry nothing it does not import.

Per function, a fresh interpreter (``python -I -S``: no site-packages, no user site, no PYTHONPATH) gets on
``sys.path`` only the function's code asset (``infra.bundling.ServiceBundler``), its declared dependencies
layers (``contracts.topology``, built by ``DependencyLayerBundler`` from the same requirements and
``leave_out`` CDK uses, for this machine's Python instead of arm64: same versions, same files apart from
the compiled extensions' platform) and what the Lambda runtime and the AWS-managed Powertools layer provide
(boto3, aws-lambda-powertools, pydantic at the locked versions). It imports the handler and then **every
module the handler's code can reach**: ``infra.bundling.handler_imports`` walks our code from the handler
module through all imports, the lazy ones inside functions included (openpyxl for class lists, matplotlib
when a chart is drawn, highspy in the suppression), and the interpreter imports each module of ours and each
third-party name found. That is the use path by construction, not by sampling events.

(a) every import succeeds, nothing comes from this machine's site-packages;
(b) every top-level package in the function's layers was loaded by those imports (directly by our code or
    by the libraries it uses): the list of unused ones is empty.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from avdual.bench_functions import lambda_env
from contracts.topology import FUNCTIONS, LAYERS
from infra.bundling import (
    DependencyLayerBundler,
    ServiceBundler,
    handler_imports,
    host_target,
    lambda_provided,
)

pytestmark = [
    pytest.mark.infra,
    pytest.mark.skipif(shutil.which("uv") is None, reason="uv builds the layers"),
]

SCRIPT = r"""
import importlib, json, sys

handler, names, roots = json.loads(sys.argv[1])
module, _, attr = handler.rpartition(".")
assert callable(getattr(importlib.import_module(module), attr))
failed = {}
for name in names:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as e:
        parent, _, last = name.rpartition(".")
        # ``from a import b`` where ``b`` is a name in ``a``, not a module
        if not (e.name == name and parent and hasattr(importlib.import_module(parent), last)):
            failed[name] = repr(e)
    except Exception as e:  # noqa: BLE001 - reported by the test
        failed[name] = repr(e)
files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)})
outside = [f for f in files if not f.startswith(tuple(roots)) and not f.startswith(sys.base_prefix)]
print(json.dumps({"failed": failed, "files": files, "outside": outside}))
"""

_NOT_PACKAGES = (".dist-info", ".libs", "__pycache__")  # metadata, vendored shared objects, bytecode


def _top_level(site: Path) -> dict[str, Path]:
    """Importable top-level names in a layer's ``python/`` directory → their path."""
    out = {}
    for entry in site.iterdir():
        if entry.name.endswith(_NOT_PACKAGES):
            continue
        out[entry.name.split(".")[0] if entry.is_file() else entry.name] = entry
    return out


@pytest.fixture(scope="module")
def provided() -> Path:
    return lambda_provided(host_target()).build() / "python"


@pytest.fixture(scope="module")
def layers() -> dict[str, Path]:
    return {
        name: DependencyLayerBundler.of(layer, host_target()).build() / "python"
        for name, layer in LAYERS.items()
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_handler_imports_with_only_its_layers_and_they_carry_nothing_unused(
    name: str, tmp_path: Path, provided: Path, layers: dict[str, Path]
) -> None:
    fn = FUNCTIONS[name]
    asset = tmp_path / "asset"
    ServiceBundler(fn.service).try_bundle(str(asset))
    own = [layers[layer.name] for layer in fn.layers]
    tops = [_top_level(site) for site in own]
    shared = {t for i, a in enumerate(tops) for b in tops[i + 1 :] for t in a.keys() & b.keys()}
    assert not shared, f"{name}: packages in two of its layers {sorted(shared)}"

    reach = handler_imports(fn.handler)
    paths = [str(asset), *map(str, own), str(provided)]  # Lambda: /var/task, /opt/python, the runtime
    argv = json.dumps([fn.handler, sorted(reach.ours) + sorted(reach.others), paths])
    bootstrap = f"import sys; sys.path[:0] = {paths!r}; sys.argv = ['layer-check', {argv!r}]\n"
    env = {**lambda_env(name), "MPLCONFIGDIR": str(tmp_path / "mpl"), "PATH": "/usr/bin:/bin", "TZ": "UTC"}
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", bootstrap + SCRIPT],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["failed"] == {}, f"{name}: not importable with its layers"
    assert result["outside"] == [], f"{name}: loaded from outside its asset, layers and runtime"

    loaded = [Path(f) for f in result["files"]]
    unused = sorted(
        f"{layer.name}:{top}"
        for layer, site in zip(fn.layers, tops, strict=True)
        for top, path in site.items()
        if not any(f == path or f.is_relative_to(path) for f in loaded)
    )
    assert not unused, f"{name}: packages in its layers that it never imports: {unused}"
