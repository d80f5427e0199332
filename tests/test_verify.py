"""`grade verify`: the real course holds up, and a broken course is caught with reasons."""

from __future__ import annotations

import nbformat
import pytest

from grader.cli import EXIT_FAILED
from grader.course import load_course
from grader.verify import verify

from conftest import invoke
from minicourse import DEMO, make_course

pytestmark = pytest.mark.slow


def test_small_course_holds_up(tmp_path, isolation):
    course = load_course(make_course(tmp_path, (DEMO,)))
    assert verify(course, isolation.requested, log=lambda line: None) == []


def test_broken_course_material_is_caught_with_reasons(tmp_path, isolation):
    root = make_course(tmp_path, (DEMO,))
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
    result = invoke("verify", "--course", str(project), "--isolation", isolation.requested)
    assert result.exit_code == 0, result.output
    assert "all course material holds up" in result.output


def test_verify_exits_1_on_a_broken_course(tmp_path, isolation):
    root = make_course(tmp_path, (DEMO,))
    (root / "reference" / "wrong" / "demo" / "double__actually_right.py").write_text("def double(x):\n    return 2 * x\n")
    result = invoke("verify", "--course", str(root), "--isolation", isolation.requested)
    assert result.exit_code == EXIT_FAILED
    assert "FAIL double__actually_right.py: loses no points" in result.output
