"""The tree shows the flow: each stage imports only from the stages below it (docs/architecture.md
draws the same order), and no package is listed by hand."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

from setuptools import find_namespace_packages

import subtitler

PACKAGE = Path(subtitler.__file__).parent
ROOT = PACKAGE.parent

STAGES: tuple[tuple[str, ...], ...] = (
    ("errors", "languages", ""),
    ("sources",),
    ("gummy", "qwenmt"),
    ("layout",),
    ("options", "events", "declarations"),
    ("tracks",),
    ("engine",),
    ("outputs",),
    ("views",),
    ("check", "emulator"),
    ("review",),
    ("serve",),
    ("api", "cli"),
)
"""Lowest first. "" is `subtitler` itself (its version and lazy public names)."""
RANK = {name: rank for rank, names in enumerate(STAGES) for name in names}


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] != "__version__" else ""


def _imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("subtitler"):
            if node.module == "subtitler":
                found += [f"subtitler.{alias.name}" for alias in node.names]
            else:
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("subtitler")]
    return found


def test_every_module_sits_in_a_known_stage() -> None:
    for path in PACKAGE.rglob("*.py"):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        assert _stage(module).removesuffix("__init__") in RANK or path.name == "__main__.py", (
            f"{module}: add its stage to STAGES and docs/architecture.md"
        )


def test_no_module_imports_from_a_stage_downstream_of_it() -> None:
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "__main__.py":
            continue  # `python -m`: an entry point, like the command line
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        stage = _stage(module).removesuffix("__init__")
        for imported in _imports(path):
            if RANK.get(_stage(imported), -1) > RANK[stage]:
                upward.append(f"{module} imports {imported}")
    assert not upward, "\n".join(upward)


def test_the_architecture_page_names_every_stage() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for names in STAGES[1:]:
        for name in names:
            assert f"`{name}" in page, name


def test_no_package_list_is_written_by_hand() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        setuptools = tomllib.load(handle)["tool"]["setuptools"]
    assert set(setuptools["packages"]) == {"find"}, "packages are found, never listed"
    assert "package-dir" not in setuptools
    found = find_namespace_packages(str(ROOT), **setuptools["packages"]["find"])
    on_disk = {
        ".".join(path.parent.relative_to(ROOT).parts) for path in PACKAGE.rglob("__init__.py")
    }
    assert on_disk <= set(found)
