"""The suite's one builder of small courses whose notebooks run in about a second (no torch), and batches of them.

For tests that need real kernels but not real work: the batch machinery (workers, cache, interruption), intake,
`grade check`, `grade verify`. The default course has two exercises: alpha (`double`, a public and a hidden check)
and beta (`square`, and a written answer). `DEMO` puts `double` and `square` into one exercise, with a known-wrong
solution under reference/wrong/ (for `grade verify`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assign import assign

CHECK_IMPORTS = "\nfrom grader.checks import check, expect_close\n"
DOUBLE_LESSON = '''
@check("double", "lesson")
def test_double(student):
    expect_close(student.call("double", 2), 4, what="double(2)")
'''
DOUBLE_LAW = '''
@check("double", "law")
def test_double_law(student, rng):
    x = rng.uniform(-5, 5)
    expect_close(student.call("double", x), 2 * x, what="double(x)")
'''
SQUARE_LESSON = '''
@check("square", "lesson")
def test_square(student):
    expect_close(student.call("square", 3), 9, what="square(3)")
'''

DOUBLE_RUBRIC = """[questions.double.checks.lesson]
points = 2
visibility = "public"
hint = "double(2) is 4"
[questions.double.checks.law]
points = 3
visibility = "hidden"
hint = "double(x) is 2x for every x"
"""
SQUARE_RUBRIC = """[questions.square.checks.lesson]
points = 5
visibility = "public"
hint = "square(3) is 9"
"""
ESSAY_RUBRIC = """[questions.essay]
title = "Why squares"
[questions.essay.manual.answer]
points = 4
hint = "Say why."
"""

DOUBLE = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"
SQUARE = "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"
ESSAY = "<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->"
WRONG_ALPHA = "def double(x):\n    return x + 2\n"


@dataclass(frozen=True)
class MiniExercise:
    """One exercise: rubric questions (TOML), check sources by visibility, reference cells and extras."""

    name: str
    questions: str
    checks: dict[str, str]
    reference: tuple[str, ...]
    answers: dict[str, str] = field(default_factory=dict)  # answer id -> its markdown cell in the reference
    wrong: dict[str, str] = field(default_factory=dict)  # file name in reference/wrong/<name>/ -> its code

    @property
    def rubric(self) -> str:
        return f'exercise = "{self.name}"\nnotebook = "{self.name}.ipynb"\n{self.questions}'


ALPHA = MiniExercise("alpha", DOUBLE_RUBRIC,
                     {"public": CHECK_IMPORTS + DOUBLE_LESSON, "hidden": CHECK_IMPORTS + DOUBLE_LAW}, (DOUBLE,))
BETA = MiniExercise("beta", SQUARE_RUBRIC + ESSAY_RUBRIC, {"public": CHECK_IMPORTS + SQUARE_LESSON}, (SQUARE,),
                    answers={"essay": ESSAY})
DEMO = MiniExercise("demo", DOUBLE_RUBRIC + SQUARE_RUBRIC,
                    {"public": CHECK_IMPORTS + DOUBLE_LESSON + SQUARE_LESSON, "hidden": CHECK_IMPORTS + DOUBLE_LAW},
                    (DOUBLE, SQUARE), wrong={"double__adds_two.py": WRONG_ALPHA})
COURSE = (ALPHA, BETA)
REFERENCE = {exercise.name: list(exercise.reference) for exercise in COURSE}


def make_course(root: Path, exercises: tuple[MiniExercise, ...] = COURSE) -> Path:
    """A course folder at `root` with `exercises` (rubrics, checks, reference, wrong solutions), assigned."""
    for exercise in exercises:
        for visibility, source in exercise.checks.items():
            folder = root / "rubrics" / "checks" / exercise.name / visibility
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"test_{exercise.name}_{visibility}.py").write_text(source, encoding="utf-8")
        (root / "rubrics" / f"{exercise.name}.toml").write_text(exercise.rubric, encoding="utf-8")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in exercise.reference])
        for answer_id, text in exercise.answers.items():
            answer = nbformat.v4.new_markdown_cell(text)
            answer.metadata["grader"] = {"answer": answer_id}
            nb.cells.append(answer)
        nb.metadata["grader"] = {"exercise": exercise.name}
        (root / "reference").mkdir(exist_ok=True)
        nbformat.write(nb, root / "reference" / f"{exercise.name}.ipynb")
        for name, source in exercise.wrong.items():
            wrong = root / "reference" / "wrong" / exercise.name
            wrong.mkdir(parents=True, exist_ok=True)
            (wrong / name).write_text(source, encoding="utf-8")
    assign(root / "reference", root / "exercises")
    return root


def make_batch(course: Path, root: Path, students: int, sleep: float = 0.0) -> Path:
    """s0..s<n-1>, both notebooks each; odd students get a wrong `double`; `sleep` seconds in a first cell."""
    for i in range(students):
        folder = root / f"s{i}"
        folder.mkdir(parents=True)
        for exercise in REFERENCE:
            nb = nbformat.read(course / "reference" / f"{exercise}.ipynb", as_version=4)
            if sleep:
                nb.cells.insert(0, nbformat.v4.new_code_cell(f"import time\ntime.sleep({sleep})"))
            if exercise == "alpha" and i % 2:
                nb.cells.append(nbformat.v4.new_code_cell(WRONG_ALPHA))
            nbformat.write(nb, folder / f"{exercise}.ipynb")
    return root


def comparable(report: dict) -> dict:
    """A report without what legitimately differs between two gradings of the same work."""
    report = {**report, "graded_at": None}
    report["exercises"] = [{**e, "seconds": None} for e in report["exercises"]]
    return report


def copy_tree(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest)
    return dest
