"""`grade verify`: the real course holds up, and a broken course is caught with reasons."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from grader.assign import assign
from grader.cli import EXIT_FAILED, main
from grader.course import load_course
from grader.verify import verify

pytestmark = pytest.mark.slow

RUBRIC = """
exercise = "demo"
notebook = "demo.ipynb"
[questions.double.checks.lesson]
points = 2
visibility = "public"
hint = "double(2) is 4"
[questions.double.checks.law]
points = 3
visibility = "hidden"
hint = "double(x) is 2x for every x"
[questions.square.checks.lesson]
points = 5
visibility = "public"
hint = "square(3) is 9"
"""

PUBLIC = '''
from grader.checks import check, expect_close

@check("double", "lesson")
def test_double(student):
    expect_close(student.call("double", 2), 4, what="double(2)")

@check("square", "lesson")
def test_square(student):
    expect_close(student.call("square", 3), 9, what="square(3)")
'''

HIDDEN = '''
from grader.checks import check, expect_close

@check("double", "law")
def test_double_law(student, rng):
    x = rng.uniform(-5, 5)
    expect_close(student.call("double", x), 2 * x, what="double(x)")
'''

REFERENCE_CELLS = [
    "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
    "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
]


def make_course(root: Path) -> Path:
    (root / "rubrics" / "checks" / "demo" / "public").mkdir(parents=True)
    (root / "rubrics" / "checks" / "demo" / "hidden").mkdir(parents=True)
    (root / "rubrics" / "demo.toml").write_text(RUBRIC)
    (root / "rubrics" / "checks" / "demo" / "public" / "test_demo_public.py").write_text(PUBLIC)
    (root / "rubrics" / "checks" / "demo" / "hidden" / "test_demo_hidden.py").write_text(HIDDEN)
    (root / "reference" / "wrong" / "demo").mkdir(parents=True)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in REFERENCE_CELLS])
    nb.metadata["grader"] = {"exercise": "demo"}
    nbformat.write(nb, root / "reference" / "demo.ipynb")
    (root / "reference" / "wrong" / "demo" / "double__adds_two.py").write_text("def double(x):\n    return x + 2\n")
    assign(root / "reference", root / "exercises")
    return root


def test_small_course_holds_up(tmp_path, isolation):
    course = load_course(make_course(tmp_path))
    assert verify(course, isolation.requested, log=lambda line: None) == []


def test_broken_course_material_is_caught_with_reasons(tmp_path, isolation):
    root = make_course(tmp_path)
    wrong = root / "reference" / "wrong" / "demo"
    (wrong / "double__actually_right.py").write_text("def double(x):\n    return x * 2\n")
    (wrong / "double__breaks_square_too.py").write_text("def double(x):\n    return 0\ndef square(x):\n    return 0\n")
    exercise = root / "exercises" / "demo.ipynb"
    nb = nbformat.read(exercise, as_version=4)
    nb.cells[0].source = "def double(x):\n    return 2 * x"  # someone edited the exercise by hand
    nbformat.write(nb, exercise)
    (root / "rubrics" / "checks" / "demo" / "public" / "test_extra.py").write_text("def test_unmarked():\n    pass\n")

    problems = verify(load_course(root), isolation.requested, log=lambda line: None)
    text = "\n".join(problems)
    assert "differs from what `grade assign` builds" in text
    assert "double__actually_right.py: loses no points on demo.double" in text
    assert "double__breaks_square_too.py: also loses points outside double: demo.square.lesson" in text
    assert "the blank exercise scores 5" in text  # the hand-edited exercise passes the public double check
    assert "test_unmarked is not marked" in text
    assert "double__adds_two" not in text


def test_the_course_verifies(project, isolation):
    """The project's own course material: `grade verify` exits 0."""
    result = CliRunner().invoke(main, ["verify", "--course", str(project), "--isolation", isolation.requested],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "all course material holds up" in result.output


def test_verify_exits_1_on_a_broken_course(tmp_path, isolation):
    root = make_course(tmp_path)
    (root / "reference" / "wrong" / "demo" / "double__actually_right.py").write_text("def double(x):\n    return 2 * x\n")
    result = CliRunner().invoke(main, ["verify", "--course", str(root), "--isolation", isolation.requested],
                                catch_exceptions=False)
    assert result.exit_code == EXIT_FAILED
    assert "FAIL double__actually_right.py: loses no points" in result.output
