"""Docker-free Lambda bundling (docs/architecture.md, "On AWS").

* :class:`ServiceBundler` copies ``contracts/``, ``common/``, ``services/__init__.py`` and
  ``services/<service>/`` from the repo root into the asset directory; its asset hash is a
  fingerprint of exactly those files, so unchanged code keeps the same hash (and CDK reuses the
  staged ``asset.<hash>`` directory instead of bundling again).
* :class:`DependencyLayerBundler` ``pip install``s the distributions of one declared dependencies layer
  (``contracts.topology.LAYERS``: a function takes only the layers whose packages its code imports) with
  their requirements, as arm64 wheels for Python 3.13, into ``<out>/python``; versions from ``uv.lock``,
  version ranges from ``[project] dependencies`` in ``pyproject.toml`` (:func:`requirements_of`).
  Neither the Lambda runtime's packages (boto3) nor the Powertools layer's (powertools, pydantic) go in.
* :func:`handler_imports` walks a handler's code for the modules it imports (top-level and lazy ones):
  the test of the layers (``tests/infra/test_function_layers.py``) imports all of them with only the
  function's layers on ``sys.path``.

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
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

if TYPE_CHECKING:
    from contracts.topology import Layer

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
_BUNDLER_VERSION = "3"  # bump to force new asset hashes when the bundling logic changes


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


def _requirement_name(req: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
    if not match:
        raise ValueError(f"cannot parse requirement {req!r}")
    return _canonical(match.group(1))


def project_requirements(pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """``[project] dependencies`` minus what the runtime / Powertools layer already provide."""
    deps: list[str] = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    return [req.strip() for req in deps if _requirement_name(req) not in NOT_IN_DEPS_LAYER]


def requirements_of(layer: Layer, pyproject: Path = REPO_ROOT / "pyproject.toml") -> list[str]:
    """The pip requirements of ``layer``: each distribution with its range from ``pyproject.toml`` if it is a
    direct dependency there, else by name (``uv.lock`` pins every version through the constraints)."""
    specs = {_requirement_name(req): req for req in project_requirements(pyproject)}
    out = []
    for dist in layer.distributions:
        name = _canonical(dist)
        if name in NOT_IN_DEPS_LAYER:
            raise ValueError(f"layer {layer.name}: {dist} comes with the runtime or the Powertools layer")
        if name not in specs:
            locked_version(name, pyproject.parent / "uv.lock")  # KeyError if nothing pins it
        out.append(specs.get(name, name))
    return out


def _module_file(root: Path, module: str) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imports_of(module: str, path: Path) -> set[str]:
    """Absolute dotted names ``module`` imports anywhere in its file, inside functions too (``from a import
    b`` gives ``a`` and ``a.b``: ``b`` may be a submodule)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                stem = f"{base}.{node.module}" if node.module else base
            else:
                stem = node.module or ""
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


@dataclass(frozen=True)
class HandlerImports:
    """What a handler's code reaches: our modules (``contracts``, ``common``, ``services``) and the other
    (third-party) names they import, dotted (``from a import b`` lists ``a`` and ``a.b``)."""

    ours: frozenset[str]
    others: frozenset[str]

    def top_level(self) -> frozenset[str]:
        return frozenset(name.split(".")[0] for name in self.others)


