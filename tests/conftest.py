"""Shared fixtures and helpers: the isolation level the suite runs under, the courses, notebooks, the CLI.

- `course`: the project's own course, loaded once; `mini_course`: the two-exercise course of tests/minicourse.py,
  built once (both read-only: a test that changes a course builds its own copy).
- `invoke(...)`: the `grade` CLI through click's CliRunner; `notebook(...)`: a notebook from code strings;
  `student(session)`: what a check sees of a kernel session.
- `sandboxes`: every sandbox (so every kernel start) during a test, and on which thread it was made.
- Tests marked `bwrap` are skipped, with the reason, where bubblewrap does not work.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import click.testing
import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from grader.course import Course, load_course
from grader.sandbox import Isolation, IsolationReport, Sandbox, bwrap_problem, resolve_isolation
from grader.session import StudentSession

from minicourse import make_course

if TYPE_CHECKING:
    from grader.kernel import KernelSession

PROJECT = Path(__file__).resolve().parents[1]


def _suite_isolation() -> str:
    """strict wherever bubblewrap works (CI installs it), else auto; $GRADER_TEST_ISOLATION overrides."""
    return os.environ.get("GRADER_TEST_ISOLATION") or ("strict" if bwrap_problem() is None else "auto")


def pytest_report_header(config: pytest.Config) -> str:
    level = _suite_isolation()
    problem = bwrap_problem()
    note = "" if problem is None else f" (bubblewrap unavailable: {problem}; tests marked bwrap are skipped)"
    return f"grader isolation for this run: {level}{note}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problem = bwrap_problem()
    if problem is None:
        return
    skip = pytest.mark.skip(reason=f"needs bubblewrap: {problem}")
    for item in items:
        if item.get_closest_marker("bwrap") is not None:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def isolation() -> IsolationReport:
    return resolve_isolation(Isolation(_suite_isolation()))


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


@pytest.fixture(scope="session")
def course(project: Path) -> Course:
    """The project's own course (rubrics, checks, reference), loaded once."""
    return load_course(project)


@pytest.fixture(scope="session")
def mini_course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of tests/minicourse.py's course, built once: do not change it."""
    return make_course(tmp_path_factory.mktemp("mini") / "course")


def invoke(*args: str, env: dict[str, str] | None = None) -> click.testing.Result:
    """`grade ARGS` on a terminal wide enough that no line is wrapped; a grader exception is not swallowed."""
    from grader.cli import main

    return click.testing.CliRunner(env={"COLUMNS": "400", **(env or {})}).invoke(main, list(args),
                                                                                 catch_exceptions=False)


def notebook(*cells: str, exercise: str | None = None, markdown: dict[int, str] | None = None) -> nbformat.NotebookNode:
    """A notebook of code cells (strings); `markdown` inserts markdown cells at given positions."""
    nb = new_notebook(cells=[new_code_cell(source) for source in cells])
    for index, text in sorted((markdown or {}).items()):
        nb.cells.insert(index, new_markdown_cell(text))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if exercise:
        nb.metadata["grader"] = {"exercise": exercise}
    return nb


def student(session: "KernelSession") -> StudentSession:
    """What a check sees of a kernel session (the session is the channel under it)."""
    return StudentSession(session, session.notebook)


class SandboxLog:
    """The sandboxes made during a test, in order; `fail_next` makes that many of the next ones fail to start."""

    def __init__(self) -> None:
        self.made: list[Sandbox] = []
        self.on_main_thread: list[bool] = []  # per attempt, failed ones included
        self.fail_next = 0


@pytest.fixture
def sandboxes(monkeypatch: pytest.MonkeyPatch) -> SandboxLog:
    """Records each `Sandbox` made (each kernel start makes one) while the test runs."""
    log = SandboxLog()
    original = Sandbox.__init__

    def recording(self: Sandbox, *args: object, **kwargs: object) -> None:
        log.on_main_thread.append(threading.current_thread() is threading.main_thread())
        if log.fail_next:
            log.fail_next -= 1
            raise RuntimeError("simulated start failure")
        original(self, *args, **kwargs)
        log.made.append(self)

    monkeypatch.setattr(Sandbox, "__init__", recording)
    return log
