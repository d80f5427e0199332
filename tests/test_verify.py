"""`grade verify`: the real course holds up, and a broken course is caught with reasons."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from grader.assign import assign
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


# -- one exercise, a secret taken back, check ids the rubric does not have (issue 17) --------------------------------
OTHER_RUBRIC = """
exercise = "other"
notebook = "other.ipynb"
[questions.twice.checks.lesson]
points = 1
visibility = "public"
hint = "twice(1) is 2"
"""

OTHER_PUBLIC = '''
from grader.checks import check, expect_close

@check("twice", "lessen")
def test_twice(student):
    expect_close(student.call("twice", 1), 2, what="twice(1)")
'''

PROBE = '''
import os
from grader.checks import check, expect_close

@check("double", "law")
def test_double_law(student, rng):
    x = rng.uniform(-5, 5)
    with open(os.environ["VERIFY_PROBE"], "a") as probe:
        probe.write(f"{x!r}\\n")
    expect_close(student.call("double", x), 2 * x, what="double(x)")
'''


def add_other_exercise(root: Path) -> None:
    (root / "rubrics" / "other.toml").write_text(OTHER_RUBRIC)
    (root / "rubrics" / "checks" / "other" / "public").mkdir(parents=True)
    (root / "rubrics" / "checks" / "other" / "public" / "test_other.py").write_text(OTHER_PUBLIC)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def twice(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION")])
    nb.metadata["grader"] = {"exercise": "other"}
    nbformat.write(nb, root / "reference" / "other.ipynb")
    assign(root / "reference", root / "exercises")


def test_an_unknown_exercise_is_a_usage_error_with_the_one_meant(tmp_path):
    from grader.errors import UsageError
    from grader.verify import chosen_exercises

    course = load_course(make_course(tmp_path, (DEMO,)))
    assert chosen_exercises(course, None) == ["demo"] and chosen_exercises(course, ("demo",)) == ["demo"]
    with pytest.raises(UsageError, match="no exercise 'dmeo'; did you mean 'demo'"):
        verify(course, "none", log=lambda line: None, exercises=["dmeo"])


def test_one_exercise_only_and_a_check_id_the_rubric_does_not_have(tmp_path, isolation):
    root = make_course(tmp_path, (DEMO,))
    add_other_exercise(root)
    logged: list[str] = []
    problems = verify(load_course(root), isolation.requested, log=logged.append, exercises=["other"])
    assert not any(" demo " in line for line in logged), logged  # demo's notebooks did not run
    assert problems == [
        "other: a check file marks check other.twice.lessen, which the other rubric does not have "
        "(did you mean other.twice.lesson?)",
        "other: rubric check other.twice.lesson has no test: none in rubrics/checks/other/ is marked "
        "@check('twice', 'lesson')",
        "other: the reference scores 0/1: other.twice.lesson error: this check did not run",
    ]


def test_a_printed_secret_draws_the_same_hidden_inputs_again(tmp_path, isolation, monkeypatch):
    root = make_course(tmp_path / "course", (DEMO,))
    (root / "rubrics" / "checks" / "demo" / "hidden" / "test_demo_hidden.py").write_text(PROBE)
    add_other_exercise(root)
    probe = tmp_path / "probe.txt"
    monkeypatch.setenv("VERIFY_PROBE", str(probe))
    args = ["verify", "--course", str(root), "--isolation", isolation.requested, "--exercise", "demo"]
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    line = next(line for line in first.output.splitlines() if "secret for this run" in line)
    assert "--secret-file" in line
    drawn = sorted(probe.read_text().splitlines())
    probe.unlink()
    (tmp_path / "secret").write_text(line.split("secret for this run ")[1].split()[0] + "\n")
    again = invoke(*args, "--secret-file", str(tmp_path / "secret"))
    assert again.exit_code == 0, again.output
    assert "secret for this run" not in again.output  # a secret taken from a file is not printed
    assert sorted(probe.read_text().splitlines()) == drawn and len(drawn) == 3  # reference, blank, wrong
