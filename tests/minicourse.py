"""A two-exercise course whose notebooks run in about a second (no torch), and batches of it.

For tests of the batch machinery (workers, cache, interruption) that need real kernels but not real work.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from grader.assign import assign

RUBRICS = {
    "alpha": """
exercise = "alpha"
notebook = "alpha.ipynb"
[questions.double.checks.lesson]
points = 2
visibility = "public"
hint = "double(2) is 4"
[questions.double.checks.law]
points = 3
visibility = "hidden"
hint = "double(x) is 2x for every x"
""",
    "beta": """
exercise = "beta"
notebook = "beta.ipynb"
[questions.square.checks.lesson]
points = 5
visibility = "public"
hint = "square(3) is 9"
[questions.essay]
title = "Why squares"
[questions.essay.manual.answer]
points = 4
hint = "Say why."
""",
}

CHECKS = {
    ("alpha", "public"): '''
from grader.checks import check, expect_close

@check("double", "lesson")
def test_double(student):
    expect_close(student.call("double", 2), 4, what="double(2)")
''',
    ("alpha", "hidden"): '''
from grader.checks import check, expect_close

@check("double", "law")
def test_double_law(student, rng):
    x = rng.uniform(-5, 5)
    expect_close(student.call("double", x), 2 * x, what="double(x)")
''',
    ("beta", "public"): '''
from grader.checks import check, expect_close

@check("square", "lesson")
def test_square(student):
    expect_close(student.call("square", 3), 9, what="square(3)")
''',
}

REFERENCE = {
    "alpha": ["def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"],
    "beta": ["def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION"],
}
ESSAY = "<!-- BEGIN SOLUTION -->\nBecause.\n<!-- END SOLUTION -->"
WRONG_ALPHA = "def double(x):\n    return x + 2\n"


def make_course(root: Path) -> Path:
    for (exercise, visibility), source in CHECKS.items():
        folder = root / "rubrics" / "checks" / exercise / visibility
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"test_{exercise}_{visibility}.py").write_text(source, encoding="utf-8")
    for exercise, rubric in RUBRICS.items():
        (root / "rubrics" / f"{exercise}.toml").write_text(rubric, encoding="utf-8")
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in REFERENCE[exercise]])
        if exercise == "beta":
            answer = nbformat.v4.new_markdown_cell(ESSAY)
            answer.metadata["grader"] = {"answer": "essay"}
            nb.cells.append(answer)
        nb.metadata["grader"] = {"exercise": exercise}
        (root / "reference").mkdir(exist_ok=True)
        nbformat.write(nb, root / "reference" / f"{exercise}.ipynb")
    assign(root / "reference", root / "exercises")
    return root


def make_batch(course: Path, root: Path, students: int, sleep: float = 0.0) -> Path:
    """s0..s<n-1>, both notebooks each; odd students get a wrong `double`; `sleep` seconds in a first cell."""
    for i in range(students):
        folder = root / f"s{i}"
        folder.mkdir(parents=True)
        for exercise in RUBRICS:
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
