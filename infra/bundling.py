"""Docker-free Lambda bundling (docs/architecture.md, "On AWS").

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
import os
import platform
import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import asdict, dataclass
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


@dataclass(frozen=True)
class LayerTarget:
    """Python version and platform tags a layer is built for."""

    python_version: str
    pip_platforms: tuple[str, ...]
    uv_platform: str


#: The functions' platform: Lambda python3.13 on arm64.
LAMBDA_TARGET = LayerTarget(LAMBDA_PYTHON_VERSION, LAMBDA_PLATFORMS, UV_PYTHON_PLATFORM)


def host_target() -> LayerTarget:
    """This machine's Python and platform: the same requirement list installed so that a test can import it
    (``tests/infra/test_reporting_bundle.py``)."""
    machine = platform.machine()
    return LayerTarget(
        f"{sys.version_info.major}.{sys.version_info.minor}",
        (f"manylinux2014_{machine}", f"manylinux_2_28_{machine}"),
        f"{machine}-manylinux_2_28",
    )


#: Unzipped size budget of one dependencies layer: Lambda allows 250 MB for function + all layers,
#: and the Powertools layer plus the code need the rest.
LAYER_BUDGET_MB = 200
#: Built dependency layers by asset hash (``make clean`` removes them): synth, deploy and the size test
#: install each requirement list once.
LAYER_CACHE = REPO_ROOT / ".build" / "layers"

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


def locked_version(package: str, lock: Path = REPO_ROOT / "uv.lock") -> str:
    """The version of ``package`` pinned in ``uv.lock`` (what the tests and the local runtime run)."""
    for entry in tomllib.loads(lock.read_text())["package"]:
        if _canonical(entry["name"]) == _canonical(package):
            return str(entry["version"])
    raise KeyError(f"{package} is not in {lock}")


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


@functools.cache
def locked_constraints(root: Path = REPO_ROOT) -> str:
    """The runtime dependencies pinned in ``uv.lock`` as a constraints file (``uv export``), so a layer holds
    the versions the tests ran, not whatever is newest on PyPI on the day of the deploy."""
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is needed to read the locked versions (make uv)")
    out = subprocess.run(
        [
            uv,
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
            "--color",
            "never",
        ],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "\n".join(line for line in out.splitlines() if line and not line.lstrip().startswith("#")) + "\n"


@jsii.implements(ILocalBundling)
class DependencyLayerBundler:
    """Local bundler for the third-party dependencies layer (arm64 / Python 3.13 wheels only), with the
    versions of ``uv.lock`` (``constraints``, default :func:`locked_constraints`)."""

    def __init__(
        self, requirements: list[str], constraints: str | None = None, target: LayerTarget = LAMBDA_TARGET
    ) -> None:
        self.requirements = list(requirements)
        self.constraints = locked_constraints() if constraints is None else constraints
        self.target = target

    def asset_hash(self) -> str:
        spec: dict[str, Any] = {"reqs": self.requirements, "constraints": self.constraints}
        if self.target != LAMBDA_TARGET:
            spec["target"] = asdict(self.target)
        else:
            spec.update(py=LAMBDA_PYTHON_VERSION, platforms=LAMBDA_PLATFORMS)
        return hashlib.sha256(f"{_BUNDLER_VERSION}\0{json.dumps(spec, sort_keys=True)}".encode()).hexdigest()

    def command(self, target: Path, constraints_file: Path | None = None) -> list[str]:
        """``pip install`` for the Lambda platform; ``uv pip`` when pip is not installed (uv venvs)."""
        pins = ["-c", str(constraints_file)] if constraints_file else []
        if importlib.util.find_spec("pip") is not None:
            platforms = [arg for p in self.target.pip_platforms for arg in ("--platform", p)]
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
                self.target.python_version,
                "--only-binary=:all:",
                "--target",
                str(target),
                *pins,
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
            self.target.uv_platform,
            "--python-version",
            self.target.python_version,
            "--only-binary",
            ":all:",
            "--target",
            str(target),
            *pins,
            *self.requirements,
        ]

    def install(self, layer_dir: Path) -> None:
        """Install the requirements into ``layer_dir/python`` (the layout Lambda expects of a layer)."""
        target = layer_dir / "python"
        target.mkdir(parents=True, exist_ok=True)
        pins = layer_dir / "constraints.txt"
        pins.write_text(self.constraints)
        subprocess.run(
            self.command(target, pins if self.constraints.strip() else None), check=True, stdout=sys.stderr
        )
        pins.unlink()
        # console scripts, man pages and packages' own test suites are useless in a layer;
        # bytecode would be for the wrong Python
        junk = [target / "bin", target / "share", *target.rglob("__pycache__"), *target.glob("*/**/tests")]
        for path in junk:
            shutil.rmtree(path, ignore_errors=True)
        size_mb = tree_size(layer_dir) / 2**20
        if size_mb > LAYER_BUDGET_MB:
            raise RuntimeError(
                f"dependencies layer is {size_mb:.0f} MB unzipped (budget {LAYER_BUDGET_MB} MB, Lambda limit "
                f"250 MB incl. Powertools layer and code): {self.requirements}"
            )

    def build(self, cache: Path = LAYER_CACHE) -> Path:
        """The layer directory (``<dir>/python/…``), built once per requirement list into ``cache``."""
        done = cache / self.asset_hash()
        if (done / "python").is_dir():
            return done
        work = cache / f"{self.asset_hash()}.partial-{os.getpid()}"
        shutil.rmtree(work, ignore_errors=True)
        self.install(work)
        try:
            work.rename(done)
        except OSError:  # built concurrently by another process: keep theirs
            shutil.rmtree(work, ignore_errors=True)
        return done

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **options: Any) -> bool:
        shutil.copytree(self.build(), Path(output_dir), dirs_exist_ok=True)
        return True


def tree_size(root: Path) -> int:
    """Bytes of all files under ``root`` (the unzipped size Lambda counts)."""
    return sum(f.stat().st_size for f in Path(root).rglob("*") if f.is_file() and not f.is_symlink())


def dependencies_code(requirements: list[str]) -> lambda_.Code:
    """A dependencies layer asset, re-bundled only when the requirement list changes."""
    bundler = DependencyLayerBundler(requirements)
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "infra"),  # any directory: never read, bundling writes the asset
        asset_hash=bundler.asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=_NO_DOCKER, local=bundler),
    )