def handler_imports(handler: str, repo_root: Path = REPO_ROOT) -> HandlerImports:
    """Every module of ours reachable from the module of ``handler`` (a dotted ``module.function`` path)
    through imports – the imports inside functions (lazy ones) included – and the other modules they import.
    Reachability is by module: once a module is reached, all its imports count."""
    ours_roots = {*SHARED_PACKAGES, "services"}
    start = handler.rpartition(".")[0]
    todo, ours, others = [start], set(), set()
    while todo:
        module = todo.pop()
        path = _module_file(repo_root, module)
        if module in ours or path is None:
            continue
        ours.add(module)
        parts = module.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # importing a.b.c runs a and a.b first
        for name in _imports_of(module, path):
            top = name.split(".")[0]
            if top in ours_roots:
                todo.append(name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                others.add(name)
    return HandlerImports(frozenset(ours), frozenset(others))


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
        self,
        requirements: list[str],
        constraints: str | None = None,
        target: LayerTarget = LAMBDA_TARGET,
        leave_out: tuple[str, ...] = (),
        strip: tuple[str, ...] = (),
    ) -> None:
        self.requirements = list(requirements)
        self.constraints = locked_constraints() if constraints is None else constraints
        self.target = target
        self.leave_out = tuple(sorted(_canonical(d) for d in leave_out))
        self.strip = tuple(strip)

    @classmethod
    def of(cls, layer: Layer, target: LayerTarget = LAMBDA_TARGET) -> DependencyLayerBundler:
        """The bundler of a declared layer (``contracts.topology.LAYERS``)."""
        return cls(requirements_of(layer), target=target, leave_out=layer.leave_out, strip=layer.strip)

    def asset_hash(self) -> str:
        spec: dict[str, Any] = {"reqs": self.requirements, "constraints": self.constraints}
        if self.leave_out or self.strip:
            spec.update(leave_out=self.leave_out, strip=self.strip)
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
        for dist in self.leave_out:
            remove_distribution(target, dist)
        for pattern in self.strip:
            matches = list(target.glob(pattern))
            if not matches:
                raise FileNotFoundError(f"nothing in {target} matches {pattern!r} (strip)")
            for path in matches:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        # console scripts, man pages, the installer's lock file, packages' own test suites and type stubs
        # are useless in a layer; bytecode would be for the wrong Python
        junk = [target / "bin", target / "share", target / ".lock"]
        junk += [*target.rglob("__pycache__"), *target.glob("*/**/tests"), *target.rglob("*.pyi")]
        for path in junk:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
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
        try:
            self.install(work)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
        try:
            work.rename(done)
        except OSError:  # built concurrently by another process: keep theirs
            shutil.rmtree(work, ignore_errors=True)
        return done

    def try_bundle(self, output_dir: str, *, image: DockerImage | None = None, **options: Any) -> bool:
        shutil.copytree(self.build(), Path(output_dir), dirs_exist_ok=True)
        return True


def lambda_provided(target: LayerTarget) -> DependencyLayerBundler:
    """What a function gets without our layers, at the locked versions, installed like a layer for tests that
    import a handler with nothing else: the Lambda runtime's boto3/botocore and the AWS-managed Powertools
    layer (powertools with its parser and tracer extras, pydantic)."""
    provided = [f"{name}=={locked_version(name)}" for name in sorted(NOT_IN_DEPS_LAYER)]
    powertools = f"aws-lambda-powertools[parser,tracer]=={locked_version('aws-lambda-powertools')}"
    return DependencyLayerBundler(
        [powertools if p.startswith("aws-lambda-powertools==") else p for p in provided], target=target
    )


def tree_size(root: Path) -> int:
    """Bytes of all files under ``root`` (the unzipped size Lambda counts)."""
    return sum(f.stat().st_size for f in Path(root).rglob("*") if f.is_file() and not f.is_symlink())


def remove_distribution(site: Path, distribution: str) -> None:
    """Delete the files of ``distribution`` installed under ``site`` (from its ``RECORD``); raises if it is
    not there, so a stale ``leave_out`` entry is noticed."""
    infos = [
        d
        for d in site.glob("*.dist-info")
        if _canonical(d.name.removesuffix(".dist-info").rsplit("-", 1)[0]) == distribution
    ]
    if len(infos) != 1:
        raise FileNotFoundError(f"{distribution} is not installed in {site} (leave_out)")
    for line in (infos[0] / "RECORD").read_text().splitlines():
        rel = line.rsplit(",", 2)[0]
        path = (site / rel).resolve()
        if path.is_relative_to(site.resolve()) and path.is_file():
            path.unlink()
    shutil.rmtree(infos[0], ignore_errors=True)
    for d in sorted((p for p in site.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(d.iterdir()):
            d.rmdir()


def dependencies_code(layer: Layer) -> lambda_.Code:
    """The asset of a declared dependencies layer, re-bundled only when its requirements change."""
    bundler = DependencyLayerBundler.of(layer)
    return lambda_.Code.from_asset(
        str(REPO_ROOT / "infra"),  # any directory: never read, bundling writes the asset
        asset_hash=bundler.asset_hash(),
        asset_hash_type=AssetHashType.CUSTOM,
        bundling=BundlingOptions(image=_NO_DOCKER, local=bundler),
    )
