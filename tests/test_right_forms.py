"""Known-right forms keep full marks, and a TODO stub earns nothing, graded for real (sandboxed kernel).

Each `reference/right/<exercise>/<question>__<variant>.py` is appended to the reference notebook as a last code
cell (like `reference/wrong/`): the notebook must keep every automatic point, and a variant whose form differs
from the lesson's must say what was accepted (no silent pass).
"""

from __future__ import annotations


import nbformat
import pytest

from grader.exercise import grade_notebook
from grader.options import GradingOptions
from grader.selfcheck import check_notebook
from grader.verify import automatic_score, with_wrong_solution

from conftest import PROJECT

pytestmark = pytest.mark.slow

RIGHT = sorted((PROJECT / "reference" / "right").glob("*/*.py"))
INPLACE_STUB = PROJECT / "reference" / "wrong" / "autograd" / "leaf_inplace__todo_stub.py"
# variants whose public check must pass with a note naming the unusual form
NOTED = {"accumulation__python_floats": "floats", "accumulation__stacked_tensor": "shape [4, 1]",
         "grad_tensors__squeezed_0d": "shape []", "retain_graph__python_float": "a float",
         "create_graph__second_as_float": "a float"}


@pytest.fixture(scope="module")
def options(course, isolation):
    return GradingOptions(course, isolation, secret=b"right-forms-secret-0123456789")


def _reference(course, exercise):
    return nbformat.read(course.reference_notebook(exercise), as_version=4)


def test_there_are_known_right_forms():
    assert len(RIGHT) >= 8


@pytest.mark.parametrize("snippet", RIGHT, ids=[f"{p.parent.name}/{p.stem}" for p in RIGHT])
def test_a_known_right_form_keeps_full_marks(options, snippet):
    exercise, question = snippet.parent.name, snippet.stem.split("__", 1)[0]
    nb = with_wrong_solution(_reference(options.course, exercise), snippet)
    graded = grade_notebook(nb, exercise, f"right-{snippet.stem}", [], options)
    got, full = automatic_score(graded.result, options.course.rubrics[exercise])
    lost = [(c.id, c.message) for q in graded.result.questions for c in q.checks if c.points < c.max_points
            and c.status != "manual"]
    assert got == full, lost
    if snippet.stem in NOTED:
        public = [c for q in graded.result.questions if q.id == question for c in q.checks
                  if c.visibility == "public"]
        assert public and all(NOTED[snippet.stem] in c.message and "accepted" in c.message for c in public), public


def test_the_inplace_stub_scores_zero_in_a_batch(options):
    nb = with_wrong_solution(_reference(options.course, "autograd"), INPLACE_STUB)
    graded = grade_notebook(nb, "autograd", "stub", [], options)
    scores = {q.id: (q.score, q.max_score) for q in graded.result.questions}
    assert scores["leaf_inplace"][0] == 0, scores
    assert all(score == full for q, (score, full) in scores.items() if q != "leaf_inplace"), scores


def test_the_inplace_stub_fails_grade_check(options, tmp_path):
    path = tmp_path / "01_autograd.ipynb"
    nbformat.write(with_wrong_solution(_reference(options.course, "autograd"), INPLACE_STUB), path)
    result = check_notebook(path, options.course, isolation="strict" if options.isolation.level == "bwrap" else "none")
    line = next(c for q in result.questions for c in q.checks if c.id == "autograd.leaf_inplace.lesson_value")
    assert line.status == "failed" and "NotImplementedError" in line.message, line
    assert not result.passed


def test_an_agent_rebound_by_the_notebook_earns_nothing_it_does_not_compute(options):
    """The corpus case `rebinds_the_agent`: forged, perfect-looking replies with made-up values score 0."""
    from adversarial.corpus import REBOUND_AGENT

    nb = _reference(options.course, "autograd")
    nb.cells.append(nbformat.v4.new_code_cell(REBOUND_AGENT))
    graded = grade_notebook(nb, "autograd", "forger", [], options)
    scores = {q.id: (q.score, q.max_score) for q in graded.result.questions}
    assert scores["grad_tensors"][0] == 0, scores
    assert all(score == full for q, (score, full) in scores.items() if q != "grad_tensors"), scores
