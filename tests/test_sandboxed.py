"""grader/sandboxed/: the programs that run outside the trusted process, and the one loader for them."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import grader
from grader import sandboxed

PACKAGE = Path(grader.__file__).resolve().parent
# Where each program runs, nothing of the grader (or of its dependencies) can be imported; the agent looks torch
# up lazily in the student's kernel, and a fork of the factory becomes the kernel (ipykernel).
EXTRA_IMPORTS = {"launcher": set(), "kernel_factory": {"ipykernel"}, "kernel_agent": {"torch"},
                 "quiet_plots": set()}


def imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {(n.module or "").split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return names


@pytest.mark.parametrize("name", sandboxed.PROGRAMS)
def test_every_program_uses_only_the_standard_library(name):
    source = sandboxed.source(name)
    assert source == sandboxed.path(name).read_text(encoding="utf-8")
    assert sandboxed.path(name).parent == PACKAGE / "sandboxed"
    foreign = imported_modules(source) - set(sys.stdlib_module_names) - EXTRA_IMPORTS[name]
    assert not foreign, f"{name}.py imports {foreign}"
    assert "" not in imported_modules(source)  # no relative import: it is not run as part of a package


def test_the_folder_holds_exactly_the_programs_the_loader_knows():
    files = {p.stem for p in (PACKAGE / "sandboxed").glob("*.py")} - {"__init__"}
    assert files == set(sandboxed.PROGRAMS)
    with pytest.raises(ValueError, match="no sandbox-side program"):
        sandboxed.path("../cli")


def test_the_trusted_side_never_imports_a_sandbox_side_program():
    for path in PACKAGE.rglob("*.py"):
        if path.parent.name == "sandboxed":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (node.module or "").split(".")
                modules = [".".join([*base, a.name]) for a in node.names]
            else:
                continue
            for module in modules:
                assert not any(module.endswith(f"sandboxed.{p}") for p in sandboxed.PROGRAMS), f"{path}: {module}"
