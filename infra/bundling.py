"""Docker-free Lambda bundling (DESIGN.md §3).

* :class:`ServiceBundler` copies ``contracts/``, ``common/``, ``services/__init__.py`` and
  ``services/<service>/`` from the repo root into the asset directory; its asset hash is a
  fingerprint of exactly those files, so unchanged code keeps the same hash (and CDK reuses the
  staged ``asset.<hash>`` directory instead of bundling again).
* :class:`DependencyLayerBundler` ``pip install``s the runtime dependencies that neither the
  Lambda runtime (boto3) nor the Powertools layer (powertools, pydantic) ship, as arm64 wheels
  for Python 3.13, into ``<out>/python``. The list is read from ``[project] dependencies`` in
  ``pyproject.toml``; :func:`service_requirements` keeps, per service, only the requirements
  whose packages that service's bundle actually imports (one layer for all would exceed
  Lambda's 250 MB unzipped limit: ortools + pandas alone are ~135 MB).

Both are used through ``BundlingOptions(local=...)``; the Docker image named there is never
pulled because ``try_bundle`` always succeeds or raises.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT = Path(__file__).resolve().parent.parent

SHARED_PACKAGES: tuple[str, ...] = ("contracts", "common")
SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})
SKIP_SUFFIXES = frozenset({".pyc", ".pyo"})

#: Provided by the Lambda runtime (boto3) or the AWS-managed Powertools layer (powertools, pydantic).
NOT_IN_DEPS_LAYER = frozenset({"aws-lambda-powertools", "pydantic", "boto3", "botocore"})
LAMBDA_PYTHON_VERSION = "3.13"
#: Lambda python3.13 runs on Amazon Linux 2023 (glibc 2.34): manylinux2014 (glibc 2.17) and
#: manylinux_2_28 wheels both work; newer numpy/pillow releases ship only the latter.
LAMBDA_PLATFORMS: tuple[str, ...] = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
UV_PYTHON_PLATFORM = "aarch64-manylinux_2_28"

#: Unzipped size budget of one dependencies layer: Lambda allows 250 MB for function + all layers,
#: and the Powertools layer plus the code need the rest.
LAYER_BUDGET_MB = 200

_NO_DOCKER = DockerImage.from_registry("unused-local-bundling")
_BUNDLER_VERSION = "1"  # bump to force new asset hashes when the bundling logic changes


def _walk(root: Path, rel: Path) -> list[Path]:
    """Files under ``root/rel`` (relative to ``root``), without caches and bytecode."""
    base = root / rel
    if base.is_file():
        return [rel]
    if not base.is_dir():
        return []
    out: list[Path] = []
    for path in base.rglob("*"):
        parts = path.relative_to(root).parts
        if any(p in SKIP_DIRS for p in parts) or path.suffix in SKIP_SUFFIXES or not path.is_file():
            continue
        out.append(path.relative_to(root))
    return out


def _hash_files(root: Path, files: list[Path], salt: str) -> str:
    digest = hashlib.sha256(f"{_BUNDLER_VERSION}\0{salt}\0".encode())
    for rel in files:
        digest.update(rel.as_posix().encode() + b"\0")
        digest.update((root / rel).read_bytes() + b"\0")
    return digest.hexdigest()


@jsii.implements(ILocalBundling)
class ServiceBundler:
    """Local bundler for the code asset of one service's functions."""

    def __init__(self, service: str, repo_root: Path = REPO_ROOT) -> None:
        self.service = service
        self.repo_root = Path(repo_root)

    def files(self) -> list[Path]:
        """Relative paths copied into the asset, sorted."""
        roots = [Path(p) for p in SHARED_PACKAGES]
        roots += [Path("services/__init__.py"), Path("services") / self.service]
        return sorted({f for r in roots for f in _walk(self.repo_root, r)})

    def asset_hash(self) -> str:
        """Fingerprint of the copied files (paths + contents)."""
        return _hash_files(self.repo_root, self.files(), f"service:{self.service}")

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **options: Any) -> bool:
        if not (self.repo_root / "services" / self.service).is_dir():
            raise FileNotFoundError(f"services/{self.service}/ not found under {self.repo_root}")
        out = Path(output_dir)
        for rel in self.files():
            target = out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(self.repo_root / rel, target)
        return True


