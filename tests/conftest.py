"""Shared fixtures: the isolation level the suite runs under, and notebook builders."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.sandbox import Isolation, IsolationReport, bwrap_problem, resolve_isolation

PROJECT = Path(__file__).resolve().parents[1]


def _suite_isolation() -> str:
    """strict wherever bubblewrap works (CI installs it), else auto; $GRADER_TEST_ISOLATION overrides."""
    return os.environ.get("GRADER_TEST_ISOLATION") or ("strict" if bwrap_problem() is None else "auto")


def pytest_report_header(config: pytest.Config) -> str:
    level = _suite_isolation()
    problem = bwrap_problem()
    note = "" if problem is None else f" (bubblewrap unavailable: {problem}; sandbox-only tests are skipped)"
    return f"grader isolation for this run: {level}{note}"


@pytest.fixture(scope="session")
def isolation() -> IsolationReport:
    return resolve_isolation(Isolation(_suite_isolation()))


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


def notebook(*cells: str, exercise: str | None = None, markdown: dict[int, str] | None = None) -> nbformat.NotebookNode:
    """A notebook of code cells (strings); `markdown` inserts markdown cells at given positions."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    for index, text in sorted((markdown or {}).items()):
        nb.cells.insert(index, new_markdown_cell(text))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if exercise:
        nb.metadata["grader"] = {"exercise": exercise}
    return nb


needs_bwrap = pytest.mark.skipif(bwrap_problem() is not None, reason=f"needs bubblewrap: {bwrap_problem()}")
