"""mypy reads only the aws-cdk-lib modules our code reaches (docs/performance.md, "`make test`").

``aws_cdk/__init__.py`` (and ``aws_cdk/interfaces/__init__.py``) import every one of their ~350
submodules for type checkers, so mypy would analyse all of aws-cdk-lib although the stack uses a few
dozen services. pyproject.toml sets ``follow_imports = "skip"`` for ``aws_cdk.*`` and back to
``"normal"`` for the modules listed in the second override. This test keeps that list equal to what
the checked code reaches: the aws_cdk modules imported by ``contracts``, ``common``, ``services``,
``avdual`` and ``infra`` (what ``make typecheck`` checks), their parent packages, and everything those
modules import in turn, except the packages' "every submodule" re-exports. So every aws-cdk-lib type
the stack touches (also through another module's signature) is checked as before, and a new import
in ``infra/`` fails here until the list names it.

Reading aws-cdk-lib's generated sources (hundreds of MB in all) with ``ast`` would take longer than
the type check saves, so import statements are found by a regular expression outside string literals: jsii
writes each import on a line of its own, and the examples in its docstrings are inside strings.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CHECKED = ("contracts", "common", "services", "avdual", "infra")  # the Makefile's `typecheck`
SITE = next(Path(p) for p in sys.path if (Path(p) / "aws_cdk" / "__init__.py").is_file())
_TRIPLE = re.compile(r"'''|\"\"\"")
_IMPORT = re.compile(
    r"^[ \t]*(?:import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+\w+)?"  # import a.b [as c]
    r"|from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(.+))$",  # from [..]a.b import c [as d], e
    re.M,
)


def _source(module: str) -> Path | None:
    path = SITE.joinpath(*module.split("."))
    if (path / "__init__.py").is_file():
        return path / "__init__.py"
    return path.with_suffix(".py") if path.with_suffix(".py").is_file() else None


def _with_parents(module: str) -> list[str]:
    """``module`` and its parent packages (mypy reads those too), without namespace packages (no source)."""
    parts = module.split(".")
    return [m for i in range(1, len(parts) + 1) if _source(m := ".".join(parts[:i]))]


def _cdk(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] == "aws_cdk" and _source(m)}


def imports_of(module: str) -> set[str]:
    """The aws_cdk modules ``module`` imports (at any level, ``TYPE_CHECKING`` blocks included), without a
    package's imports of its own submodules (``from . import aws_xray as aws_xray``: the re-exports for
    type checkers that would reach all of aws-cdk-lib)."""
    path = _source(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    text = path.read_text(encoding="utf-8")
    quotes = [(m.start(), m.group()) for m in _TRIPLE.finditer(text)]
    found: set[str] = set()
    q, in_string = 0, None
    for m in _IMPORT.finditer(text):
        while q < len(quotes) and quotes[q][0] < m.start():  # the string literals before this line
            quote = quotes[q][1]
            in_string = quote if in_string is None else (None if quote == in_string else in_string)
            q += 1
        if in_string is not None:
            continue
        if m[1]:
            found.add(m[1])
        elif not (m[2] == "." and not m[3]):
            base = package.split(".")[: len(package.split(".")) - len(m[2]) + 1] if m[2] else []
            target = ".".join(base + ([m[3]] if m[3] else []))
            names = {n.split(" as ")[0].strip(" ()") for n in m[4].split(",")} - {"", "*"}
            found |= {target} | {f"{target}.{n}" for n in names}
    return _cdk(found)


def checked_code_imports() -> set[str]:
    found: set[str] = set()
    for folder in CHECKED:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found |= {a.name for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return _cdk(found)


def reached_cdk_modules() -> set[str]:
    todo = [p for m in checked_code_imports() for p in _with_parents(m)]
    reached: set[str] = set()
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += [p for m in imports_of(module) for p in _with_parents(m) if p not in reached]
    return reached


def mypy_overrides() -> dict[str, set[str]]:
    """follow_imports → the modules pyproject.toml's mypy overrides give it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for override in config["tool"]["mypy"].get("overrides", []):
        if "follow_imports" in override:
            modules = override["module"]
            out.setdefault(override["follow_imports"], set()).update(
                [modules] if isinstance(modules, str) else modules
            )
    return out


def test_mypy_follows_exactly_the_aws_cdk_modules_the_checked_code_reaches() -> None:
    overrides = mypy_overrides()
    assert overrides.get("skip") == {"aws_cdk.*"}
    reached = reached_cdk_modules()
    # aws_ec2 is imported by nothing of ours, but by aws_lambda's signatures
    assert {"aws_cdk", "aws_cdk.aws_lambda", "aws_cdk.aws_ec2", "aws_cdk.aws_iam"} <= reached
    listed = overrides.get("normal", set())
    expected = "\n".join(f'    "{m}",' for m in sorted(reached))
    assert listed == reached, (
        f"pyproject.toml's mypy override with follow_imports = 'normal' must list exactly:\n{expected}\n"
        f"missing: {sorted(reached - listed)}; not reached: {sorted(listed - reached)}"
    )


def test_the_import_scan_sees_what_python_parses() -> None:
    """The line scan finds the same imports as ``ast`` in modules of each kind: a service module with
    docstring examples full of imports, a package that re-exports its submodules, and ``_jsii``."""
    for module in ("aws_cdk.aws_sns_subscriptions", "aws_cdk.interfaces", "aws_cdk._jsii"):
        path = _source(module)
        assert path is not None
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        parsed: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                parsed |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and not (node.level == 1 and not node.module):
                base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
                target = ".".join(base + ([node.module] if node.module else []))
                parsed |= {target} | {f"{target}.{a.name}" for a in node.names if a.name != "*"}
        assert imports_of(module) == _cdk(parsed), module
