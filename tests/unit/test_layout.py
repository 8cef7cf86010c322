"""The codebase stays easy to find one's way in (docs/architecture.md): no module of the
daemon grows past 400 lines and no function anywhere past 60, so each stays readable on a
screen or two. The few that are allowed to be longer are listed with the reason."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

PACKAGES = ("contactd", "channels", "routing", "classifier", "simulator", "whatif")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Longer on purpose, each with its reason.
LONG_MODULES: dict[str, str] = {}
LONG_FUNCTIONS: dict[str, str] = {}


def _modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


def test_no_module_of_the_daemon_is_longer_than_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "contactd").rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert {k: v for k, v in long.items() if k not in LONG_MODULES} == {}


def test_no_function_is_longer_than_60_lines() -> None:
    long = {}
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                name = f"{path.relative_to(ROOT)}:{node.name}"
                if lines > MAX_FUNCTION_LINES and name not in LONG_FUNCTIONS:
                    long[name] = lines
    assert long == {}