def service_code(service: str, repo_root: Path = REPO_ROOT) -> lambda_.Code:
    """The Lambda code asset of ``service`` (bundled locally, hashed by content)."""
    bundler = ServiceBundler(service, repo_root)
    return lambda_.Code.from_asset(
        str(repo_root),
        asset_hash=bundler.asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=_NO_DOCKER, local=bundler),
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def layer_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """``[project] dependencies`` minus what the runtime / Powertools layer already provide."""
    deps: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req.strip() for req in deps if _requirement_name(req) not in NOT_IN_DEPS_LAYER]


def imported_modules(root: Path, files: list[Path]) -> set[str]:
    """Top-level names of all absolute imports in the ``.py`` files (also lazy, in-function ones)."""
    names: set[str] = set()
    for rel in files:
        if rel.suffix != ".py":
            continue
        for node in ast.walk(ast.parse((root / rel).read_bytes(), filename=str(rel))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names


@functools.cache
def _distributions_of_modules() -> dict[str, frozenset[str]]:
    """Top-level module → canonical distribution names, from the local environment (``uv sync``)."""
    dists = importlib.metadata.packages_distributions()
    return {module: frozenset(_canonical(d) for d in names) for module, names in dists.items()}


def _requirement_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    if not match:
        raise ValueError(f"cannot parse requirement {req!r}")
    return _canonical(match.group(1))


def service_requirements(
    service: str, repo_root: Path = REPO_ROOT, pyproject: Path | None = None
) -> list[str]:
    """The :func:`layer_requirements` whose packages the bundle of ``service`` imports."""
    pyproject = pyproject or repo_root / "pyproject.toml"
    bundler = ServiceBundler(service, repo_root)
    used: set[str] = set()
    mapping = _distributions_of_modules()
    for module in imported_modules(repo_root, bundler.files()):
        used.update(mapping.get(module, {_canonical(module)}))
    return [req for req in layer_requirements(pyproject) if _requirement_name(req) in used]


@jsii.implements(ILocalBundling)
class DependencyLayerBundler:
    """Local bundler for the third-party dependencies layer (arm64 / Python 3.13 wheels only)."""

    def __init__(self, requirements: list[str]) -> None:
        self.requirements = list(requirements)

    def asset_hash(self) -> str:
        spec = {"reqs": self.requirements, "py": LAMBDA_PYTHON_VERSION, "platforms": LAMBDA_PLATFORMS}
        return hashlib.sha256(f"{_BUNDLER_VERSION}\0{json.dumps(spec, sort_keys=True)}".encode()).hexdigest()

    def command(self, target: Path) -> list[str]:
        """``pip install`` for the Lambda platform; ``uv pip`` when pip is not installed (uv venvs)."""
        if importlib.util.find_spec("pip") is not None:
            platforms = [arg for p in LAMBDA_PLATFORMS for arg in ("--platform", p)]
            return [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "--no-compile",
                *platforms,
                "--implementation",
                "cp",
                "--python-version",
                LAMBDA_PYTHON_VERSION,
                "--only-binary=:all:",
                "--target",
                str(target),
                *self.requirements,
            ]
        uv = shutil.which("uv")
        if uv is None:
            raise RuntimeError("neither pip nor uv is available to build the dependencies layer")
        return [
            uv,
            "pip",
            "install",
            "--quiet",
            "--no-config",
            "--no-compile-bytecode",
            "--python-platform",
            UV_PYTHON_PLATFORM,
            "--python-version",
            LAMBDA_PYTHON_VERSION,
            "--only-binary",
            ":all:",
            "--target",
            str(target),
            *self.requirements,
        ]

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **options: Any) -> bool:
        target = Path(output_dir) / "python"
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run(self.command(target), check=True, stdout=sys.stderr)
        # console scripts, man pages and packages' own test suites are useless in a layer;
        # bytecode would be for the wrong Python
        junk = [target / "bin", target / "share", *target.rglob("__pycache__"), *target.glob("*/**/tests")]
        for path in junk:
            shutil.rmtree(path, ignore_errors=True)
        size_mb = sum(f.stat().st_size for f in target.rglob("*") if f.is_file()) / 2**20
        if size_mb > LAYER_BUDGET_MB:
            raise RuntimeError(
                f"dependencies layer is {size_mb:.0f} MB unzipped (budget {LAYER_BUDGET_MB} MB, Lambda limit "
                f"250 MB incl. Powertools layer and code): {self.requirements}"
            )
        return True


def dependencies_code(requirements: list[str]) -> lambda_.Code:
    """A dependencies layer asset, re-bundled only when the requirement list changes."""
    bundler = DependencyLayerBundler(requirements)
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "infra"),  # any directory: never read, bundling writes the asset
        asset_hash=bundler.asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=_NO_DOCKER, local=bundler),
    )
