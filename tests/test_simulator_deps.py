"""The simulator ships in the installed package: everything it imports must be a declared
dependency, not one that happens to arrive through another package."""

from __future__ import annotations

import ast
import re
import sys
from importlib import metadata
from pathlib import Path

import qlara_async.testing

TESTING = Path(qlara_async.testing.__file__).parent


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in TESTING.rglob("*.py"):  # handlers/ included
        if path.name == "_pytest_plugin.py":
            continue  # loaded only by pytest itself, through its pytest11 entry point
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "qlara_async"}


def test_simulator_imports_only_declared_dependencies() -> None:
    """Every third-party module qlara_async.testing imports (h11 included) comes from a
    distribution in [project] dependencies, not an optional extra or a transitive one."""
    declared = {
        _normalize(m.group(0))
        for req in metadata.requires("qlara-async") or []
        if "extra ==" not in req and (m := re.match(r"[A-Za-z0-9._-]+", req))
    }
    providers = metadata.packages_distributions()
    imported = _imported_top_levels()
    assert "h11" in imported  # the scan sees the server's import
    undeclared = {
        name: providers.get(name)
        for name in imported
        if not {_normalize(d) for d in providers.get(name, [])} & declared
    }
    assert undeclared == {}
