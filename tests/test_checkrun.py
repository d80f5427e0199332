"""run_checks in a long-lived process (a worker grades many students): check modules are reused, never stale."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.plugin import GraderPlugin
from grader.seeds import Seeds
from grader.session import StudentSession
from grader.rubric import load_rubric
from grader.checkrun import run_checks

RUBRIC = """
exercise = "{exercise}"
notebook = "{exercise}.ipynb"
[questions.q.checks.c]
points = 1
visibility = "public"
hint = "h"
"""

CHECK = """
from grader.checks import check

CALLS = []

@check("q", "c")
def test_c(student):
    CALLS.append(1)
    assert student.call("answer") == {expected!r}, "wrong"
"""


class FakeKernel:
    def request(self, request, timeout=None):
        return 42


def exercise(root: Path, name: str, expected: int) -> tuple[GraderPlugin, Path]:
    """An exercise whose only check file has the same name in every exercise: test_checks.py."""
    folder = root / "rubrics" / "checks" / name / "public"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "test_checks.py").write_text(CHECK.format(expected=expected))
    (root / "rubrics" / f"{name}.toml").write_text(RUBRIC.format(exercise=name))
    rubric = load_rubric(root / "rubrics" / f"{name}.toml")
    plugin = GraderPlugin(rubric=rubric, student=StudentSession(FakeKernel(), nbformat.v4.new_notebook()),
                          reference_path=root / "none.ipynb", seeds=Seeds(b"s", "student"))
    return plugin, folder


def status(plugin: GraderPlugin) -> str:
    return next(iter(plugin.outcomes.values())).status


def test_same_named_check_files_of_two_exercises_are_never_mixed_up(tmp_path):
    passing, folder_a = exercise(tmp_path, "ex_a", 42)
    failing, folder_b = exercise(tmp_path, "ex_b", 41)
    assert status(run_checks([folder_a], passing)) == "passed"
    assert status(run_checks([folder_b], failing)) == "failed"  # not ex_a's module under the same name
    again, _ = exercise(tmp_path, "ex_a", 42)
    assert status(run_checks([folder_a], again)) == "passed"


def test_an_edited_check_file_is_imported_again_an_unchanged_one_is_reused(tmp_path):
    import sys

    plugin, folder = exercise(tmp_path, "ex", 42)
    run_checks([folder], plugin)
    module = next(m for m in sys.modules.values() if getattr(m, "__file__", None) == str(folder / "test_checks.py"))
    plugin, _ = exercise(tmp_path, "ex", 42)  # rewritten with the same content and size: mtime decides
    (folder / "test_checks.py").touch()
    assert status(run_checks([folder], plugin)) == "passed"
    reloaded = next(m for m in sys.modules.values() if getattr(m, "__file__", None) == str(folder / "test_checks.py"))
    assert reloaded is not module and reloaded.CALLS == [1]
    plugin = GraderPlugin(rubric=plugin.rubric, student=StudentSession(FakeKernel(), nbformat.v4.new_notebook()),
                          reference_path=tmp_path / "none.ipynb", seeds=Seeds(b"s", "other"))
    run_checks([folder], plugin)
    reused = next(m for m in sys.modules.values() if getattr(m, "__file__", None) == str(folder / "test_checks.py"))
    assert reused is reloaded and reused.CALLS == [1, 1]  # module state (lru_caches) serves the next student
