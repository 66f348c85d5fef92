"""The Docker-free bundlers copy only what a function needs and hash it by content."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.bundling import (
    LAMBDA_PYTHON_VERSION,
    DependencyLayerBundler,
    ServiceBundler,
    handler_imports,
    project_requirements,
    remove_distribution,
    requirements_of,
)

pytestmark = pytest.mark.infra

REPO_ROOT = Path(__file__).resolve().parents[2]


def _tree(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def fake_repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "contracts/__init__.py": "",
        "contracts/topology.py": "X = 1\n",
        "common/__init__.py": "",
        "common/settings.py": "S = 1\n",
        "common/__pycache__/settings.cpython-311.pyc": "junk",
        "services/__init__.py": "",
        "services/intake/__init__.py": "",
        "services/intake/handlers/api.py": "import boto3\nfrom ulid import ULID\nfrom . import x\n",
        "services/intake/logic/render.py": "def f():\n    import jinja2.sandbox\n",
        "services/intake/handlers/__pycache__/api.cpython-311.pyc": "junk",
        "services/matching/__init__.py": "",
        "infra/app.py": "",
        "tests/test_x.py": "",
        "avdual/cli.py": "",
        "pyproject.toml": "",
        ".venv/lib/x.py": "",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_service_bundle_has_only_contracts_common_and_the_service(fake_repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert ServiceBundler("intake", fake_repo).try_bundle(str(out)) is True
    assert _tree(out) == {
        "contracts/__init__.py",
        "contracts/topology.py",
        "common/__init__.py",
        "common/settings.py",
        "services/__init__.py",
        "services/intake/__init__.py",
        "services/intake/handlers/api.py",
        "services/intake/logic/render.py",
    }


def test_real_repo_bundle_has_only_allowed_top_levels(tmp_path: Path) -> None:
    bundler = ServiceBundler("matching", REPO_ROOT)
    bundler.try_bundle(str(tmp_path))
    files = _tree(tmp_path)
    assert {f.split("/")[0] for f in files} == {"contracts", "common", "services"}
    assert {f.split("/")[1] for f in files if f.startswith("services/")} <= {"__init__.py", "matching"}
    assert "contracts/topology.py" in files
    assert not any("__pycache__" in f or f.endswith(".pyc") for f in files)


def test_asset_hash_follows_the_copied_files_only(fake_repo: Path) -> None:
    bundler = ServiceBundler("intake", fake_repo)
    first = bundler.asset_hash()
    assert ServiceBundler("intake", fake_repo).asset_hash() == first
    (fake_repo / "services/matching/__init__.py").write_text("changed = True\n")
    (fake_repo / "services/intake/__pycache__").mkdir()
    (fake_repo / "services/intake/__pycache__/x.pyc").write_text("junk")
    (fake_repo / "infra/app.py").write_text("changed = True\n")
    assert bundler.asset_hash() == first
    (fake_repo / "common/settings.py").write_text("S = 2\n")
    assert bundler.asset_hash() != first
    assert ServiceBundler("matching", fake_repo).asset_hash() != bundler.asset_hash()


def test_missing_service_package_fails_bundling(fake_repo: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        ServiceBundler("reporting", fake_repo).try_bundle(str(tmp_path))


def test_project_requirements_come_from_pyproject(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ndependencies = [\n'
        '  "aws-lambda-powertools[parser,tracer]>=3.20,<4", "Pydantic>=2", "boto3>=1.35",\n'
        '  "python-ulid>=3,<5", "jinja2>=3.1,<4",\n]\n'
    )
    assert project_requirements(pyproject) == ["python-ulid>=3,<5", "jinja2>=3.1,<4"]
    real = project_requirements(REPO_ROOT / "pyproject.toml")
    assert real
    assert not [r for r in real if r.lower().startswith(("aws-lambda-powertools", "pydantic", "boto3"))]


def test_dependency_layer_installs_arm64_wheels_for_the_lambda_python(tmp_path: Path) -> None:
    bundler = DependencyLayerBundler(["jinja2>=3.1,<4"])
    cmd = bundler.command(tmp_path / "python")
    assert cmd[-1] == "jinja2>=3.1,<4"
    assert str(tmp_path / "python") in cmd
    assert LAMBDA_PYTHON_VERSION in cmd
    assert any("aarch64" in a for a in cmd)
    assert any("only-binary" in a for a in cmd)
    assert bundler.asset_hash() == DependencyLayerBundler(["jinja2>=3.1,<4"]).asset_hash()
    assert bundler.asset_hash() != DependencyLayerBundler(["jinja2>=3.2,<4"]).asset_hash()


def test_layer_requirements_take_the_ranges_of_pyproject_and_the_pins_of_uv_lock(tmp_path: Path) -> None:
    from contracts.topology import Layer

    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\ndependencies = ["boto3", "python-ulid>=3", "matplotlib>=3.9"]\n'
    )
    (tmp_path / "uv.lock").write_text('[[package]]\nname = "numpy"\nversion = "2.4.6"\n')
    layer = Layer("charts", ("matplotlib", "numpy"), "charts")
    assert requirements_of(layer, tmp_path / "pyproject.toml") == ["matplotlib>=3.9", "numpy"]
    with pytest.raises(KeyError):  # neither a direct dependency nor locked
        requirements_of(Layer("x", ("pandas",), "x"), tmp_path / "pyproject.toml")
    with pytest.raises(ValueError, match="runtime"):
        requirements_of(Layer("x", ("boto3",), "x"), tmp_path / "pyproject.toml")


def test_handler_imports_follow_our_modules_and_lazy_imports(fake_repo: Path) -> None:
    (fake_repo / "services/intake/handlers/__init__.py").write_text("")
    (fake_repo / "services/intake/handlers/api.py").write_text(
        "import boto3\nfrom ..logic import render\nfrom common.settings import S\n"
    )
    (fake_repo / "services/intake/logic/__init__.py").write_text("")
    (fake_repo / "services/intake/logic/unused.py").write_text("import ortools\n")
    (fake_repo / "common/settings.py").write_text("import json\nfrom ulid import ULID\n")
    reach = handler_imports("services.intake.handlers.api.handler", fake_repo)
    assert reach.ours == {
        "services",
        "services.intake",
        "services.intake.handlers",
        "services.intake.handlers.api",
        "services.intake.logic",
        "services.intake.logic.render",
        "common",
        "common.settings",
    }
    assert reach.others == {"boto3", "jinja2.sandbox", "ulid", "ulid.ULID"}  # the lazy import counts
    assert reach.top_level() == {"boto3", "jinja2", "ulid"}


def test_left_out_distribution_is_removed_by_its_record(tmp_path: Path) -> None:
    site = tmp_path / "python"
    (site / "pkg").mkdir(parents=True)
    (site / "pkg/__init__.py").write_text("")
    (site / "keep.py").write_text("")
    info = site / "Some_Pkg-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(
        "pkg/__init__.py,sha256=x,0\nSome_Pkg-1.0.dist-info/RECORD,,\n../../evil,,\n"
    )
    remove_distribution(site, "some-pkg")
    assert _tree(site) == {"keep.py"}
    with pytest.raises(FileNotFoundError):
        remove_distribution(site, "some-pkg")
